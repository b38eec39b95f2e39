from django.urls import path

from scoring import health_views, model_views

app_name = "scoring"

urlpatterns = [
    # Health models (admins): list, edit with a live preview of the draft.
    path("health/models/", model_views.model_list, name="model_list"),
    path("health/models/new/", model_views.model_create, name="model_create"),
    path("health/models/<int:model_id>/", model_views.model_edit, name="model_edit"),
    path(
        "health/models/<int:model_id>/backtests/<int:backtest_id>/",
        model_views.model_backtest_status,
        name="model_backtest_status",
    ),
    # Does the score predict churn? The stored back-test, read by managers and CSMs too.
    path("health/models/<int:model_id>/backtest/", model_views.model_backtest, name="model_backtest"),
    # One account's health: breakdown for a day, comparison of two days, overrides.
    path("accounts/<int:account_id>/health/", health_views.account_health, name="account_health"),
    path("accounts/<int:account_id>/health/override/", health_views.override_add, name="override_add"),
    path(
        "accounts/<int:account_id>/health/override/<int:override_id>/clear/",
        health_views.override_clear,
        name="override_clear",
    ),
    path("health/overrides/", health_views.override_list, name="override_list"),
]
