"""Churning accounts: the one write every route takes (the account form and the Django admin, closing a
renewal, both imports), so an account never churns without the accounts below it and its open renewal.

A contract is the group's: when an account churns, every active account below it (accounts/hierarchy.py,
any depth) churns with it, on its day and for its reason. The renewals app closes the open renewals of
every churned account through the `accounts_churned` signal (accounts/signals.py).
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, CharField, Count, DateField, Q, Value, When
from django.utils import timezone

from accounts.hierarchy import descendant_ids, descendant_parents
from accounts.models import Account, User
from accounts.signals import accounts_churned, health_inputs_changed

CHUNK = 5000  # ids per statement: well under SQLite's limit on parameters, with two per id
NOT_YOURS_BELOW = (
    "{outside} of the {below} accounts below this one {verb} not yours to edit, and churning it churns them too: "
    "ask their team's manager or an admin to churn it."
)


@dataclass(frozen=True)
class Churn:
    """The day an account churned and why (free text; the renewals app matches it to a churn reason)."""

    on: datetime.date
    reason: str


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _by_group(churns: Mapping[int, Churn], ids: list[int], value: Callable[[Churn], object], field) -> Case:
    """One CASE with a WHEN per distinct value (not per account): an import's thousands of rows share few days."""
    groups: dict[object, list[int]] = defaultdict(list)
    for pk in ids:
        groups[value(churns[pk])].append(pk)
    return Case(*[When(pk__in=pks, then=Value(shared)) for shared, pks in groups.items()], output_field=field)


@transaction.atomic
def account_churn(*, churns: Mapping[int, Churn], by: User | None) -> dict[int, Churn]:
    """Churn the given accounts ({id: Churn}) and every active account below them; returns who churned, how.

    The caller decides that the given accounts churn (whatever their status now); an account below takes
    the day and reason of its nearest given ancestor. Each churned account loses its renewal date. One
    recursive read of the subtrees, one read of which of them are active, one UPDATE per 5,000 accounts;
    then `accounts_churned` (the renewals app closes their open renewals) and `health_inputs_changed`
    (only active accounts are scored).
    """
    if not churns:
        return {}
    parents = descendant_parents(churns)
    below = sorted(parents)
    active_below = set()
    for chunk in _chunks(below):
        active = Account.objects.filter(pk__in=chunk, status=Account.Status.ACTIVE).select_for_update()
        active_below.update(active.values_list("pk", flat=True))
    inherited = dict(churns)
    for pk in below:
        chain, node = [], pk
        while node not in inherited:  # up to the nearest given account, which every subtree starts from
            chain.append(node)
            node = parents[node]
        for link in chain:
            inherited[link] = inherited[node]
    churned = {pk: churn for pk, churn in inherited.items() if pk in churns or pk in active_below}
    now = timezone.now()
    for chunk in _chunks(sorted(churned)):
        Account.objects.filter(pk__in=chunk).update(
            status=Account.Status.CHURNED,
            churned_on=_by_group(churned, chunk, lambda churn: churn.on, DateField()),
            churn_reason=_by_group(churned, chunk, lambda churn: churn.reason, CharField()),
            renewal_date=None,
            updated_at=now,
        )
    accounts_churned.send(sender=Account, churns=churned, by=by)
    health_inputs_changed.send(sender=Account, account_ids=list(churned))
    return churned


@dataclass(frozen=True)
class ChurnReach:
    """What churning an account takes with it: the active accounts below it, and how many a user may not edit."""

    below: int
    outside: int

    @property
    def problem(self) -> str | None:
        """Why the user may not churn the account (another team's accounts would churn with it), or None."""
        if not self.outside:
            return None
        return NOT_YOURS_BELOW.format(outside=self.outside, below=self.below, verb="is" if self.outside == 1 else "are")


def churn_reach(*, account: Account, user: User) -> ChurnReach:
    """The active accounts below `account` that would churn with it, and how many `user` may not edit.

    Two queries (the subtree, then one count of both), or one for an account without children. Only counts
    are given: the names of accounts outside the user's scope are not theirs to read.
    """
    below = descendant_ids([account.pk])
    if not below:
        return ChurnReach(below=0, outside=0)
    editable = Account.objects.editable_by(user).values("pk")
    counts = Account.objects.filter(pk__in=below, status=Account.Status.ACTIVE).aggregate(
        below=Count("pk"), outside=Count("pk", filter=~Q(pk__in=editable))
    )
    return ChurnReach(below=counts["below"], outside=counts["outside"])
