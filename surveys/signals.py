"""The signals the surveys app sends upward (lower apps never import higher ones).

answers_followed_up(sender, account_ids): new or changed answers of these accounts were followed
up (alerts sent, recompute marked), off the request. The playbooks app listens and evaluates its
answer rules (low scores) on those accounts.

contact_erased(sender, contact, personal): a contact's personal data is being erased, in the
erasure's transaction. `personal` is [(text, replacement)]: their name and address, and each of
their comments (whole and as its first 120 characters), for the apps above surveys that copied them
(the playbooks' task reasons).
"""

from django.dispatch import Signal

answers_followed_up = Signal()
contact_erased = Signal()
