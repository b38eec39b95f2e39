"""The passes that notice a signal evaluate the rules of its triggers (see playbooks/apps.py).

Both run inside background work already (the recompute, the answers' follow-up); a rule that fails
is logged by rules_evaluate and never fails the pass that called it.
"""

from playbooks.services import tasks_contact_erase, tasks_for_answers, tasks_for_health


def health_recomputed(sender, accounts, as_of, **kwargs):
    tasks_for_health(accounts=accounts, as_of=as_of)


def answers_followed_up(sender, account_ids, **kwargs):
    tasks_for_answers(account_ids=account_ids)


def contact_erased(sender, contact, personal, **kwargs):
    tasks_contact_erase(account_id=contact.account_id, personal=personal)
