from django.urls import path

from renewals import import_views, retention_views, views

app_name = "renewals"

urlpatterns = [
    path("renewals/", views.renewal_list, name="list"),
    path("renewals/import/", import_views.renewal_import, name="renewal_import"),
    path("renewals/retention/", retention_views.retention, name="retention"),
    path("renewals/<int:renewal_id>/call/", views.renewal_call, name="call"),
    path("renewals/<int:renewal_id>/close/", views.renewal_close, name="close"),
    path("accounts/<int:account_id>/renewal/", views.renewal_open, name="open"),
]
