from django import forms
from django.contrib import admin

from accounts.forms import AdminLoginForm, CheckedModelForm, TextChecks
from accounts.models import (
    Account,
    ApiToken,
    ArrChange,
    AuditEntry,
    CheckIn,
    CompanySettings,
    Contact,
    ContactErasure,
    ImportJob,
    LoginSession,
    MetricDefinition,
    MetricValue,
    Notification,
    SuppressedAddress,
    Team,
    User,
)
from accounts.services import account_save, contact_archive

# The admin's own login page locks out like the app's (its URL is rate-limited in config/urls.py).
admin.site.login_form = AdminLoginForm


class PulseAdmin(admin.ModelAdmin):
    """Names typed here end up in email headers too: the admin's forms refuse line breaks in them."""

    form = CheckedModelForm


class UserCreationForm(TextChecks, forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput, help_text="The person can change it after logging in.")

    class Meta:
        model = User
        fields = ["email", "name", "role", "team", "password"]

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(PulseAdmin):
    list_display = ["email", "name", "role", "team", "is_active", "last_login"]
    list_filter = ["role", "team", "is_active"]
    search_fields = ["email", "name"]
    filter_horizontal = ["managed_teams"]
    fields = [
        "email",
        "name",
        "role",
        "team",
        "managed_teams",
        "is_active",
        "morning_email",
        "last_login",
        "date_joined",
    ]
    readonly_fields = ["last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UserCreationForm
            kwargs["fields"] = UserCreationForm.Meta.fields
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return UserCreationForm.Meta.fields if obj is None else self.fields


@admin.register(Team)
class TeamAdmin(PulseAdmin):
    search_fields = ["name"]


class ContactInline(admin.TabularInline):
    model = Contact
    form = CheckedModelForm
    extra = 0
    can_delete = False  # a contact is archived (its answers kept), never deleted
    readonly_fields = ["opted_out_at", "bounced_at", "archived_at", "archived_by"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(PulseAdmin):
    list_display = ["name", "external_id", "owner", "segment", "arr", "renewal_date", "status"]
    list_filter = ["segment", "status", "lifecycle_stage", "owner__team"]
    search_fields = ["name", "external_id"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["parent"]
    inlines = [ContactInline]

    def save_model(self, request, obj, form, change):
        # The form has set the fields: the service does what any save does (ARR history, churn, renewal).
        account_save(account=obj, data={}, by=request.user)


@admin.register(Contact)
class ContactAdmin(PulseAdmin):
    list_display = ["name", "email", "account", "is_primary", "opted_out_at", "archived_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "email", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    # Opt-outs and bounces are the person's and the mail server's, never an admin's to clear.
    readonly_fields = ["opted_out_at", "bounced_at", "archived_at", "archived_by"]
    actions = ["archive"]

    def has_delete_permission(self, request, obj=None):
        return False  # deleting would erase survey history: archive instead (or erase personal data in Pulse)

    @admin.action(description="Archive selected contacts (their survey answers are kept)")
    def archive(self, request, queryset):
        for contact in queryset.filter(archived_at__isnull=True):
            contact_archive(contact=contact, by=request.user)
        self.message_user(request, "Archived. Their survey answers are kept and still count.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record Pulse writes and nobody edits: viewing only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(ReadOnlyAdmin):
    list_display = ["address_hash", "opted_out_at", "bounced_at", "erased_at", "created_at"]
    search_fields = ["address_hash"]


@admin.register(ContactErasure)
class ContactErasureAdmin(ReadOnlyAdmin):
    list_display = ["contact", "account", "erased_by", "erased_at", "comments_cleared"]
    list_select_related = ["contact", "account", "erased_by"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "user", "team", "summary"]
    list_filter = ["action"]
    list_select_related = ["actor", "user", "team"]


@admin.register(ArrChange)
class ArrChangeAdmin(ReadOnlyAdmin):
    list_display = ["account", "on", "previous_arr", "arr", "source", "by"]
    list_filter = ["source"]
    list_select_related = ["account", "by"]
    date_hierarchy = "on"


@admin.register(LoginSession)
class LoginSessionAdmin(ReadOnlyAdmin):
    # Never the session key: whoever reads it could use the session.
    fields = list_display = ["user", "created_at"]
    list_select_related = ["user"]


@admin.register(CompanySettings)
class CompanySettingsAdmin(PulseAdmin):
    list_display = ["company_name", "updated_at"]


@admin.register(CheckIn)
class CheckInAdmin(PulseAdmin):
    list_display = ["account", "date", "csm", "sentiment", "next_checkin_on"]
    list_select_related = ["account", "csm"]
    raw_id_fields = ["account"]
    date_hierarchy = "date"


@admin.register(MetricDefinition)
class MetricDefinitionAdmin(PulseAdmin):
    list_display = ["key", "label", "unit"]


@admin.register(MetricValue)
class MetricValueAdmin(PulseAdmin):
    list_display = ["account", "metric", "date", "value"]
    list_filter = ["metric"]
    list_select_related = ["account", "metric"]
    raw_id_fields = ["account"]
    date_hierarchy = "date"


@admin.register(ApiToken)
class ApiTokenAdmin(PulseAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "token_hash", "created_by", "created_at", "last_used_at"]


@admin.register(ImportJob)
class ImportJobAdmin(PulseAdmin):
    list_display = ["pk", "kind", "status", "filenames", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    exclude = ["files"]


@admin.register(Notification)
class NotificationAdmin(PulseAdmin):
    list_display = ["title", "user", "created_at", "read_at", "emailed_at", "email_attempts", "email_error"]
    list_select_related = ["user"]
    search_fields = ["title", "key"]
