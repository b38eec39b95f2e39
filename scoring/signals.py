"""The signal the scoring app sends upward (lower apps never import higher ones).

health_recomputed(sender, accounts, as_of): today's snapshots of these accounts (a queryset;
every active account after the nightly run) were just written. The playbooks app listens and
evaluates its health rules on them.
"""

from django.dispatch import Signal

health_recomputed = Signal()
