"""The renewal history import's upload form (apart from forms.py, which the renewals page keeps)."""

from django import forms

from accounts.forms import CsvUploadField, PulseForm


class RenewalImportForm(PulseForm, forms.Form):
    renewals_file = CsvUploadField(
        label="Renewals CSV",
        help_text="Columns: account_external_id, renewal_date, arr, outcome, new_arr, closed_on, churn_reason, "
        "and for a forecast call: call, call_date, call_note, call_by_email.",
    )
