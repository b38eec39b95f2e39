"""People and teams pages (Setup → People, Teams, Company).

Admins change everything here; managers read their teams' members; CSMs see none of it. A page
outside someone's scope answers 404, like every admin page (permissions.admin_required).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts import people
from accounts.company import company_name, company_settings
from accounts.models import AuditEntry, Team, User
from accounts.people_forms import CompanyForm, FirstPasswordForm, InviteForm, PersonForm, ReassignForm, TeamForm
from accounts.permissions import admin_required
from accounts.selectors import people_list, teams_in_scope
from core.htmx import INVALID, form_status

AUDIT_SHOWN = 50
STATUSES = [("active", "Active"), ("inactive", "Deactivated"), ("all", "Everyone")]


def _admin_or_manager(user: User) -> None:
    if not (user.is_admin or user.is_manager):
        raise Http404


def _person_in_scope(request, person_id) -> User:
    _admin_or_manager(request.user)
    return get_object_or_404(people_list(user=request.user, status="all"), pk=person_id)


def _errors_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
def person_list(request):
    _admin_or_manager(request.user)
    status = request.GET.get("status") if request.GET.get("status") in dict(STATUSES) else "active"
    context = {
        "people": people_list(user=request.user, status=status),
        "status": status,
        "statuses": STATUSES,
    }
    return render(request, "accounts/people/list.html", context)


@admin_required
def person_invite(request):
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        person = people.person_invite(by=request.user, **form.cleaned_data)
        messages.success(request, f"Invitation sent to {person.email}. The link works once and expires.")
        return redirect(person)
    context = {"form": form, "invite_days": settings.PASSWORD_RESET_TIMEOUT // 86400}
    return render(request, "accounts/people/invite.html", context, status=form_status(form))


def _person_page(request, person: User, *, form=None, status=200):
    context = {
        "person": person,
        "form": form,
        "invited": people.is_invited(person),
        "invite_expires_at": people.invite_expires_at(person),
        "owned": people.owned_totals(person),
        "audit": AuditEntry.objects.filter(user=person).select_related("actor")[:AUDIT_SHOWN],
    }
    return render(request, "accounts/people/detail.html", context, status=status)


@login_required
def person_detail(request, person_id):
    person = _person_in_scope(request, person_id)
    if not request.user.is_admin:
        return _person_page(request, person)  # managers read
    form = PersonForm(request.POST if request.method == "POST" else None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            changed = people.person_change(person=person, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Saved." if changed else "Nothing changed.")
            return redirect(person)
    return _person_page(request, person, form=form, status=form_status(form))


def _admin_person(person_id) -> User:
    return get_object_or_404(User.objects.select_related("team"), pk=person_id)


def _refused(request, person: User, error: ValidationError):
    messages.error(request, _errors_text(error))
    return _person_page(request, person, form=PersonForm(person=person), status=INVALID)


@admin_required
@require_POST
def invite_resend(request, person_id):
    person = _admin_person(person_id)
    try:
        people.invite_resend(person=person, by=request.user)
    except ValidationError as error:
        return _refused(request, person, error)
    messages.success(request, f"A new invitation went to {person.email}.")
    return redirect(person)


@admin_required
@require_POST
def person_deactivate(request, person_id):
    person = _admin_person(person_id)
    try:
        ended = people.person_deactivate(person=person, by=request.user)
    except ValidationError as error:
        return _refused(request, person, error)
    messages.success(
        request,
        f"{person} is deactivated: {ended['sessions']} session(s) ended, {ended['tokens']} API token(s) revoked. "
        "Their accounts are still theirs: reassign them below.",
    )
    return redirect(person)


@admin_required
@require_POST
def person_reactivate(request, person_id):
    person = _admin_person(person_id)
    people.person_reactivate(person=person, by=request.user)
    messages.success(request, f"{person} can log in again.")
    return redirect(person)


@admin_required
def accounts_reassign(request, person_id):
    """One action: pick who gets the accounts, see exactly what moves where, then confirm."""
    person = _admin_person(person_id)
    form = ReassignForm(request.POST if request.method == "POST" else None, person=person)
    plan = None
    if request.method == "POST" and form.is_valid():
        targets = list(form.cleaned_data["targets"])
        if "confirm" in request.POST:
            summary = people.accounts_reassign(person=person, by=request.user, targets=targets)
            moved = ", ".join(f"{entry['count']} to {entry['user']}" for entry in summary)
            messages.success(request, f"Accounts of {person} reassigned: {moved or 'none to move'}.")
            return redirect(person)
        plan = people.reassign_plan(person=person, targets=targets)
    context = {
        "person": person,
        "form": form,
        "owned": people.owned_totals(person),
        "accounts": person.accounts.order_by("-arr", "name"),
        "plan": plan,
        "plan_summary": people.plan_summary(plan) if plan else [],
    }
    return render(request, "accounts/people/reassign.html", context, status=form_status(form))


@login_required
def team_list(request):
    _admin_or_manager(request.user)
    form = TeamForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not request.user.is_admin:
            raise Http404
        if form.is_valid():
            team = people.team_create(by=request.user, name=form.cleaned_data["name"])
            messages.success(request, f"Team {team} created.")
            return redirect("accounts:teams")
    context = {"teams": teams_in_scope(request.user), "form": form if request.user.is_admin else None}
    return render(request, "accounts/people/teams.html", context, status=form_status(form))


@login_required
def team_detail(request, team_id):
    _admin_or_manager(request.user)
    team = get_object_or_404(teams_in_scope(request.user), pk=team_id)
    form = None
    if request.user.is_admin:
        # A copy as instance: a refused name must not become the page's heading.
        form = TeamForm(request.POST if request.method == "POST" else None, instance=Team(pk=team.pk, name=team.name))
        if request.method == "POST" and form.is_valid():
            renamed = people.team_rename(team=team, by=request.user, **form.cleaned_data)
            messages.success(request, "Team renamed." if renamed else "Nothing changed.")
            return redirect(team)
    elif request.method == "POST":
        raise Http404
    context = {
        "team": team,
        "form": form,
        "members": team.members.select_related("team").order_by("-is_active", "name"),
        "managers": team.managers.filter(is_active=True),
        "audit": AuditEntry.objects.filter(team=team).select_related("actor")[:AUDIT_SHOWN],
    }
    return render(request, "accounts/people/team.html", context, status=form_status(form) if form else 200)


@admin_required
@require_POST
def team_archive(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    archived = "restore" not in request.POST
    people.team_archive(team=team, by=request.user, archived=archived)
    if archived:
        messages.success(request, f"{team} archived. Its members stay in it; it is no longer offered for new people.")
    else:
        messages.success(request, f"{team} restored.")
    return redirect(team)


@admin_required
def company(request):
    row = company_settings()
    form = CompanyForm(request.POST if request.method == "POST" else None, instance=row)
    if request.method == "POST" and form.is_valid():
        people.company_name_set(by=request.user, name=form.cleaned_data["company_name"])
        messages.success(request, f"Surveys now ask about {company_name()}.")
        return redirect("accounts:company")
    context = {
        "form": form,
        "company_name": company_name(),
        "audit": AuditEntry.objects.filter(action=AuditEntry.Action.COMPANY_RENAMED).select_related("actor")[:10],
    }
    return render(request, "accounts/people/company.html", context, status=form_status(form))


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """The invitation's set-password page: Django's reset confirmation, worded for a first password."""

    form_class = FirstPasswordForm
    template_name = "accounts/people/invite_accept.html"
    token_generator = people.invitation_tokens
    success_url = reverse_lazy("login")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set: log in with your email and your new password.")
        return response
