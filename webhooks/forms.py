"""The endpoint form: a name, a URL the SSRF guard accepts, its kind and the events it wants."""

from django import forms

from accounts.forms import PulseForm
from webhooks.guard import UrlRefused, url_addresses
from webhooks.models import Endpoint, EventType


class EndpointForm(PulseForm, forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. “#cs-alerts in Slack” or “CRM sync”.")
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where each event is POSTed. For Slack, the incoming webhook's URL.",
    )
    kind = forms.ChoiceField(choices=Endpoint.Kind.choices, initial=Endpoint.Kind.GENERIC)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_addresses(url)
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class EndpointEditForm(EndpointForm):
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="Enabling it again sends the deliveries that waited."
    )
