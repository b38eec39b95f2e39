"""The portfolio grouped by parent account: a control that updates in place, each account once."""

import re

from tests.factories import AccountFactory
from tests.helpers import HTMX


def groups(response) -> list[str]:
    """Each group header's text, then the account names under it, in page order."""
    body = response.content.decode()
    found = []
    for match in re.finditer(
        r'<tr class="portfolio-group"><th[^>]*>(.*?)</th></tr>|<td class="card-title"><a [^>]*>([^<]+)</a>', body
    ):
        header, name = match.groups()
        found.append(f"# {re.sub(r'<[^>]+>', '', header)}" if header else name)
    return found


def test_grouped_by_parent(alice, carol, login):
    top = AccountFactory(name="Zeta Group", owner=alice, arr=100_000)
    AccountFactory(name="Zeta West", owner=alice, parent=top, arr=20_000)
    AccountFactory(name="Alpha Zeta", owner=alice, parent=top, arr=30_000)
    hidden = AccountFactory(name="Hidden Parent", owner=carol)
    AccountFactory(name="Orphan", owner=alice, parent=hidden, arr=5_000)
    AccountFactory(name="Another orphan", owner=alice, parent=AccountFactory(owner=carol), arr=1_000)
    AccountFactory(name="Loner", owner=alice, arr=1_000)
    response = login(alice).get("/portfolio/?group=parent&sort=name")
    assert groups(response) == [
        "# Zeta Group 3 accounts · ARR 150,000",
        "Zeta Group",
        "Alpha Zeta",
        "Zeta West",
        "# Parent accounts outside your scope 2 accounts · ARR 6,000",
        "Another orphan",
        "Orphan",
        "# No parent account 1 account · ARR 1,000",
        "Loner",
    ]
    assert "Hidden Parent" not in response.content.decode()


def test_without_grouping_nothing_changes(alice, login):
    top = AccountFactory(name="Top", owner=alice)
    AccountFactory(name="Child", owner=alice, parent=top)
    assert groups(login(alice).get("/portfolio/?sort=name")) == ["Child", "Top"]


def test_the_group_control_updates_in_place_and_keeps_the_url(alice, login):
    AccountFactory(name="Top", owner=alice)
    client = login(alice)
    body = client.get("/portfolio/").content.decode()
    assert "change from:#id_group" in body and '<select name="group" id="id_group">' in body
    response = client.get("/portfolio/?q=&band=&group=parent&sort=health", headers=HTMX)
    assert response["HX-Push-Url"] == "/portfolio/?group=parent"
    assert response.content.decode().lstrip().startswith('<section id="results"')
    assert "# No parent account 1 account · ARR 50,000" in groups(response)


def test_sorting_and_clearing_keep_the_grouping(alice, login):
    AccountFactory(name="Top", owner=alice)
    body = login(alice).get("/portfolio/?group=parent&q=Top").content.decode()
    assert 'href="?group=parent&amp;q=Top&amp;sort=arr"' in body
    assert 'href="/portfolio/?sort=health&amp;group=parent"' in body  # Clear the filters
