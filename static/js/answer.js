// Survey answer page: submit the score at once when the page was opened from a score
// button in the email. The server marks that form with data-autosubmit only for a first
// answer with a valid score; a bare GET (a mail scanner) records nothing, and without
// script the person presses the button.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (!form || !form.querySelector("input[name=score]:checked")) {
    return;
  }
  var sending = form.querySelector(".public-sending");
  if (sending) {
    sending.hidden = false;
  }
  if (typeof form.requestSubmit === "function") {
    form.requestSubmit();
  } else {
    form.submit();
  }
})();
