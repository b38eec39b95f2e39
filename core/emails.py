"""Every email Pulse sends is built here, like healthchecks' `hc/lib/emails.py`: a template name,
the recipient and a context give the text body, the HTML part and the headers every message carries.

`<template_name>.txt` is the body; `<template_name>.html`, where there is one, the HTML alternative.
The subject comes from the caller, already one line (`accounts.validators.one_line`): header text
must not hold a line break. Sending, and recording each send, stay with the caller.
"""

from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string

# RFC 3834: a machine wrote this; auto-responders (out of office, ticket systems) do not answer it.
COMMON_HEADERS = {"Auto-Submitted": "auto-generated"}
SUBJECT_MAX_CHARS = 200


class Message(EmailMultiAlternatives):
    """An email built into its MIME form once: a sender that checks the headers before sending (surveys'
    batches) would otherwise build every message twice, about a millisecond each."""

    _built = None

    def message(self):
        if self._built is None:
            self._built = super().message()
        return self._built


def make_message(
    template_name: str,
    *,
    to: str,
    subject: str,
    context: dict,
    headers: dict | None = None,
    connection=None,
) -> Message:
    """The email to `to`, rendered from `template_name` with `context`, with the common headers plus `headers`."""
    message = Message(
        subject=subject[:SUBJECT_MAX_CHARS],
        body=render_to_string(f"{template_name}.txt", context),
        to=[to],
        connection=connection,
        headers={**COMMON_HEADERS, **(headers or {})},
    )
    try:
        html = get_template(f"{template_name}.html")
    except TemplateDoesNotExist:
        return message
    message.attach_alternative(html.render(context), "text/html")
    return message
