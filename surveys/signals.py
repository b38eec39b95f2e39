"""The signal the surveys app sends upward (lower apps never import higher ones).

answers_followed_up(sender, account_ids): new or changed answers of these accounts were followed
up (alerts sent, recompute marked), off the request. The playbooks app listens and evaluates its
answer rules (low scores) on those accounts.
"""

from django.dispatch import Signal

answers_followed_up = Signal()
