"""Metric values from the JSON API and from CSV uploads: validated whole, then upserted.

The same (account, metric, date) sent again replaces the value instead of adding a row.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.csvfiles import RowError, iso_date, read_rows
from accounts.models import Account, MetricDefinition, MetricValue
from accounts.signals import health_inputs_changed
from accounts.validators import date_problem

ITEM_FIELDS = ("account", "metric", "date", "value")
MAX_ABS_VALUE = 1e15


@dataclass
class ItemError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass
class MetricPlan:
    values: list[MetricValue] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    rows_read: int = 0


def _names(items: list[dict], field: str) -> set[str]:
    # PostgreSQL refuses NUL in a text parameter, and no name holds one: such a name is reported unknown.
    return {item[field] for item in items if isinstance(item.get(field), str) and "\x00" not in item[field]}


def metric_items_validate(items) -> MetricPlan:
    """Check every item of a list of {account, metric, date, value}; nothing is written.

    `account` is the account's external id, `metric` a metric definition's key.
    Dates more than a day in the future are refused (a clock or format mistake).
    """
    plan = MetricPlan()
    if not isinstance(items, list):
        plan.errors.append(ItemError(-1, "", "the body must be a JSON list of items"))
        return plan
    dict_items = [item if isinstance(item, dict) else {} for item in items]
    external_ids, keys = _names(dict_items, "account"), _names(dict_items, "metric")
    account_ids = dict(Account.objects.filter(external_id__in=external_ids).values_list("external_id", "pk"))
    metric_ids = dict(MetricDefinition.objects.filter(key__in=keys).values_list("key", "pk"))
    latest_allowed = timezone.localdate() + datetime.timedelta(days=1)
    now = timezone.now()
    seen: dict[tuple, int] = {}

    for index, item in enumerate(items):
        if not isinstance(item, dict):
            plan.errors.append(ItemError(index, "", "each item must be an object with account, metric, date, value"))
            continue
        item_errors = []
        if unknown := sorted(set(item) - set(ITEM_FIELDS)):
            item_errors.append(ItemError(index, unknown[0], f"unknown field(s): {', '.join(map(str, unknown))}"))
        account_id = account_ids.get(item["account"]) if isinstance(item.get("account"), str) else None
        if "account" not in item:
            item_errors.append(ItemError(index, "account", "missing: the account's external id"))
        elif account_id is None:
            item_errors.append(ItemError(index, "account", f"no account with external id {item['account']!r}"))
        metric_id = metric_ids.get(item["metric"]) if isinstance(item.get("metric"), str) else None
        if "metric" not in item:
            item_errors.append(ItemError(index, "metric", "missing: a metric key"))
        elif metric_id is None:
            item_errors.append(ItemError(index, "metric", f"no metric with key {item['metric']!r}"))
        date = iso_date(item.get("date"))
        if date is None:
            item_errors.append(ItemError(index, "date", f"{item.get('date')!r} is not a date in YYYY-MM-DD form"))
        elif date > latest_allowed:
            item_errors.append(ItemError(index, "date", f"{item['date']} is in the future"))
        elif problem := date_problem(date):
            item_errors.append(ItemError(index, "date", f"{item['date']} {problem}"))
        value = item.get("value")
        # Compared, not converted: math.isfinite raises OverflowError on an integer of 400 digits.
        if isinstance(value, bool) or not isinstance(value, int | float) or not -math.inf < value < math.inf:
            item_errors.append(ItemError(index, "value", f"{value!r} is not a number"))
        elif abs(value) > MAX_ABS_VALUE:
            item_errors.append(ItemError(index, "value", f"{value!r} is out of range"))
        if not item_errors:
            key = (account_id, metric_id, date)
            if key in seen:
                item_errors.append(ItemError(index, "date", f"same account, metric and date as item {seen[key]}"))
            seen[key] = index
        if item_errors:
            plan.errors.extend(item_errors)
        else:
            plan.values.append(
                MetricValue(account_id=account_id, metric_id=metric_id, date=date, value=float(value), updated_at=now)
            )
    return plan


@transaction.atomic
def metric_values_upsert(*, plan: MetricPlan) -> dict:
    """Write validated values; returns {'created': n, 'updated': n}."""
    assert not plan.errors, "a plan with errors must not be applied"
    if not plan.values:
        return {"created": 0, "updated": 0}
    keys = {(value.account_id, value.metric_id, value.date) for value in plan.values}
    existing = MetricValue.objects.filter(
        account_id__in={key[0] for key in keys},
        metric_id__in={key[1] for key in keys},
        date__range=(min(key[2] for key in keys), max(key[2] for key in keys)),
    ).values_list("account_id", "metric_id", "date")
    updated = sum(1 for key in existing.iterator(chunk_size=5000) if key in keys)
    MetricValue.objects.bulk_create(
        plan.values,
        update_conflicts=True,
        unique_fields=["account", "metric", "date"],
        update_fields=["value", "updated_at"],
        batch_size=2000,
    )
    # Marked inside the transaction: the marks are written with the values, or not at all.
    health_inputs_changed.send(sender=MetricValue, account_ids={value.account_id for value in plan.values})
    return {"created": len(plan.values) - updated, "updated": updated}


def metric_csv_validate(text: str) -> tuple[MetricPlan, list[RowError]]:
    """Read a metrics CSV (account, metric, date, value) into a plan; errors carry line numbers."""
    rows, errors = read_rows(text, file="metrics", required=set(ITEM_FIELDS), optional=set())
    items, lines = [], []
    for line, row in rows:
        lines.append(line)
        try:
            row["value"] = float(row["value"].replace(",", ""))
        except ValueError:
            pass  # the validator reports it as "not a number" with the original text
        items.append(row)
    plan = metric_items_validate(items)
    plan.rows_read = len(items)
    errors.extend(RowError("metrics", lines[error.index], error.message) for error in plan.errors)
    return plan, errors
