"""Reads that views share: lists and pages of accounts, always scoped to the user."""

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum

from accounts.models import Account, Contact, ImportJob, SuppressedAddress, Team, User

ACCOUNT_SORTS = {
    "name": "name",
    "owner": "owner__name",
    "segment": "segment",
    "arr": "arr",
    "renewal": "renewal_date",
    "last_checkin": "last_checkin",
}


def account_list(
    *,
    user: User,
    query: str = "",
    owner: User | None = None,
    segment: str = "",
    status: str = "",
    sort: str = "name",
    descending: bool = False,
):
    """Accounts the user may see, filtered and sorted, with their last check-in date; one query."""
    accounts = (
        Account.objects.visible_to(user)
        .select_related("owner")
        .annotate(
            last_checkin=Max("checkins__date"),
            contact_count=Count("contacts", filter=Q(contacts__archived_at__isnull=True), distinct=True),
        )
    )
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(external_id__iexact=query))
    if owner is not None:
        accounts = accounts.filter(owner=owner)
    if segment:
        accounts = accounts.filter(segment=segment)
    if status:
        accounts = accounts.filter(status=status)
    column = F(ACCOUNT_SORTS.get(sort, "name"))
    ordering = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return accounts.order_by(ordering, "name", "pk")


def people_in_scope(user: User):
    """The CSMs (and managers) whose accounts this user can see, for filters."""
    people = User.objects.filter(is_active=True).exclude(role=User.Role.ADMIN)
    if user.role == User.Role.ADMIN:
        return people
    if user.role == User.Role.MANAGER:
        return people.filter(team__in=user.managed_teams.all())
    if user.team_id is None:
        return people.filter(pk=user.pk)
    return people.filter(team_id=user.team_id)


def account_contacts(account: Account):
    """The account's contacts in use (not archived), each with its address's suppression dates
    (`suppressed_opted_out_at`, `suppressed_bounced_at`, `suppressed_erased_at`): one query."""
    entry = SuppressedAddress.objects.filter(address_hash=OuterRef("email_hash"))
    return (
        Contact.objects.active()
        .filter(account=account)
        .annotate(
            **{
                f"suppressed_{field}": Subquery(entry.values(field)[:1])
                for field in ("opted_out_at", "bounced_at", "erased_at")
            }
        )
    )


def account_archived_contacts(account: Account):
    """The account's archived contacts whose personal data is not yet erased (admins erase from this list)."""
    return (
        Contact.objects.filter(account=account, archived_at__isnull=False, erasure__isnull=True)
        .select_related("archived_by")
        .order_by("-archived_at")
    )


def people_list(*, user: User, status: str = "active"):
    """The people an admin manages (everyone) or a manager sees (their teams' members), with how many
    accounts each owns and their ARR; one query plus one for the teams managed."""
    people = (
        User.objects.select_related("team")
        .prefetch_related("managed_teams")
        .annotate(account_count=Count("accounts", distinct=True), account_arr=Sum("accounts__arr"))
        .order_by("name", "pk")
    )
    if status == "active":
        people = people.filter(is_active=True)
    elif status == "inactive":
        people = people.filter(is_active=False)
    if user.is_admin:
        return people
    if user.is_manager:
        return people.filter(team__in=user.managed_teams.all())
    return people.none()


def teams_in_scope(user: User):
    """The teams an admin manages (all) or a manager sees (theirs), each with its active member count."""
    teams = Team.objects.annotate(member_count=Count("members", filter=Q(members__is_active=True)))
    if user.is_admin:
        return teams
    if user.is_manager:
        return teams.filter(pk__in=user.managed_teams.values("pk"))
    return teams.none()


def recent_imports(kind: str, *, limit: int = 10):
    """The latest import jobs of one kind, with who started them, for the import pages."""
    return ImportJob.objects.filter(kind=kind).defer("files", "errors_csv").select_related("created_by")[:limit]
