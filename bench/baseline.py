"""The yardstick for the recompute: one hand-written PostgreSQL query that computes the same raw
component values as the default model (each contact's latest NPS and CSAT answer in the window,
seat usage mean, tickets sum, latest billing overdue, latest check-in sentiment) for every active
account, fetched into Python. No normalising, no writing: the cheapest the inputs can be read.
"""

import time

from django.db import connection

from scoring.models import HealthModel

SQL = """
WITH nps AS (
    SELECT account_id, count(*) AS n,
           100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(*) AS raw
    FROM (SELECT DISTINCT ON (account_id, contact_id) account_id, contact_id, score
          FROM surveys_response
          WHERE kind = 'nps' AND answered_at >= current_date - %(nps_days)s + 1 AND answered_at < current_date + 1
          ORDER BY account_id, contact_id, answered_at DESC) latest
    GROUP BY account_id
), csat AS (
    SELECT account_id, count(*) AS n, 100.0 * count(*) FILTER (WHERE score >= 4) / count(*) AS raw
    FROM (SELECT DISTINCT ON (account_id, contact_id) account_id, contact_id, score
          FROM surveys_response
          WHERE kind = 'csat' AND answered_at >= current_date - %(csat_days)s + 1 AND answered_at < current_date + 1
          ORDER BY account_id, contact_id, answered_at DESC) latest
    GROUP BY account_id
), usage AS (
    SELECT account_id, avg(value) AS raw, count(*) AS n FROM accounts_metricvalue
    WHERE metric_id = %(usage)s AND date > current_date - %(usage_days)s AND date <= current_date
    GROUP BY account_id
), tickets AS (
    SELECT account_id, sum(value) AS raw, count(*) AS n FROM accounts_metricvalue
    WHERE metric_id = %(tickets)s AND date > current_date - %(tickets_days)s AND date <= current_date
    GROUP BY account_id
), billing AS (
    SELECT DISTINCT ON (account_id) account_id, value AS raw FROM accounts_metricvalue
    WHERE metric_id = %(billing)s AND date > current_date - %(billing_days)s AND date <= current_date
    ORDER BY account_id, date DESC
), sentiment AS (
    SELECT DISTINCT ON (account_id) account_id, sentiment AS raw FROM accounts_checkin
    WHERE date > current_date - %(sentiment_days)s AND date <= current_date
    ORDER BY account_id, date DESC, id DESC
)
SELECT a.id, nps.raw, nps.n, usage.raw, tickets.raw, billing.raw, csat.raw, csat.n, sentiment.raw
FROM accounts_account a
LEFT JOIN nps ON nps.account_id = a.id
LEFT JOIN csat ON csat.account_id = a.id
LEFT JOIN usage ON usage.account_id = a.id
LEFT JOIN tickets ON tickets.account_id = a.id
LEFT JOIN billing ON billing.account_id = a.id
LEFT JOIN sentiment ON sentiment.account_id = a.id
WHERE a.status = 'active'
"""


def parameters() -> dict:
    """The windows and metrics of the default model, so both sides compute the same thing."""
    components = HealthModel.objects.get(segment="").current_version.components.select_related("metric")
    by_label = {component.label: component for component in components}
    return {
        "nps_days": by_label["NPS"].window_days,
        "csat_days": by_label["CSAT"].window_days,
        "usage": by_label["Seat usage"].metric_id,
        "usage_days": by_label["Seat usage"].window_days,
        "tickets": by_label["Support tickets"].metric_id,
        "tickets_days": by_label["Support tickets"].window_days,
        "billing": by_label["Billing"].metric_id,
        "billing_days": by_label["Billing"].window_days,
        "sentiment_days": by_label["Check-in sentiment"].window_days,
    }


def baseline_seconds() -> float:
    values = parameters()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SQL, values)
        rows = cursor.fetchall()
    assert rows
    return time.perf_counter() - started
