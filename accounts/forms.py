import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone

from accounts import lockout
from accounts.churn import churn_reach
from accounts.csvfiles import CellError, decode_upload
from accounts.email_address import normalise_email
from accounts.models import Account, CheckIn, Contact, MetricDefinition, User
from accounts.selectors import ACCOUNT_SORTS, people_in_scope
from accounts.validators import TEXT_MAX_LENGTH, text_too_long, validate_single_line, validate_text


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TextChecks:
    """The text checks (text_field_checks) on every text field of the form, so no form can forget them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            text_field_checks(field)


class PulseForm(TextChecks):
    """Labels without Django's trailing colon, as in the rest of the interface, and the text checks."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CheckedModelForm(TextChecks, forms.ModelForm):
    """The Django admin's forms (accounts/admin.py): the same text checks as the app's."""


def text_field_checks(field: forms.Field) -> None:
    """Add the shared text checks (accounts/validators.py) to a text field.

    A one-line field refuses line breaks and control characters: names and subjects end up in email
    headers and CSV cells. A multi-line one (a Textarea) refuses other control characters and has a
    length limit, TEXT_MAX_LENGTH unless the field sets its own max_length.
    """
    if not isinstance(field, forms.CharField) or isinstance(field, forms.JSONField):
        return
    if isinstance(field.widget, forms.PasswordInput):
        return  # a password is never shown or put in a header, and is whatever its owner chose
    if not isinstance(field.widget, forms.Textarea):
        field.validators.append(validate_single_line)
        return
    limit = field.max_length or TEXT_MAX_LENGTH
    field.max_length = limit
    field.widget.attrs.setdefault("maxlength", str(limit))
    # Our message ("Keep this to 10,000 characters or fewer (it has 10,001).") instead of Django's.
    field.validators = [check for check in field.validators if not isinstance(check, MaxLengthValidator)]
    field.validators += [validate_text, _length_check(limit)]


def _length_check(limit: int):
    def check(value: str) -> None:
        if problem := text_too_long(value, limit):
            raise ValidationError(problem, code="max_length")

    return check


def locked_out_error(seconds: int) -> ValidationError:
    minutes = math.ceil(seconds / 60)
    return ValidationError(
        "Too many failed attempts to log in with this email. Please wait %(wait)s before trying again.",
        code="locked_out",
        params={"wait": f"{minutes} minute{'' if minutes == 1 else 's'}"},
    )


EMPTY_LOGIN = "Enter your email and your password to log in."


class LockoutMixin:
    """Refuses a login for an email that is locked out, and counts the failures (accounts/lockout.py).

    On the form, not in an authentication backend: a backend can only refuse, and the form would
    then say "wrong password" where the person must read that they have to wait, and how long.
    Not on the user_login_failed signal either: counting and refusing belong together, and rules
    stay out of signals. Both login forms use it: the login page's and the Django admin's.
    """

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not email or not password:
            # Nothing was tried. The login page shows only the form's own errors, so say it there.
            if self.has_error("username", "required") or self.has_error("password", "required"):
                raise ValidationError(EMPTY_LOGIN, code="empty")
            return super().clean()
        # The user this address resolves to (looked up exactly, as the login does): counted too.
        user_id = User.objects.filter(email=normalise_email(email)).values_list("pk", flat=True).first()
        if seconds := lockout.login_locked_seconds(email, user_id=user_id):
            raise locked_out_error(seconds)  # before the password is even checked
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and (seconds := lockout.login_failure_record(email, user_id=user_id)):
                raise locked_out_error(seconds) from None
            raise
        lockout.login_failures_clear(email, user_id=user_id)
        return cleaned


class LoginForm(LockoutMixin, AuthenticationForm):
    """The login page's form (config/urls.py)."""


class AdminLoginForm(LockoutMixin, AdminAuthenticationForm):
    """The Django admin's login form (accounts/admin.py)."""


CRM_ID_TAKEN = "This CRM ID can't be used."


class AccountForm(PulseForm, forms.ModelForm):
    class Meta:
        model = Account
        fields = [
            "name",
            "external_id",
            "owner",
            "segment",
            "arr",
            "renewal_date",
            "lifecycle_stage",
            "status",
            "churned_on",
            "churn_reason",
            "parent",
        ]
        widgets = {"renewal_date": DateInput(), "churned_on": DateInput()}
        labels = {"parent": "Parent account"}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices(user)
        self.fields["owner"].required = user.role == User.Role.CSM
        self._parent_choices(user)
        churnable = self.instance.pk and self.instance.status == Account.Status.ACTIVE
        self.churn_reach = churn_reach(account=self.instance, user=user) if churnable else None
        if self.churn_reach and self.churn_reach.below:
            below = self.churn_reach.below
            self.fields[
                "status"
            ].help_text = f"Churning it churns the {below} active account{'' if below == 1 else 's'} below it too."
        if not user.is_admin:
            external_id = self.fields["external_id"]
            # Whether a CRM id is taken in another team is not a CSM's to learn.
            external_id.error_messages = {**external_id.error_messages, "unique": CRM_ID_TAKEN}
            if self.instance.pk:
                # Integrations send metric values by CRM id, all or nothing: a changed id fails
                # every team's next batch. It is set at creation; after that only admins change it.
                external_id.disabled = True
                external_id.help_text = "Only an admin can change the CRM ID: integrations send data by it."

    def _parent_choices(self, user: User) -> None:
        """Parents in the user's scope only (a cycle is refused by the model's clean, on this field).

        A parent outside the user's scope is kept as it is and not shown: its name is not theirs to read.
        """
        parent = self.fields["parent"]
        visible = Account.objects.visible_to(user)
        if self.instance.parent_id is not None and not visible.filter(pk=self.instance.parent_id).exists():
            del self.fields["parent"]
            return
        parent.queryset = visible.exclude(pk=self.instance.pk) if self.instance.pk else visible
        parent.empty_label = "No parent"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Account.Status.CHURNED and not cleaned.get("churned_on"):
            self.add_error("churned_on", "A churned account needs the date it churned.")
        # Churning a parent churns the accounts below it: all of them must be the user's to edit.
        if cleaned.get("status") == Account.Status.CHURNED and self.churn_reach and self.churn_reach.problem:
            self.add_error("status", self.churn_reach.problem)
        return cleaned


def owner_choices(user: User):
    """Who this user may make an account's owner: a CSM only themselves, others anyone in their scope."""
    if user.role == User.Role.CSM:
        return User.objects.filter(pk=user.pk)
    return people_in_scope(user)


class ContactForm(PulseForm, forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "title", "is_primary"]

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        others = Contact.objects.active().filter(account=self.account, email__iexact=email).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("This account already has a contact with this email.")
        return email


class CheckInForm(PulseForm, forms.ModelForm):
    class Meta:
        model = CheckIn
        fields = ["date", "sentiment", "notes", "next_checkin_on"]
        widgets = {
            "date": DateInput(),
            "next_checkin_on": DateInput(),
            "sentiment": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 3, "placeholder": "What did you talk about? Any risks?"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sentiment"].choices = sorted(CheckIn.SENTIMENT_LABELS.items())

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise forms.ValidationError("A check-in is logged after it happens: the date cannot be in the future.")
        return date

    def clean(self):
        cleaned = super().clean()
        date, next_on = cleaned.get("date"), cleaned.get("next_checkin_on")
        if date and next_on and next_on <= date:
            self.add_error("next_checkin_on", "The next check-in must come after this one.")
        return cleaned


class CsvUploadField(forms.FileField):
    """A CSV upload read as text, with a clear message for files that are too big or not UTF-8."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload:
            return None
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // 1_000_000} MB; the limit is {settings.IMPORT_MAX_BYTES // 1_000_000} MB."
            )
        try:
            return upload.name, decode_upload(upload.read())
        except CellError as exc:
            raise forms.ValidationError(f"{upload.name}: {exc}.") from None


class AccountImportForm(PulseForm, forms.Form):
    accounts_file = CsvUploadField(
        required=False,
        label="Accounts CSV",
        help_text="Columns: external_id, name, owner_email, segment, arr, renewal_date, lifecycle_stage, "
        "status, churned_on, churn_reason, parent_external_id (only the first two are required, and owner_email "
        "for a new active account: an active account always has an owner). parent_external_id is the parent "
        "account's external_id, in the same file or already in Pulse; an empty cell means no parent.",
    )
    contacts_file = CsvUploadField(
        required=False,
        label="Contacts CSV",
        help_text="Columns: account_external_id, email, name, title, is_primary, opted_out.",
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("accounts_file") and not cleaned.get("contacts_file"):
            raise forms.ValidationError("Choose an accounts file, a contacts file, or both.")
        return cleaned


class MetricImportForm(PulseForm, forms.Form):
    metrics_file = CsvUploadField(label="Metric values CSV", help_text="Columns: account, metric, date, value.")


class MetricDefinitionForm(PulseForm, forms.ModelForm):
    class Meta:
        model = MetricDefinition
        fields = ["key", "label", "unit", "description"]


class ApiTokenForm(PulseForm, forms.Form):
    name = forms.CharField(max_length=100, help_text="Which integration will use it.")


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending at most one email per address every few minutes (accounts/lockout.py).

    The page that follows reads the same whether an email went out, was held back, or the address
    is nobody's, so it tells nothing about which addresses exist. Users are found as the login
    finds them: by the normalised address, exactly. The link in the email starts with SITE_URL,
    like every link Pulse emails, never with the request's Host header, which the client chooses.
    """

    def get_users(self, email):
        if not lockout.password_reset_email_allowed(email):
            return []
        users = User.objects.filter(email=normalise_email(email), is_active=True)
        return [user for user in users if user.has_usable_password()]

    def save(self, **kwargs):
        scheme, _, address = settings.SITE_URL.partition("://")
        kwargs.update(domain_override=address, use_https=scheme == "https")
        return super().save(**kwargs)


class AccountFilterForm(PulseForm, forms.Form):
    q = forms.CharField(required=False, label="Search")
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="All CSMs", label="CSM")
    segment = forms.ChoiceField(required=False, choices=[("", "All segments"), *Account.Segment.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Account.Status.choices])
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in ACCOUNT_SORTS])
    desc = forms.BooleanField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people_in_scope(user)
