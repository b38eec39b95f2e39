"""The renewal history import's URL, apart from renewals/urls.py: that file includes these patterns
(`path("", include("renewals.import_urls"))`), so the name is `renewals:renewal_import`."""

from django.urls import path

from renewals import import_views

urlpatterns = [
    path("renewals/import/", import_views.renewal_import, name="renewal_import"),
]
