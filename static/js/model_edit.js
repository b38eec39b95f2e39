// Health model editor (scoring/model_edit.html): draws the preview's score distribution with
// Chart.js (charts.js finds the canvas and the JSON the preview renders with json_script), and
// keeps the total weight and each component's share up to date while weights are typed. Without
// script the table beside the chart and the shares rendered by the server (after Preview, Add or
// a move) say the same.
(function () {
  "use strict";

  var DATA_ID = "preview-chart-data";
  var charts = window.PulseCharts;

  function previewChart(canvas, data) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Current", data: data.current, backgroundColor: charts.bandColour("none"), borderRadius: 3 },
          { label: "Draft", data: data.draft, backgroundColor: charts.cssVar("--brand"), borderRadius: 3 },
        ],
      },
      options: charts.options({
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Accounts" } },
          x: { title: { display: true, text: "Health" }, ticks: { maxRotation: 0, autoSkip: true, font: { size: 11 } } },
        },
        plugins: { legend: { position: "bottom" } },
      }),
    });
  }

  charts.register(DATA_ID, { preview: previewChart });

  function formatNumber(value, digits) {
    return value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }

  function updateWeights(form) {
    var rows = Array.prototype.slice.call(form.querySelectorAll(".component"));
    var weights = rows.map(function (row) {
      var weight = row.querySelector("input[name$='-weight']");
      var removed = row.querySelector("input[name$='-DELETE']");
      var value = weight ? parseFloat(weight.value) : NaN;
      return removed && removed.checked || !(value > 0) ? null : value;
    });
    var total = weights.reduce(function (sum, value) { return sum + (value || 0); }, 0);
    var totalNode = form.querySelector("[data-weight-total]");
    if (totalNode) totalNode.textContent = formatNumber(total, 2);
    rows.forEach(function (row, index) {
      var share = row.querySelector("[data-share]");
      if (!share) return;
      var value = weights[index];
      share.textContent = value !== null && total ? formatNumber(100 * value / total, 1) + "% of the total weight" : "";
    });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("#model-form");
    if (form && /-(weight|DELETE)$/.test(event.target.name || "")) updateWeights(form);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#model-form");
    if (form && /-DELETE$/.test(event.target.name || "")) updateWeights(form);
  });
})();
