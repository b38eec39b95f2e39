from django.db import connection
from django.http import Http404, HttpResponse
from django.template import engines
from django.urls import include, path

FLOOR_TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>Survey</title><h1>How likely are you to recommend us?</h1>"
    "<form method=post>{% for n in scale %}<button name=score value={{ n }}>{{ n }}</button>{% endfor %}</form>"
    "<p>Invitation {{ id }}, {{ status }}</p>"
)


def minimal(request):
    """The cheapest Django view there is: the yardstick for the public answer page."""
    return HttpResponse("ok", content_type="text/plain")


def answer_floor(request, token):
    """What the answer page cannot avoid: one invitation read by its indexed token, a small template rendered."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, status FROM surveys_invitation WHERE token = %s", [token])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return HttpResponse(FLOOR_TEMPLATE.render({"id": row[0], "status": row[1], "scale": range(11)}, request))


urlpatterns = [
    path("bench/minimal/", minimal),
    path("bench/answer-floor/<str:token>/", answer_floor),
    path("", include("config.urls")),
]
