from django.urls import path

from renewals import retention_views

app_name = "renewals"

urlpatterns = [
    path("renewals/retention/", retention_views.retention, name="retention"),
]
