"""Floors for the pages: hand-written SQL that reads the figures a page shows, and nothing else.

Each floor is the cheapest the page's figures can be read: raw SQL through Django's cursor, no ORM
objects, no template, only the little Python that turns rows into the figures (band counts, sums).
The same scope and date windows as the page's selectors, taken from the same constants, so a
page / floor ratio says what the ORM, the Python and the rendering cost on top of the reads.
`tests/integration/test_bench_floors.py` checks that each floor's figures equal the page's.

PostgreSQL only (LATERAL, DISTINCT ON, FILTER), like the benchmark.
"""

import datetime
from decimal import Decimal

from django.db import connection

from accounts.sections import CHECKIN_LOG
from core.dates import day_start
from dashboards import account_page, portfolio, rollup
from playbooks.forms import week_end
from playbooks.selectors import MY_TASKS_SHOWN
from renewals.selectors import CALL_WINDOW_DAYS, STALE_AFTER_DAYS
from surveys import formulas
from surveys.models import ALERT_AT_OR_BELOW, OPEN_FEEDBACK, Invitation
from surveys.results import ACCOUNT_PERIOD, period_start

BANDS = ["red", "yellow", "green", "none"]


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _low_score_sql(alias: str) -> str:
    """The answers that alert the owner (surveys.selectors.feedback.low_score_q), as SQL on `alias`."""
    return (
        "("
        + " OR ".join(f"({alias}.kind = '{kind}' AND {alias}.score <= {at})" for kind, at in ALERT_AT_OR_BELOW.items())
        + ")"
    )


def _shown_band_sql(override: str, snapshot: str) -> str:
    """The band shown (scoring/selectors.py): the override's band, else its score banded by the latest snapshot's
    thresholds (HealthModelVersion.band, on the whole number), else the snapshot's band."""
    score = f"round({override}.score::numeric)"
    return f"""CASE
        WHEN {override}.id IS NULL THEN coalesce({snapshot}.band, 'none')
        WHEN {override}.band <> '' THEN {override}.band
        WHEN {override}.score IS NULL OR {snapshot}.red_below IS NULL THEN 'none'
        WHEN {score} < {snapshot}.red_below THEN 'red'
        WHEN {score} >= {snapshot}.green_from THEN 'green'
        ELSE 'yellow' END"""


def _params(today: datetime.date) -> dict:
    return {"today": today, "tomorrow_starts": day_start(today + datetime.timedelta(days=1))}


# ---- The portfolio ----------------------------------------------------------------------------

PORTFOLIO_ROWS = f"""
SELECT a.id, a.name, a.segment, a.arr, a.renewal_date, p.name AS parent_name,
       s.score, s.date AS snapshot_date, then_.score AS score_then, week.date AS week_date, week.score AS week_score,
       c.date AS last_checkin, c.next_checkin_on,
       nps.n, nps.promoters, nps.detractors,
       o.band AS override_band, o.score AS override_score, o.expires_on, {_shown_band_sql("o", "s")} AS shown_band,
       (SELECT count(*) FROM surveys_response r
        WHERE r.account_id = a.id AND r.feedback_status = ANY(%(open_feedback)s) AND r.comment <> '') AS open_feedback,
       (SELECT count(*) FROM playbooks_task t
        WHERE t.account_id = a.id AND t.status IN ('open', 'snoozed')) AS open_tasks,
       (SELECT count(*) FROM accounts_account ch
        WHERE ch.owner_id = %(csm)s AND ch.status = 'churned') AS churned,
       (SELECT count(*) FROM accounts_notification n WHERE n.user_id = %(csm)s AND n.read_at IS NULL) AS unread
FROM accounts_account a
LEFT JOIN accounts_account p ON p.id = a.parent_id
    AND p.owner_id IN (SELECT u.id FROM accounts_user u WHERE u.id = %(csm)s OR u.team_id = %(team)s)
LEFT JOIN LATERAL (
    SELECT hs.score, hs.band, hs.date, v.red_below, v.green_from FROM scoring_healthsnapshot hs
    JOIN scoring_healthmodelversion v ON v.id = hs.version_id
    WHERE hs.account_id = a.id AND hs.date <= %(today)s ORDER BY hs.date DESC LIMIT 1) s ON true
LEFT JOIN LATERAL (
    SELECT hs.score FROM scoring_healthsnapshot hs
    WHERE hs.account_id = a.id AND hs.date <= %(trend_day)s ORDER BY hs.date DESC LIMIT 1) then_ ON true
LEFT JOIN LATERAL (
    SELECT hs.score, hs.date FROM scoring_healthsnapshot hs
    WHERE hs.account_id = a.id AND hs.date <= %(week_day)s ORDER BY hs.date DESC LIMIT 1) week ON true
LEFT JOIN LATERAL (
    SELECT ci.date, ci.next_checkin_on FROM accounts_checkin ci
    WHERE ci.account_id = a.id AND ci.date <= %(today)s ORDER BY ci.date DESC, ci.created_at DESC LIMIT 1) c ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS n, count(*) FILTER (WHERE r.score >= {formulas.PROMOTER_MIN}) AS promoters,
           count(*) FILTER (WHERE r.score <= {formulas.DETRACTOR_MAX}) AS detractors
    FROM surveys_response r
    WHERE r.account_id = a.id AND r.kind = 'nps'
      AND r.answered_at >= %(period_starts)s AND r.answered_at < %(tomorrow_starts)s) nps ON nps.n > 0
LEFT JOIN LATERAL (
    SELECT ov.id, ov.band, ov.score, ov.expires_on FROM scoring_override ov
    WHERE ov.account_id = a.id AND ov.cleared_at IS NULL AND ov.expires_on >= %(today)s
      AND ov.created_at < %(tomorrow_starts)s
    ORDER BY ov.created_at DESC, ov.id DESC LIMIT 1) o ON true
WHERE a.owner_id = %(csm)s AND a.status = 'active'
ORDER BY a.name, a.id
"""

PORTFOLIO_COMMENTS = f"""
SELECT r.id, r.kind, r.score, r.comment, r.answered_at, a.name, ct.name, ct.email
FROM surveys_response r
JOIN accounts_account a ON a.id = r.account_id
LEFT JOIN accounts_contact ct ON ct.id = r.contact_id
WHERE a.owner_id = %(csm)s AND a.status = 'active' AND {_low_score_sql("r")}
  AND r.feedback_status = ANY(%(open_feedback)s) AND r.comment <> ''
ORDER BY r.answered_at DESC, r.id DESC LIMIT %(comments)s
"""

# Open renewals of the active accounts inside the call window with their latest call; the stale filter
# is on the call's date, as renewals_needing_a_call applies it.
PORTFOLIO_TO_CALL = """
SELECT rn.id, rn.renewal_date, rn.arr, a.name, call.call, call.made_on, call.made_by
FROM renewals_renewal rn
JOIN accounts_account a ON a.id = rn.account_id
LEFT JOIN LATERAL (
    SELECT fc.call, fc.made_on, u.name AS made_by FROM renewals_forecastcall fc
    LEFT JOIN accounts_user u ON u.id = fc.made_by_id
    WHERE fc.renewal_id = rn.id ORDER BY fc.made_on DESC, fc.created_at DESC, fc.id DESC LIMIT 1) call ON true
WHERE a.owner_id = %(csm)s AND a.status = 'active' AND rn.outcome = '' AND rn.renewal_date <= %(call_until)s
  AND (call.made_on IS NULL OR call.made_on < %(stale_before)s)
ORDER BY rn.renewal_date, a.name, rn.id
"""

# My tasks: the three groups' counts and their first MY_TASKS_SHOWN each, in one pass over the CSM's open tasks.
PORTFOLIO_MY_TASKS = """
SELECT grp, n, id, title, due_on, account_name FROM (
    SELECT grp, count(*) OVER (PARTITION BY grp) AS n,
           row_number() OVER (PARTITION BY grp ORDER BY t.due_on, t.id) AS place,
           t.id, t.title, t.due_on, a.name AS account_name
    FROM (SELECT t.*, CASE WHEN t.due_on < %(today)s THEN 'overdue' WHEN t.due_on = %(today)s THEN 'today'
                           WHEN t.due_on <= %(week_end)s THEN 'this_week' ELSE 'later' END AS grp
          FROM playbooks_task t WHERE t.owner_id = %(csm)s AND t.status = 'open') t
    JOIN accounts_account a ON a.id = t.account_id
        AND a.owner_id IN (SELECT u.id FROM accounts_user u WHERE u.id = %(csm)s OR u.team_id = %(team)s)
) grouped WHERE grp = 'later' AND place = 1 OR grp <> 'later' AND place <= %(shown)s
"""


def portfolio_floor(*, csm_id: int, team_id: int | None, today: datetime.date) -> dict:
    """A CSM's own portfolio (/portfolio/ seen by its CSM; their scope: their team's accounts).

    Reads, in four statements: every active account of the CSM with its name, segment, ARR, renewal,
    parent's name (when in scope), latest score and band, the score TREND_DAYS and DROP_DAYS ago, last and
    next check-in, NPS of ACCOUNT_PERIOD (n, promoters, detractors), the override in force and the band it
    shows, open feedback and open tasks, and the churned count (portfolio_load); the "Coming up" panel's
    low-score comments and renewals needing a call (coming_up); My tasks' three groups with their counts.
    """
    params = _params(today) | {
        "csm": csm_id,
        "team": team_id,
        "open_feedback": OPEN_FEEDBACK,
        "trend_day": today - datetime.timedelta(days=portfolio.TREND_DAYS),
        "week_day": today - datetime.timedelta(days=portfolio.DROP_DAYS),
        "period_starts": day_start(period_start(ACCOUNT_PERIOD, today)),
        "comments": 5,
        "call_until": today + datetime.timedelta(days=CALL_WINDOW_DAYS),
        "stale_before": today - datetime.timedelta(days=STALE_AFTER_DAYS),
        "week_end": week_end(today),
        "shown": MY_TASKS_SHOWN,
    }
    rows = _rows(PORTFOLIO_ROWS, params)
    bands = dict.fromkeys(BANDS, 0)
    for row in rows:
        bands[row[19]] += 1
    tasks = _rows(PORTFOLIO_MY_TASKS, params)
    return {
        "accounts": len(rows),
        "arr": sum((row[3] for row in rows), Decimal(0)),
        "bands": bands,
        "churned": rows[0][22] if rows else 0,
        "nps": {row[0]: (row[13], row[14], row[15]) for row in rows if row[13]},
        "open_feedback": sum(row[20] for row in rows),
        "open_tasks": sum(row[21] for row in rows),
        "comments": [row[0] for row in _rows(PORTFOLIO_COMMENTS, params)],
        "to_call": [row[0] for row in _rows(PORTFOLIO_TO_CALL, params)],
        "my_tasks": {grp: n for grp, n, *_ in tasks},
        "my_tasks_listed": sorted(row[2] for row in tasks if row[0] != "later"),
    }


# ---- The team rollup ----------------------------------------------------------------------------

# The (owner, segment, band shown) cells of the active accounts with their latest snapshot: the band is the
# override's when one is in force, the mean health always the computed score (compute_rollup's query 1 and
# its override moves in one).
ROLLUP_HEALTH = f"""
SELECT a.owner_id, a.segment, {_shown_band_sql("o", "s")} AS band, count(*), sum(a.arr), sum(s.score), count(s.score),
       count(*) FILTER (WHERE a.renewal_date BETWEEN %(today)s AND %(renewal_until)s),
       sum(a.arr) FILTER (WHERE a.renewal_date BETWEEN %(today)s AND %(renewal_until)s)
FROM accounts_account a
LEFT JOIN LATERAL (
    SELECT hs.score, hs.band, v.red_below, v.green_from FROM scoring_healthsnapshot hs
    JOIN scoring_healthmodelversion v ON v.id = hs.version_id
    WHERE hs.account_id = a.id AND hs.date <= %(today)s ORDER BY hs.date DESC LIMIT 1) s ON true
LEFT JOIN LATERAL (
    SELECT ov.id, ov.band, ov.score FROM scoring_override ov
    WHERE ov.account_id = a.id AND ov.cleared_at IS NULL AND ov.expires_on >= %(today)s
      AND ov.created_at < %(tomorrow_starts)s
    ORDER BY ov.created_at DESC, ov.id DESC LIMIT 1) o ON true
WHERE a.status = 'active'
GROUP BY 1, 2, 3
"""

# The rows' people: every active CSM (an admin's scope) and the owners of active accounts, with their team.
ROLLUP_PEOPLE = """
SELECT u.id, u.name, u.email, u.role, t.id, t.name FROM accounts_user u LEFT JOIN accounts_team t ON t.id = u.team_id
WHERE u.is_active AND u.role = 'csm'
   OR u.id IN (SELECT DISTINCT owner_id FROM accounts_account WHERE status = 'active')
"""

ROLLUP_TASKS = """
SELECT t.owner_id, a.segment, count(*), count(*) FILTER (WHERE t.due_on < %(today)s)
FROM playbooks_task t JOIN accounts_account a ON a.id = t.account_id AND a.status = 'active'
WHERE t.status IN ('open', 'snoozed')
GROUP BY 1, 2
"""

# The default model's thresholds and stored back-test, the closed renewals' count (who-was-right's cache
# key: the figures themselves are kept an hour, so a warm view reads only the count), the teams of the
# filter and the top bar's unread count.
ROLLUP_SMALL = """
SELECT v.red_below, v.green_from,
       (SELECT array_agg(t.name ORDER BY t.name) FROM accounts_team t),
       (SELECT count(*) FROM accounts_notification n WHERE n.user_id = %(viewer)s AND n.read_at IS NULL),
       (SELECT b.result FROM scoring_backtest b WHERE b.model_id = m.id AND b.kind = 'stored' AND b.version_id = v.id
        ORDER BY b.created_at DESC, b.id DESC LIMIT 1),
       (SELECT count(*) FROM renewals_renewal r WHERE r.outcome <> '')
FROM scoring_healthmodel m LEFT JOIN scoring_healthmodelversion v ON v.id = m.current_version_id
WHERE m.segment = ''
"""


def rollup_floor(*, viewer_id: int, today: datetime.date) -> dict:
    """The team rollup as an admin sees it on a warm view (/team/, every active account, 90 days).

    Reads, in four statements, what the page reads when its cached parts are kept: the (owner, segment,
    band shown) cells with accounts, ARR, the computed scores' sum and count, renewals within RENEWAL_DAYS
    and their ARR; the people named in the rows and their teams; open and overdue tasks by (task owner,
    segment); the default model's thresholds, its stored back-test and the closed renewals' count.
    The survey cells, reply times, weekly trend and who-was-right are kept in the cache by the page:
    `rollup_cold_floor` reads the first three; who-was-right (renewals/accuracy.py) has no floor.
    """
    params = _params(today) | {
        "viewer": viewer_id,
        "renewal_until": today + datetime.timedelta(days=rollup.RENEWAL_DAYS),
    }
    cells = _rows(ROLLUP_HEALTH, params)
    people = _rows(ROLLUP_PEOPLE, params)
    tasks = _rows(ROLLUP_TASKS, params)
    small = _rows(ROLLUP_SMALL, params)
    bands = {band: [0, Decimal(0)] for band in BANDS}
    renewing = {band: [0, Decimal(0)] for band in BANDS}
    for _, _, band, n, arr, _, _, n_renewing, arr_renewing in cells:
        band = band if band in bands else "none"
        bands[band][0] += n
        bands[band][1] += arr or 0
        renewing[band][0] += n_renewing
        renewing[band][1] += arr_renewing or 0
    return {
        "accounts": sum(cell[3] for cell in cells),
        "arr": sum((cell[4] or Decimal(0) for cell in cells), Decimal(0)),
        "score_total": sum(cell[5] or 0.0 for cell in cells),
        "scored": sum(cell[6] for cell in cells),
        "bands": {band: tuple(value) for band, value in bands.items()},
        "renewing": {band: tuple(value) for band, value in renewing.items()},
        "owners": {row[0] for row in people if row[3] == "csm"} | {cell[0] for cell in cells},
        "tasks": (sum(row[2] for row in tasks), sum(row[3] for row in tasks)),
        "thresholds": small[0][:2] if small else None,
    }


ROLLUP_ANSWERS = """
SELECT a.owner_id, a.segment, r.kind, r.score, count(*)
FROM surveys_response r JOIN accounts_account a ON a.id = r.account_id AND a.status = 'active'
WHERE r.answered_at >= %(period_starts)s AND r.answered_at < %(tomorrow_starts)s
GROUP BY 1, 2, 3, 4
"""

ROLLUP_INVITATIONS = """
SELECT a.owner_id, a.segment, count(*), count(*) FILTER (WHERE i.status = 'responded')
FROM surveys_invitation i JOIN accounts_account a ON a.id = i.account_id AND a.status = 'active'
WHERE i.sent_at >= %(period_starts)s AND i.sent_at < %(tomorrow_starts)s AND i.status = ANY(%(went_out)s)
GROUP BY 1, 2
"""

ROLLUP_REPLIES = f"""
SELECT a.owner_id, a.segment, first.sent_at - r.answered_at AS wait,
       first.sent_at IS NULL AND r.answered_at > %(sla_starts)s AS waiting, count(*)
FROM surveys_response r JOIN accounts_account a ON a.id = r.account_id AND a.status = 'active'
LEFT JOIN LATERAL (
    SELECT fr.sent_at FROM surveys_feedbackreply fr WHERE fr.response_id = r.id AND fr.sent_at IS NOT NULL
    ORDER BY fr.sent_at LIMIT 1) first ON true
WHERE {_low_score_sql("r")} AND r.answered_at >= %(period_starts)s AND r.answered_at < %(tomorrow_starts)s
  AND r.contact_id IS NOT NULL AND r.comment <> ''
GROUP BY 1, 2, 3, 4
"""

ROLLUP_TREND = """
SELECT hs.date, avg(hs.score), count(hs.account_id)
FROM scoring_healthsnapshot hs JOIN accounts_account a ON a.id = hs.account_id AND a.status = 'active'
WHERE hs.date = ANY(%(days)s) AND hs.score IS NOT NULL
GROUP BY 1
"""


def rollup_cold_floor(*, today: datetime.date, now: datetime.datetime, sla_hours: float) -> dict:
    """What the rollup keeps in the cache and reads on a cold view, for an admin over 90 days: the answers
    of the period by (owner, segment, kind, score), its invitations sent and answered by (owner, segment)
    (survey_cells), its low scores with a comment from a known contact and the wait for their first reply
    (reply_cells), and the mean score on each week's last day over TREND_WEEKS (health_trend). Four statements."""
    first_week = today - datetime.timedelta(days=today.weekday()) - datetime.timedelta(weeks=rollup.TREND_WEEKS)
    weeks = [first_week + datetime.timedelta(weeks=index) for index in range(rollup.TREND_WEEKS + 1)]
    params = _params(today) | {
        "period_starts": day_start(today - datetime.timedelta(days=int(rollup.DEFAULT_PERIOD) - 1)),
        "went_out": list(Invitation.WENT_OUT),
        "sla_starts": now - datetime.timedelta(hours=sla_hours),
        "days": [min(week + datetime.timedelta(days=6), today) for week in weeks],
    }
    answers = _rows(ROLLUP_ANSWERS, params)
    invitations = _rows(ROLLUP_INVITATIONS, params)
    replies = _rows(ROLLUP_REPLIES, params)
    trend = _rows(ROLLUP_TREND, params)
    by_kind = {}
    for _, _, kind, score, n in answers:
        by_kind.setdefault(kind, {}).setdefault(score, 0)
        by_kind[kind][score] += n
    return {
        "answers": by_kind,
        "sent": sum(row[2] for row in invitations),
        "answered": sum(row[3] for row in invitations),
        "low_scores": sum(row[4] for row in replies),
        "replied": sum(row[4] for row in replies if row[2] is not None),
        "trend": {day: (float(mean), n) for day, mean, n in trend},
    }


# ---- The account page ---------------------------------------------------------------------------

# The header (the account, its CSM and team, its parent and whether the viewer sees it, whether it has
# children; can_edit is the CSM's own account), the override in force, the top bar's unread count, and
# the check-in log (CHECKIN_LOG newest, with their CSM): one row per check-in, the rest repeated.
ACCOUNT_HEADER = """
SELECT a.id, a.name, a.segment, a.arr, a.renewal_date, a.status, a.lifecycle_stage, a.owner_id = %(viewer)s,
       owner.name, team.name, parent.name, parent.owner_id IN (SELECT id FROM accounts_user WHERE id = %(viewer)s
       OR team_id = %(team)s), EXISTS (SELECT 1 FROM accounts_account ch WHERE ch.parent_id = a.id),
       o.band, o.score, o.expires_on, o.reason, o.created_by,
       (SELECT count(*) FROM accounts_notification n WHERE n.user_id = %(viewer)s AND n.read_at IS NULL),
       c.date, c.next_checkin_on, c.sentiment, c.notes, c.csm
FROM accounts_account a
LEFT JOIN accounts_user owner ON owner.id = a.owner_id
LEFT JOIN accounts_team team ON team.id = owner.team_id
LEFT JOIN accounts_account parent ON parent.id = a.parent_id
LEFT JOIN LATERAL (
    SELECT ov.band, ov.score, ov.expires_on, ov.reason, u.name AS created_by FROM scoring_override ov
    LEFT JOIN accounts_user u ON u.id = ov.created_by_id
    WHERE ov.account_id = a.id AND ov.cleared_at IS NULL AND ov.expires_on >= %(today)s
      AND ov.created_at < %(tomorrow_starts)s
    ORDER BY ov.created_at DESC, ov.id DESC LIMIT 1) o ON true
LEFT JOIN LATERAL (
    SELECT ci.date, ci.next_checkin_on, ci.sentiment, ci.notes, u.name AS csm FROM accounts_checkin ci
    LEFT JOIN accounts_user u ON u.id = ci.csm_id
    WHERE ci.account_id = a.id ORDER BY ci.date DESC, ci.created_at DESC LIMIT %(checkins)s) c ON true
WHERE a.id = %(account)s AND a.owner_id IN (SELECT id FROM accounts_user WHERE id = %(viewer)s OR team_id = %(team)s)
"""

# The trend window's snapshots plus the latest and the one on or before the day compared with, with their
# breakdown and the thresholds of their model's current version; then the latest version's components.
ACCOUNT_SNAPSHOTS = """
WITH mine AS (SELECT id, date FROM scoring_healthsnapshot WHERE account_id = %(account)s)
SELECT hs.id, hs.date, hs.score, hs.band, hs.coverage, hs.components, hs.version_id,
       coalesce(cv.red_below, v.red_below), coalesce(cv.green_from, v.green_from)
FROM scoring_healthsnapshot hs
JOIN scoring_healthmodelversion v ON v.id = hs.version_id
JOIN scoring_healthmodel m ON m.id = v.model_id
LEFT JOIN scoring_healthmodelversion cv ON cv.id = m.current_version_id
WHERE hs.account_id = %(account)s AND (hs.date >= %(trend_start)s
    OR hs.id = (SELECT id FROM mine ORDER BY date DESC LIMIT 1)
    OR hs.id = (SELECT id FROM mine WHERE date <= %(since_day)s ORDER BY date DESC LIMIT 1))
ORDER BY hs.date
"""

ACCOUNT_COMPONENTS = """
SELECT c.id, c.label, c.input, c.reading, c.window_days, c.poor, c.good, c.weight, m.unit FROM scoring_component c
LEFT JOIN accounts_metricdefinition m ON m.id = c.metric_id WHERE c.version_id = %(version)s
"""

# Every answer from the earlier of the day after the compared day and the timeline's start, with its contact:
# the timeline, "since" and (in Python, the same rows) the survey figures of ACCOUNT_PERIOD.
ACCOUNT_ANSWERS = """
SELECT r.id, r.kind, r.score, r.comment, r.answered_at, r.feedback_status, ct.name, ct.email
FROM surveys_response r LEFT JOIN accounts_contact ct ON ct.id = r.contact_id
WHERE r.account_id = %(account)s AND r.answered_at >= %(answers_from)s
ORDER BY r.answered_at DESC, r.id DESC
"""

ACCOUNT_ALERTS = """
SELECT DISTINCT ON (key) key, title, body, created_at FROM accounts_notification
WHERE url = %(url)s AND created_at >= %(after_since)s ORDER BY key, created_at DESC, id DESC
"""

ACCOUNT_METRICS = """
SELECT d.id, d.key, d.label, d.unit, v.date, v.value FROM accounts_metricdefinition d
LEFT JOIN accounts_metricvalue v ON v.metric_id = d.id AND v.account_id = %(account)s AND v.date >= %(metric_start)s
ORDER BY d.label, d.id, v.date NULLS FIRST
"""

# The sections: contacts in use with their address's suppression, open tasks and the latest closed ones with
# their people, who may own a task, the renewals with the open one's calls, and the churn reasons the close
# form offers; one round trip.
ACCOUNT_SECTIONS = """
SELECT
  (SELECT json_agg(json_build_array(ct.id, ct.name, ct.email, ct.title, ct.is_primary, ct.opted_out_at, ct.bounced_at,
                                    s.opted_out_at, s.bounced_at, s.erased_at))
   FROM accounts_contact ct LEFT JOIN accounts_suppressedaddress s ON s.address_hash = ct.email_hash
   WHERE ct.account_id = %(account)s AND ct.archived_at IS NULL),
  (SELECT json_agg(json_build_array(t.id, t.title, t.status, t.due_on, t.priority, t.steps, u.name, rl.name))
   FROM (SELECT * FROM playbooks_task WHERE account_id = %(account)s AND status IN ('open', 'snoozed')
         ORDER BY due_on, id) t
   LEFT JOIN accounts_user u ON u.id = t.owner_id LEFT JOIN playbooks_rule rl ON rl.id = t.rule_id),
  (SELECT json_agg(json_build_array(t.id, t.title, t.status, t.closed_at, t.outcome, u.name))
   FROM (SELECT * FROM playbooks_task WHERE account_id = %(account)s AND status NOT IN ('open', 'snoozed')
         ORDER BY closed_at DESC, id DESC LIMIT %(closed_shown)s) t
   LEFT JOIN accounts_user u ON u.id = t.closed_by_id),
  (SELECT json_agg(json_build_array(u.id, u.name) ORDER BY u.name) FROM accounts_user u
   WHERE u.is_active AND (u.team_id = %(team)s OR u.role = 'admin' OR u.id = %(owner)s
       OR u.id IN (SELECT user_id FROM accounts_user_managed_teams WHERE team_id = %(team)s))),
  (SELECT json_agg(json_build_array(r.id, r.renewal_date, r.arr, r.outcome, r.new_arr, r.closed_on, cr.name)
                   ORDER BY r.renewal_date DESC, r.id DESC)
   FROM renewals_renewal r LEFT JOIN renewals_churnreason cr ON cr.id = r.churn_reason_id
   WHERE r.account_id = %(account)s),
  (SELECT json_agg(json_build_array(fc.id, fc.call, fc.made_on, fc.note, u.name)
                   ORDER BY fc.made_on DESC, fc.created_at DESC, fc.id DESC)
   FROM renewals_forecastcall fc JOIN renewals_renewal r ON r.id = fc.renewal_id AND r.outcome = ''
   LEFT JOIN accounts_user u ON u.id = fc.made_by_id WHERE r.account_id = %(account)s),
  (SELECT json_agg(json_build_array(cr.id, cr.name) ORDER BY cr.name) FROM renewals_churnreason cr
   WHERE cr.archived_at IS NULL)
"""


def account_floor(*, account_id: int, viewer_id: int, team_id: int | None, today: datetime.date) -> dict:
    """One account's page as its CSM sees it (/accounts/<id>/, compared with the last check-in).

    Reads, in seven statements (one more when the latest snapshot's version has components): the header with
    the override in force and the check-in log; the snapshots of the 12-month trend plus the latest and the
    one on or before the compared day, with their breakdowns and thresholds, and the latest version's
    components; every answer since the earlier of the compared day and the trend's start, whose rows also
    give the survey figures of ACCOUNT_PERIOD (n, categories, sums per kind, as score_aggregates); the alerts
    since the compared day, once per event; each metric's values since the sparkline's and the change's start;
    the contacts, tasks, task owners, renewals and calls of the sections. A parent's rollup of its children is
    not read: the benchmark's accounts have none (the floor refuses one that has).
    """
    params = _params(today) | {"account": account_id, "viewer": viewer_id, "team": team_id, "checkins": CHECKIN_LOG}
    header = _rows(ACCOUNT_HEADER, params)
    if not header:
        raise LookupError(f"account {account_id} is not in the viewer's scope")
    if header[0][12]:
        raise NotImplementedError("the floor does not read a parent's rollup")
    checkins = [row[19:] for row in header if row[19] is not None]
    last_checkin = next((row[0] for row in checkins if row[0] <= today), None)
    if last_checkin is not None:
        since_day = last_checkin
    else:
        since_day = today - datetime.timedelta(days=account_page.NO_CHECKIN_DAYS)
    trend_start = today - datetime.timedelta(days=account_page.TREND_DAYS)
    after_since = day_start(since_day + datetime.timedelta(days=1))
    sparkline_start = today - datetime.timedelta(days=account_page.METRIC_DAYS)
    params |= {
        "trend_start": trend_start,
        "since_day": since_day,
        "after_since": after_since,
        "answers_from": min(after_since, day_start(trend_start)),
        "url": f"/accounts/{account_id}/",
        "metric_start": min(
            account_page.metric_row_start(sparkline_start), account_page.metric_values_start(since_day)
        ),
        "owner": viewer_id,
        "closed_shown": 5,
    }
    snapshots = _rows(ACCOUNT_SNAPSHOTS, params)
    components = _rows(ACCOUNT_COMPONENTS, params | {"version": snapshots[-1][6]}) if snapshots else []
    answers = _rows(ACCOUNT_ANSWERS, params)
    period_starts = day_start(period_start(ACCOUNT_PERIOD, today))
    figures: dict[str, dict] = {}
    for _, kind, score, _, answered_at, *_ in answers:
        if answered_at >= period_starts:
            sums = figures.setdefault(kind, {"n": 0, "total": 0.0, "total_squares": 0.0, "high": 0, "low": 0})
            sums["n"] += 1
            sums["total"] += score
            sums["total_squares"] += score * score
            sums["high"] += score >= formulas.PROMOTER_MIN if kind == "nps" else 0
            sums["low"] += score <= formulas.DETRACTOR_MAX if kind == "nps" else 0
    alerts = _rows(ACCOUNT_ALERTS, params)
    metrics = _rows(ACCOUNT_METRICS, params)
    sections = _rows(ACCOUNT_SECTIONS, params)[0]
    return {
        "name": header[0][1],
        "checkins": len(checkins),
        "snapshots": len(snapshots),
        "latest_score": snapshots[-1][2] if snapshots else None,
        "components": len(components),
        "answers": len(answers),
        "survey_figures": figures,
        "alerts": len(alerts),
        "metric_values": sum(1 for row in metrics if row[4] is not None),
        "contacts": len(sections[0] or []),
        "open_tasks": len(sections[1] or []),
        "renewals": len(sections[4] or []),
    }
