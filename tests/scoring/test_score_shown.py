"""A score is shown as a whole number, the same on every page, and its band is that number's band.

39.99 shows 40 with a yellow chip (it showed 40 with a red chip and "40.0" underneath); 39.49
shows 39 and is red (it showed "39.5" below). Overrides with a score follow the same rule.
"""

import datetime
import importlib
import re

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from scoring import engine, formatting, services
from scoring.models import Band, HealthSnapshot
from tests.factories import HealthSnapshotFactory, OverrideFactory, default_health_version

NOW = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
SHOWN = [(39.99, 40, Band.YELLOW), (39.5, 40, Band.YELLOW), (39.49, 39, Band.RED), (69.5, 70, Band.GREEN)]


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def snapshot_of(account, score, days_ago: int = 0) -> HealthSnapshot:
    """Two inputs of weights 40 and 60, both at `score`: their points add up to it."""
    components = [
        {"label": label, "input": "nps", "raw": 10.0, "n": 12, "normalised": score, "weight": weight}
        | {"contribution": score * weight / 100, "status": "ok", "component": None}
        for label, weight in (("NPS", 40), ("CSAT", 60))
    ]
    return HealthSnapshotFactory(
        account=account,
        version=default_health_version(),
        score=score,
        date=timezone.localdate() - datetime.timedelta(days=days_ago),
        components=components,
    )


@pytest.mark.parametrize(("score", "whole", "band"), SHOWN)
def test_the_stored_band_is_that_of_the_whole_number(alice_account, score, whole, band):
    assert snapshot_of(alice_account, score).band == band


@pytest.mark.parametrize(("score", "whole", "band"), SHOWN)
def test_health_account_and_portfolio_pages_show_the_same_whole_number_and_band(
    alice, alice_account, login, score, whole, band
):
    snapshot_of(alice_account, score)
    client = login(alice)
    pages = {
        "health": client.get(reverse("scoring:account_health", args=[alice_account.pk])).content.decode(),
        "account": client.get(alice_account.get_absolute_url()).content.decode(),
    }
    for name, html in pages.items():
        assert f'<span class="health-number health-bg-{band}">{whole}</span>' in html, name
        assert f"{score}" not in html and f"{score:.1f}" not in html, name  # no "40.0" or "39.5" underneath
    assert re.search(rf"the points added up\)</span></th>\s*<td[^>]*><strong>{whole}</strong>", pages["health"])
    portfolio = client.get(reverse("dashboards:portfolio")).content.decode()
    assert f"health-chip health-chip-{band}" in portfolio and f">{whole}<" in portfolio


def test_an_override_to_39_5_is_40_and_yellow(alice, alice_account, login):
    snapshot_of(alice_account, 80)
    OverrideFactory(account=alice_account, score=39.5, band="")
    html = login(alice).get(reverse("scoring:account_health", args=[alice_account.pk])).content.decode()
    assert '<span class="health-chip health-chip-yellow">Overridden to 40</span>' in html


def test_the_migration_rebands_stored_snapshots_whose_whole_number_crosses_a_threshold(alice_account, bob_account):
    rebanded = importlib.import_module("scoring.migrations.0004_bands_of_rounded_scores").rebanded
    scores = {39.5: Band.YELLOW, 39.49: Band.RED, 69.5: Band.GREEN, 69.49: Band.YELLOW, 12.0: Band.RED}
    rows = [snapshot_of(alice_account, score, days_ago) for days_ago, score in enumerate(scores)]
    # As they were stored before: banded on the unrounded score.
    HealthSnapshot.objects.filter(score__lt=40).update(band=Band.RED)
    HealthSnapshot.objects.filter(score__gte=40, score__lt=70).update(band=Band.YELLOW)
    empty = HealthSnapshotFactory(account=bob_account, score=None, band=Band.NONE)

    rebanded(apps, None)

    assert {row.score: HealthSnapshot.objects.get(pk=row.pk).band for row in rows} == scores
    assert HealthSnapshot.objects.get(pk=empty.pk).band == Band.NONE


def test_the_alert_email_writes_the_score_and_band_as_the_pages_do(alice_account):
    version = default_health_version()
    # 40.5 was "Health 40" (float formatting rounds halves to even); 39.5 was "Health 40 (red)".
    for score, text in ((40.5, "Health 41 (yellow)"), (39.5, "Health 40 (yellow)"), (None, "Not enough data")):
        row = engine.Scored(alice_account.pk, version, score, version.band(score), 100.0, [])
        assert services._score_text(row) == text


def test_the_points_shown_add_up_to_the_score_shown():
    """19.75 + 19.74 = 39.49 shows 39: the points read 20 + 19, not 19.8 + 19.7 (which make 39.5)."""
    entries = [
        {"label": label, "input": "nps", "weight": 1, "raw": 0, "n": 5, "normalised": 0, "contribution": points,
         "status": "ok"}
        for label, points in (("A", 19.75), ("B", 19.74))
    ]  # fmt: skip
    snapshot = HealthSnapshot(score=39.49, band=Band.RED, coverage=100, components=entries)
    rows = formatting.component_rows(engine.explain(snapshot), {})
    assert [row["contribution"] for row in rows] == [20, 19]
    assert [row["contribution_exact"] for row in rows] == ["19.75", "19.74"]
