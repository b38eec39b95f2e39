"""The one signal the accounts app sends upward (see CONVENTIONS: lower apps never import higher ones).

health_inputs_changed(sender, account_ids): values that feed the health score changed for
these accounts (metric values here; survey answers in surveys.tasks). The scoring app
listens (scoring/apps.py) and recomputes those accounts shortly, debounced.
"""

from django.dispatch import Signal

health_inputs_changed = Signal()
