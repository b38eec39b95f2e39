from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Read-only pages over the other apps: portfolio, account page, team rollup."""

    name = "dashboards"
