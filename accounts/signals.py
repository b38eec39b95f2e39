"""The signals the accounts app sends upward (see CONVENTIONS: lower apps never import higher ones).

health_inputs_changed(sender, account_ids): values that feed the health score changed for
these accounts (metric values here; survey answers in surveys.tasks). The scoring app
listens (scoring/apps.py) and recomputes those accounts shortly, debounced.

account_edited(sender, account, by): a person saved the account (its form, the Django admin).
The renewals app keeps the account's open renewal on its renewal date.
"""

from django.dispatch import Signal

health_inputs_changed = Signal()
account_edited = Signal()
