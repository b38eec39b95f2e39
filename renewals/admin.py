from django.contrib import admin

from accounts.admin import PulseAdmin, ReadOnlyAdmin
from renewals.models import ChurnReason, ForecastCall, Renewal


@admin.register(ChurnReason)
class ChurnReasonAdmin(PulseAdmin):
    list_display = ["name", "archived_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # closed renewals keep their reason: archive it instead


@admin.register(Renewal)
class RenewalAdmin(ReadOnlyAdmin):
    """Renewals are opened, called and closed in Pulse, where the rules (the next term, churn) apply."""

    list_display = ["account", "renewal_date", "arr", "outcome", "new_arr", "closed_on"]
    list_filter = ["outcome"]
    list_select_related = ["account"]
    date_hierarchy = "renewal_date"


@admin.register(ForecastCall)
class ForecastCallAdmin(ReadOnlyAdmin):
    list_display = ["renewal", "call", "made_on", "made_by"]
    list_select_related = ["renewal__account", "made_by"]
