from django.urls import path

from dashboards import account_views, portfolio_views, rollup_views

app_name = "dashboards"

urlpatterns = [
    # A CSM's portfolio (their own, or any CSM's in the viewer's scope).
    path("portfolio/", portfolio_views.portfolio, name="portfolio"),
    path("portfolio/<int:user_id>/", portfolio_views.portfolio, name="portfolio_of"),
    # One account, for check-in prep.
    path("accounts/<int:account_id>/", account_views.account_page, name="account"),
    path("accounts/<int:account_id>/timeline/", account_views.account_timeline, name="account_timeline"),
    # The manager's team rollup.
    path("team/", rollup_views.rollup, name="rollup"),
]
