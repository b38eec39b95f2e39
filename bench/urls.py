from django.http import HttpResponse
from django.urls import include, path


def minimal(request):
    """The cheapest Django view there is: the yardstick for the public answer page."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/minimal/", minimal), path("", include("config.urls"))]
