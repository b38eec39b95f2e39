"""Demo data for Setup: the company the surveys ask about, and one invitation not yet accepted.

Both go through the same services as the pages, so the demo's history and outbox show them. The
invitation is an email: it is made only when email goes to the local outbox, never to a real server.
"""

from accounts.company import company_settings
from accounts.models import Team, User
from accounts.outbox import outbox_enabled
from accounts.people import company_name_set, person_invite

DEMO_COMPANY = "Northwind Cloud"
INVITED = ("jordan.reyes@example.com", "Jordan Reyes", "EMEA")


def seed_setup() -> dict:
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        return {}
    counts = {"company name": 0, "user invitations": 0}
    if not company_settings().company_name:
        counts["company name"] = int(company_name_set(by=admin, name=DEMO_COMPANY))
    email, name, team = INVITED
    if outbox_enabled() and not User.objects.filter(email=email).exists():
        person_invite(
            by=admin, email=email, name=name, role=User.Role.CSM, team=Team.objects.get(name=team), managed_teams=[]
        )
        counts["user invitations"] = 1
    return counts
