"""The signals the accounts app sends upward (see CONVENTIONS: lower apps never import higher ones).

health_inputs_changed(sender, account_ids): values that feed the health score changed for
these accounts (metric values here; survey answers in surveys.tasks). The scoring app
listens (scoring/apps.py) and recomputes those accounts shortly, debounced.

account_edited(sender, account, by): a person saved the account (its form, the Django admin).
The renewals app keeps the account's open renewal on its renewal date.

renewal_dates_changed(sender, account_ids): the accounts import changed these accounts' renewal
dates (or created them with one). The renewals app does for all of them at once what account_edited
does for one.

accounts_churned(sender, churns, by): these accounts churned (accounts/churn.py account_churn, the only
writer): `churns` is {account id: Churn(on, reason)}, `by` the user who churned them or None. The
renewals app closes their open renewals as churned on that day, with the churn reason named like
the reason (else "Other").
"""

from django.dispatch import Signal

health_inputs_changed = Signal()
account_edited = Signal()
renewal_dates_changed = Signal()
accounts_churned = Signal()
