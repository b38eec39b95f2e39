"""Fuzzing the signed-in pages: odd query strings on every GET, odd bodies on every form, for each
person of the cast (alice and bob, CSMs of team A; carol, CSM of team B; maria, team A's manager;
adam, an admin), and never a 5xx. A bad value is refused (400, 404, 422) or ignored.

The URLs come from the URL resolver through the RULES of test_url_scope.py, so a new page is
fuzzed as soon as it has its rule; its path parameters name team A's objects, which are in scope
for some of the cast and out of scope for others. The parameter names tried are read from each
page's own forms and links, plus every name any page uses. Each example runs in a savepoint that
is rolled back, so every example starts from the same data. `derandomize=True` makes the examples
a function of the test's code alone: CI runs the same cases every time, no example database is
written. The public pages and the metrics API have their own fuzzing (test_fuzz_public.py,
test_fuzz_metrics_api.py); the Django admin is Django's own.

CSV import files are not fuzzed here (their reading has its own tests): a form with a file field
is posted without its file.
"""

import re
from urllib.parse import quote_from_bytes, urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security import test_url_scope
from tests.security.test_url_scope import ROLE, RULES, SCOPED, SIGNED_IN, body, url_of

# The cast and team A's objects, and the outbox the outbox pages read: test_url_scope's fixtures.
world = test_url_scope.world
_outbox_on = test_url_scope._outbox_on

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=2,  # per URL and person: some 900 requests in all, to keep CI's run short
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CAST = ("alice", "bob", "carol", "maria", "adam")
INTERNAL = [name for name, rule in RULES.items() if rule.access in (SIGNED_IN, SCOPED, ROLE)]
GET_URLS = [name for name in INTERNAL if "GET" in RULES[name].methods]
POST_URLS = [name for name in INTERNAL if "POST" in RULES[name].methods]

# Values that have broken a page somewhere: Unicode digits that pass str.isdigit() but not int(),
# numbers past any column, the calendar's ends (and one day short of them), malformed dates.
EDGES = [
    "²",
    "١٢",
    "５",
    "-1",
    "0",
    "99999999999999999999999",
    "1e308",
    "nan",
    "0001-01-01",
    "9999-12-31",
    "9999-12-30",
    "0000-00-00",
    "2026-02-30",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "on",
    "",
    " ",
    "\x00",
    "a\nb",
    "\u202e",
    "x" * 3000,
]
# The edges every parameter of every page gets, by someone in scope; Hypothesis draws from all of them.
SWEEP = ["²", "99999999999999999999999", "-1", "0001-01-01", "9999-12-31", "9999-12-31T23:59", "2026-02-30", "\x00",
         "a\nb", "x" * 3000]  # fmt: skip
# Names any page reads from its query string or form (besides those found on the page itself).
KNOWN_NAMES = [
    *("q", "owner", "segment", "status", "sort", "desc", "page", "csm", "band", "renewal", "overdue"),
    *("kind", "period", "team", "survey", "account", "by", "group", "from", "to", "since", "date"),
    *("compare", "show", "low", "mine", "as_of", "name", "score", "reason", "expires_on", "assignee"),
]
_NAME_RE = re.compile(r'name="([A-Za-z_][\w-]*)"')
_QUERY_NAME_RE = re.compile(r"[?&](?:amp;)?([A-Za-z_][\w-]*)=")


@pytest.fixture(scope="module")
def clients(world):
    """One signed-in client per person, made once for the module."""
    made = {}
    for who in CAST:
        made[who] = Client()
        made[who].force_login(world.cast[who])
    return made


_page_names: dict[str, list[str]] = {}


def page_names(name: str, world, clients) -> list[str]:
    """The parameter names a GET URL's page uses (its form fields, its links' queries), and the known ones.

    Read inside a test, once per URL: the outbox pages need the test's settings."""
    if name not in _page_names:
        page = body(clients[RULES[name].allowed].get(url_of(name, world)))
        names = set(_NAME_RE.findall(page)) | set(_QUERY_NAME_RE.findall(page))
        _page_names[name] = sorted(names - {"csrfmiddlewaretoken"} | set(KNOWN_NAMES))
    return _page_names[name]


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def _assert_no_5xx(response, what: str):
    assert response.status_code < 500, f"{what} answered {response.status_code}: {body(response)[:1000]}"


def _get(client, url: str, query: str):
    with transaction.atomic():
        response = client.get(_with_query(url, query))
        _assert_no_5xx(response, f"GET {_with_query(url, query)!r}")
        transaction.set_rollback(True)


def _post(client, url: str, data: dict):
    with transaction.atomic():
        response = client.post(url, data)
        _assert_no_5xx(response, f"POST {url} {data!r}")
        transaction.set_rollback(True)


values = st.one_of(
    st.sampled_from(EDGES),
    st.integers(-(10**20), 10**20).map(str),
    st.text(max_size=30),
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
)


def _queries(names: list[str]):
    pairs = st.lists(st.tuples(st.sampled_from(names) | st.text(max_size=8), values), min_size=1, max_size=6)
    return st.one_of(
        pairs.map(urlencode),  # repeated names too
        st.binary(max_size=40).map(lambda raw: quote_from_bytes(raw, safe="=&%")),  # broken %-escapes, bad UTF-8
    )


def _valid_body(name: str, world) -> dict:
    """The rule's valid body, without its files (CSV imports have their own tests)."""
    rule = RULES[name]
    data = rule.post(world) if rule.post else {}
    return {key: value for key, value in data.items() if not isinstance(value, SimpleUploadedFile)}


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("name", GET_URLS)
def test_any_query_string_gets_an_answer_that_is_not_a_5xx(world, clients, name, who):
    url, client, names = url_of(name, world), clients[who], page_names(name, world, clients)

    @FUZZ
    @given(query=_queries(names))
    def fuzz(query):
        _get(client, url, query)

    fuzz()


@pytest.mark.parametrize("name", GET_URLS)
def test_every_parameter_of_a_page_at_its_edges_gets_an_answer_that_is_not_a_5xx(world, clients, name):
    """Each edge value in every parameter the page knows, by someone in scope (who gets the whole page)."""
    url, client = url_of(name, world), clients[RULES[name].allowed]
    for value in SWEEP:
        _get(client, url, urlencode([(param, value) for param in page_names(name, world, clients)]))


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("name", POST_URLS)
def test_any_form_body_gets_an_answer_that_is_not_a_5xx(world, clients, name, who):
    url, client, valid = url_of(name, world), clients[who], _valid_body(name, world)
    fields = sorted(valid) or ["name"]
    changes = st.dictionaries(
        st.sampled_from(fields) | st.text(max_size=8), values | st.none(), max_size=len(fields) + 1
    )

    @FUZZ
    @given(changes=changes)
    def fuzz(changes):
        data = {key: value for key, value in (valid | changes).items() if value is not None}  # None drops a field
        _post(client, url, data)

    fuzz()


@pytest.mark.parametrize("name", POST_URLS)
def test_every_field_of_a_form_at_its_edges_gets_an_answer_that_is_not_a_5xx(world, clients, name):
    """Each edge value in every field of the form's valid body at once, by someone in scope."""
    url, client, valid = url_of(name, world), clients[RULES[name].allowed], _valid_body(name, world)
    for value in SWEEP:
        _post(client, url, dict.fromkeys(valid or ["name"], value))
