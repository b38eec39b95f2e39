"""Writes for health: recompute (bulk, debounced per account, backfill), alerts, overrides, model versions."""

import datetime
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Account, MetricDefinition, Notification, User
from accounts.notification_emails import notification_emails_send
from accounts.validators import one_line
from core.dates import short_date
from core.numbers import whole
from scoring import backtest, backtest_replay, engine
from scoring.models import (
    Backtest,
    Band,
    Component,
    DirtyAccount,
    HealthModel,
    HealthModelVersion,
    HealthSnapshot,
    Override,
)
from scoring.preview import draft_build
from scoring.signals import health_recomputed
from scoring.tasks import backtest_draft_task, health_recompute_chunk_task, health_recompute_dirty_task
from webhooks.models import EventType
from webhooks.outbox import events_record

logger = logging.getLogger(__name__)

DIRTY_SCHEDULED_KEY = "scoring:recompute-scheduled"


def health_recompute(*, as_of: datetime.date | None = None, accounts=None, alert: bool = True) -> int:
    """Score accounts (all active by default) as of a day, store the snapshots, alert owners of drops."""
    as_of = as_of or timezone.localdate()
    scored = engine.compute(as_of=as_of, accounts=accounts)
    alerting = alert and as_of == timezone.localdate()
    with transaction.atomic():
        # Read before the write: band changes compare with the day's snapshot being replaced, if any.
        events = _alert_events(as_of=as_of, scored=scored) if alerting else []
        changes = _band_changes(as_of=as_of, scored=scored) if alerting else []
        engine.snapshots_write(scored=scored, as_of=as_of)
        # The webhooks go with the snapshots: the same transaction, so none is lost or sent for a rollback.
        _health_events_record(scored=scored, events=events, changes=changes)
    if alerting:
        health_alerts_send(as_of=as_of, scored=scored, events=events)
        health_recomputed.send(sender=HealthSnapshot, accounts=accounts, as_of=as_of)
    return len(scored)


def health_recompute_chunks(*, as_of: datetime.date, size: int) -> list[tuple[int, int | None]]:
    """(first id, last id) of each run of `size` consecutive accounts scored on the day; the last run is
    open-ended (None), so an account created before it runs is scored too."""
    ids = list(engine.scorable_accounts(as_of).order_by("pk").values_list("pk", flat=True))
    starts = range(0, len(ids), size)
    return [(ids[start], ids[start + size - 1] if start + size < len(ids) else None) for start in starts]


def health_recompute_queue(*, as_of: datetime.date | None = None, alert: bool = True) -> int:
    """Queue the recompute of every account as chunks of HEALTH_RECOMPUTE_CHUNK_ACCOUNTS, one task each, so
    that more workers finish sooner and no process holds every account at once; returns the chunks queued."""
    as_of = as_of or timezone.localdate()
    chunks = health_recompute_chunks(as_of=as_of, size=settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS)
    for first_id, last_id in chunks:
        health_recompute_chunk_task.delay(first_id, last_id, as_of.isoformat(), alert)
    return len(chunks)


def health_recompute_chunk(*, first_id: int, last_id: int | None, as_of: datetime.date, alert: bool = True) -> int:
    """One chunk of health_recompute_queue: the accounts scored on the day with ids from first to last
    (to the end when last is None)."""
    accounts = engine.scorable_accounts(as_of).filter(pk__gte=first_id)
    if last_id is not None:
        accounts = accounts.filter(pk__lte=last_id)
    if alert and as_of != timezone.localdate():
        # Only today's snapshots alert; a chunk that waited past midnight in the queue still writes its day.
        logger.warning("a recompute chunk of %s ran on a later day; its drops were not alerted", as_of)
    return health_recompute(as_of=as_of, accounts=accounts, alert=alert)


def health_backfill(
    *, start: datetime.date, end: datetime.date, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute every day from start to end (inclusive) on the data of that day; no alerts."""
    days = [start + datetime.timedelta(days=offset) for offset in range((end - start).days + 1)]
    return health_history_write(days=days, progress=progress)


def health_history_write(*, days: list[datetime.date], progress: Callable[[int, int], None] | None = None) -> int:
    """Score and store each of these days on the data of that day, reading the models once; no alerts."""
    written = 0
    for index, (day, scored) in enumerate(engine.compute_days(days=days), start=1):
        with transaction.atomic():
            written += engine.snapshots_write(scored=scored, as_of=day)
        if progress is not None:
            progress(index, len(days))
    return written


def health_mark_dirty(*, account_ids: Iterable[int]) -> None:
    """Note that these accounts' inputs changed; one debounced task recomputes them all shortly."""
    rows = [DirtyAccount(account_id=account_id) for account_id in set(account_ids)]
    if not rows:
        return
    # One write, in the caller's transaction: an import that fails leaves no marks.
    DirtyAccount.objects.bulk_create(rows, ignore_conflicts=True)
    delay = settings.HEALTH_RECOMPUTE_DELAY_SECONDS

    def schedule() -> None:
        # One scheduled run per delay window, however many answers or metric values arrive meanwhile;
        # decided after commit, so a rolled-back write does not hold the window. The marks are rows,
        # so if the broker is down the periodic run (CELERY_BEAT_SCHEDULE) finds them.
        if _first_in_window(delay):
            health_recompute_dirty_task.apply_async(countdown=delay)

    transaction.on_commit(schedule, robust=True)


def _first_in_window(delay: int) -> bool:
    """Whether no recompute is scheduled yet; when the cache cannot say, one run too many is the safe answer."""
    try:
        return cache.add(DIRTY_SCHEDULED_KEY, 1, timeout=delay)
    except Exception:  # any cache backend error (Redis down): the caller's write must not fail for it
        logger.warning("cache unavailable; scheduling a health recompute anyway", exc_info=True)
        return True


def health_recompute_dirty() -> int:
    """Recompute today's snapshot of every account marked dirty, then unmark them."""
    try:
        cache.delete(DIRTY_SCHEDULED_KEY)
    except Exception:  # the key only saves duplicate runs; a stale one expires by itself
        logger.warning("cache unavailable; could not clear the recompute schedule", exc_info=True)
    with transaction.atomic():
        marks = list(DirtyAccount.objects.select_for_update(skip_locked=True).values_list("account_id", "since"))
        if not marks:
            return 0
        # Only the marks read here: a mark added meanwhile stays for the next run.
        for account_id, since in marks:
            DirtyAccount.objects.filter(account_id=account_id, since=since).delete()
    marked = [account_id for account_id, _ in marks]
    return health_recompute(accounts=Account.objects.filter(pk__in=marked, status=Account.Status.ACTIVE))


def _alert_events(*, as_of: datetime.date, scored: list[engine.Scored]) -> list[tuple[int, str, str, dict]]:
    """(account id, event key, what happened, facts) for drops of HEALTH_ALERT_DROP_POINTS within 7 days and
    moves into red; the facts of a drop are its numbers (a move into red has none: it is a band change)."""
    drop = settings.HEALTH_ALERT_DROP_POINTS
    earlier: dict[int, list[tuple[datetime.date, float | None, str]]] = {}
    previous = HealthSnapshot.objects.filter(
        account_id__in=[row.account_id for row in scored],
        date__gte=as_of - datetime.timedelta(days=7),
        date__lt=as_of,
    ).order_by("date")
    for account_id, date, score, band in previous.values_list("account_id", "date", "score", "band"):
        earlier.setdefault(account_id, []).append((date, score, band))
    events = []
    for row in scored:
        history = earlier.get(row.account_id, [])
        if row.band == Band.RED and history and history[-1][2] != Band.RED:
            events.append((row.account_id, f"health-red:{row.account_id}:{as_of}", "moved into red", {}))
        scores = [(score, date) for date, score, _ in history if score is not None]
        if row.score is not None and scores:
            peak, peak_date = max(scores)
            # The difference of the two scores as shown, so the email's arithmetic adds up.
            shown_drop = whole(peak) - whole(row.score)
            if shown_drop >= drop:
                what = f"dropped {shown_drop} points since {short_date(peak_date)}"
                # Keyed on the peak: recomputing, or a further slide from the same peak, alerts once.
                facts = {"drop": shown_drop, "score": whole(row.score), "peak": whole(peak), "peak_date": peak_date}
                events.append((row.account_id, f"health-drop:{row.account_id}:{peak_date}", what, facts))
    return events


def _band_changes(*, as_of: datetime.date, scored: list[engine.Scored]) -> list[tuple[int, str]]:
    """(account id, previous band) of the accounts whose band differs from their last snapshot (of the
    past week, today's included): recomputing the same day again reports a change once."""
    last: dict[int, str] = {}
    previous = HealthSnapshot.objects.filter(
        account_id__in=[row.account_id for row in scored],
        date__gte=as_of - datetime.timedelta(days=7),
        date__lte=as_of,
    ).order_by("date")
    for account_id, band in previous.values_list("account_id", "band"):
        last[account_id] = band
    return [
        (row.account_id, last[row.account_id])
        for row in scored
        if row.account_id in last and last[row.account_id] != row.band
    ]


def _health_events_record(
    *, scored: list[engine.Scored], events: list[tuple[int, str, str, dict]], changes: list[tuple[int, str]]
) -> None:
    """health.band_changed and health.dropped webhooks (a drop once per peak, as its alert), set-based."""
    drops = [(account_id, key, facts) for account_id, key, _, facts in events if facts]
    if not drops and not changes:
        return
    accounts = Account.objects.in_bulk({account_id for account_id, _, _ in drops} | {a for a, _ in changes})
    by_account = {row.account_id: row for row in scored}

    def shown(account_id: int) -> int | None:
        score = by_account[account_id].score
        return None if score is None else whole(score)

    events_record(
        type=EventType.HEALTH_BAND_CHANGED,
        items=[
            (accounts[account_id], {"band": by_account[account_id].band, "previous_band": previous,
                                    "score": shown(account_id)})
            for account_id, previous in changes
        ],
    )  # fmt: skip
    events_record(
        type=EventType.HEALTH_DROPPED,
        items=[(accounts[account_id], facts | {"band": by_account[account_id].band}) for account_id, _, facts in drops],
        keys=[key for _, key, _ in drops],
    )


def health_alerts_send(
    *, as_of: datetime.date, scored: list[engine.Scored], events: list[tuple[int, str, str, dict]] | None = None
) -> int:
    """Alert each owner once per event, in the app and by email; returns how many alerts were new.

    Each email is sent and recorded on its own notification (accounts/notification_emails.py): one
    that fails never stops the others, and the retry sweep sends it later.
    """
    if events is None:
        events = _alert_events(as_of=as_of, scored=scored)
    if not events:
        return 0
    accounts = Account.objects.select_related("owner").in_bulk([account_id for account_id, _, _, _ in events])
    by_account = {row.account_id: row for row in scored}
    candidates = [
        (accounts[account_id], key, what)
        for account_id, key, what, _ in events
        if accounts[account_id].owner is not None
    ]
    existing = set(Notification.objects.filter(key__in=[key for _, key, _ in candidates]).values_list("user_id", "key"))
    new = [(account, key, what) for account, key, what in candidates if (account.owner_id, key) not in existing]
    if not new:
        return 0
    Notification.objects.bulk_create(
        [_alert_notification(account, what, key, by_account) for account, key, what in new], ignore_conflicts=True
    )
    # Read back (bulk_create with ignore_conflicts returns no ids); a row another run created meanwhile
    # is claimed before its email goes out, so it is sent once.
    wanted = {(account.owner_id, key) for account, key, _ in new}
    created = [
        notification
        for notification in Notification.objects.filter(key__in=[key for _, key, _ in new], emailed_at__isnull=True)
        .select_related("user")
        .order_by("pk")
        if (notification.user_id, notification.key) in wanted
    ]
    notification_emails_send(notifications=created)
    return len(new)


def _alert_notification(account: Account, what: str, key: str, by_account: dict[int, engine.Scored]) -> Notification:
    # One line: an account name stored before the forms refused line breaks must not break the subject.
    title = one_line(f"{account.name}: health {what}")[:200]
    score = _score_text(by_account[account.pk])
    link = settings.SITE_URL + account.get_absolute_url()
    return Notification(
        user=account.owner,
        key=key,
        title=title,
        body=score,
        url=account.get_absolute_url(),
        email_subject=title,
        email_body=render_to_string(
            "scoring/email/health_alert.txt", {"account": account, "what": what, "score": score, "link": link}
        ),
    )


def _score_text(row: engine.Scored) -> str:
    return "Not enough data" if row.score is None else f"Health {whole(row.score)} ({row.band})"


def override_create(
    *,
    account: Account,
    by: User,
    reason: str,
    band: str = "",
    score: float | None = None,
    expires_on: datetime.date | None = None,
) -> Override:
    """Override an account's band or score until expires_on (default 30 days); the previous one ends now."""
    expires_on = expires_on or timezone.localdate() + datetime.timedelta(days=30)
    with transaction.atomic():
        Override.objects.filter(account=account, cleared_at__isnull=True, expires_on__gte=timezone.localdate()).update(
            cleared_at=timezone.now(), cleared_by=by
        )
        return Override.objects.create(
            account=account, band=band, score=score, reason=reason, created_by=by, expires_on=expires_on
        )


def override_clear(*, override: Override, by: User) -> None:
    Override.objects.filter(pk=override.pk, cleared_at__isnull=True).update(cleared_at=timezone.now(), cleared_by=by)


@transaction.atomic
def model_version_create(
    *,
    model: HealthModel,
    by: User | None,
    settings_values: dict,
    components: list[dict],
    name: str | None = None,
) -> HealthModelVersion:
    """Save an edit as a new version and make it current, renaming the model to `name` if given, all or
    nothing; older snapshots keep naming their version."""
    model = HealthModel.objects.select_for_update().get(pk=model.pk)
    if name is not None:
        model.name = name
    number = (model.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = HealthModelVersion.objects.create(model=model, number=number, created_by=by, **settings_values)
    Component.objects.bulk_create(
        [Component(version=version, position=position, **values) for position, values in enumerate(components)]
    )
    model.current_version = version
    model.save(update_fields=["name", "current_version"])
    return version


SETTINGS_FIELDS = ["min_coverage", "red_below", "green_from"]
COMPONENT_FIELDS = ["label", "input", "metric", "reading", "window_days", "poor", "good", "weight"]


def version_values(version: HealthModelVersion) -> dict:
    """A saved version as a draft's values: settings_values and components, as the editor cleans them."""
    components = version.components.select_related("metric").order_by("position", "pk")
    return {
        "settings_values": {field: getattr(version, field) for field in SETTINGS_FIELDS},
        "components": component_values(components),
    }


def component_values(components: Iterable[Component]) -> list[dict]:
    """Components as the dicts model_version_create takes, in their order."""
    return [{field: getattr(component, field) for field in COMPONENT_FIELDS} for component in components]


@transaction.atomic
def model_segment_create(
    *, segment: str, name: str, by: User | None, adjust: Callable[[dict], dict] | None = None
) -> HealthModel:
    """A model for one segment, starting as a copy of the default model's current version.

    `adjust` may change each copied component (a dict of COMPONENT_FIELDS) before it is saved.
    """
    model = HealthModel.objects.create(name=name, segment=segment)
    default = HealthModel.objects.filter(segment="").select_related("current_version").first()
    source = default.current_version if default is not None else None
    if source is not None:
        components = component_values(source.components.select_related("metric").order_by("position", "pk"))
        model_version_create(
            model=model,
            by=by,
            settings_values={field: getattr(source, field) for field in SETTINGS_FIELDS},
            components=[adjust(values) if adjust else values for values in components],
        )
    return model


# ---- Back-tests (scoring/backtest.py defines them) ----


def backtest_stored_save(*, version: HealthModelVersion, horizon: int = backtest.HORIZON_DAYS) -> Backtest:
    """The stored back-test of a version, computed now (seconds) and kept for the pages."""
    result = backtest.backtest_stored(version, horizon=horizon)
    return Backtest.objects.create(
        model=version.model,
        version=version,
        kind=Backtest.Kind.STORED,
        horizon_days=horizon,
        status=Backtest.Status.DONE,
        total=len(result["days"]),
        done=len(result["days"]),
        result=result,
        finished_at=timezone.now(),
    )


def backtests_stored_run() -> int:
    """The stored back-test of every model's current version."""
    models = HealthModel.objects.filter(current_version__isnull=False).select_related("current_version__model")
    done = 0
    for model in models:
        try:
            backtest_stored_save(version=model.current_version)
        except Exception:  # one model's failure must not cost the others their back-test
            logger.exception("back-test of version %s failed", model.current_version_id)
        else:
            done += 1
    return done


def backtest_draft_create(
    *, model: HealthModel, settings_values: dict, components: list[dict], by: User | None
) -> Backtest:
    """The row of a draft's back-test (the editor's cleaned values), waiting to run."""
    rows = [{**values, "metric": values["metric"].key if values["metric"] else ""} for values in components]
    return Backtest.objects.create(
        model=model,
        version=model.current_version,
        kind=Backtest.Kind.DRAFT,
        draft={"settings": settings_values, "components": rows},
        horizon_days=backtest.HORIZON_DAYS,
        created_by=by,
    )


def backtest_draft_start(
    *, model: HealthModel, settings_values: dict, components: list[dict], by: User | None
) -> Backtest:
    """Queue the back-test of a draft; the row shows its progress."""
    job = backtest_draft_create(model=model, settings_values=settings_values, components=components, by=by)
    transaction.on_commit(lambda: backtest_draft_task.delay(job.pk), robust=True)
    return job


def backtest_draft_run(*, backtest_id: int) -> None:
    """Replay the draft day by day, saving the progress, then its result (or why it failed)."""
    job = Backtest.objects.select_related("model__current_version").filter(pk=backtest_id).first()
    # Claimed once: a task delivered again (acks_late) finds it running and leaves it alone.
    if job is None or not Backtest.objects.filter(pk=job.pk, status=Backtest.Status.PENDING).update(
        status=Backtest.Status.RUNNING
    ):
        return

    def progress(done: int, total: int) -> None:
        Backtest.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        draft, components = backtest_draft_build(job)
        result = backtest_replay.replay(
            model=job.model, draft=draft, components=components, horizon=job.horizon_days, progress=progress
        )
    except Exception as error:
        logger.exception("back-test %s failed", job.pk)
        Backtest.objects.filter(pk=job.pk).update(
            status=Backtest.Status.FAILED, error=f"{type(error).__name__}: {error}"[:500], finished_at=timezone.now()
        )
        return
    Backtest.objects.filter(pk=job.pk).update(status=Backtest.Status.DONE, result=result, finished_at=timezone.now())


def backtest_draft_build(job: Backtest) -> tuple[HealthModelVersion, list[Component]]:
    """The unsaved version and components a draft back-test stored."""
    metrics = {metric.key: metric for metric in MetricDefinition.objects.all()}
    rows = [{**row, "metric": metrics.get(row["metric"])} for row in job.draft["components"]]
    return draft_build(model=job.model, settings_values=job.draft["settings"], components=rows)
