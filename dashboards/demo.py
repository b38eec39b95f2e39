"""Demo data for the dashboards: check-ins due today and tomorrow for the demo CSM, and their morning email on.

So the account page's "since the last check-in" and the morning email have something to show on the
day the demo is seeded. Running it again changes nothing new: the same accounts get the same dates.
"""

import datetime

from django.db.models import OuterRef, Subquery

from accounts.models import Account, CheckIn, User

DEMO_CSM = "csm@example.com"
DUE_TODAY = 2
DUE_TOMORROW = 1


def seed_dashboards(*, today: datetime.date) -> dict:
    """Plan the demo CSM's next check-ins (two today, one tomorrow) and turn their morning email on."""
    csm = User.objects.filter(email=DEMO_CSM).first()
    if csm is None:
        return {"check-ins planned": 0}
    latest = CheckIn.objects.filter(account=OuterRef("pk")).order_by("-date", "-created_at")
    accounts = list(
        Account.objects.filter(owner=csm, status=Account.Status.ACTIVE)
        .annotate(latest_id=Subquery(latest.values("pk")[:1]), latest_on=Subquery(latest.values("date")[:1]))
        .filter(latest_on__lt=today)
        .order_by("name", "pk")
    )
    # Prefer accounts last seen two to eight weeks ago: long enough for something to have changed.
    window = (today - datetime.timedelta(days=56), today - datetime.timedelta(days=14))
    accounts.sort(key=lambda account: not window[0] <= account.latest_on <= window[1])
    picked = [account.latest_id for account in accounts[: DUE_TODAY + DUE_TOMORROW]]
    planned = 0
    for position, checkin_id in enumerate(picked):
        day = today if position < DUE_TODAY else today + datetime.timedelta(days=1)
        planned += CheckIn.objects.filter(pk=checkin_id).exclude(next_checkin_on=day).update(next_checkin_on=day)
    User.objects.filter(pk=csm.pk).update(morning_email=True)
    return {"check-ins planned": planned}
