"""The signal the scoring app sends upward (lower apps never import higher ones).

health_recomputed(sender, accounts, as_of): today's snapshots of these accounts (a queryset: one
chunk of the nightly run, the accounts whose inputs changed, or None for every account) were just
written. The playbooks app listens and
evaluates its health rules on them.
"""

from django.dispatch import Signal

health_recomputed = Signal()
