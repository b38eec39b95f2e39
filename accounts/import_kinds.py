"""What each kind of import job does with its files: accounts/services.py `import_job_run` runs every
job (progress, one transaction, the rejection report), and each kind says how its files are read and
written. The accounts app's kinds are here; an app above it registers its own in its AppConfig.ready(),
so the job runner never imports a higher app.
"""

from collections.abc import Callable
from dataclasses import dataclass

from accounts.account_import import account_import_apply, account_import_validate
from accounts.metric_import import metric_csv_validate, metric_values_upsert
from accounts.models import ImportJob, User


@dataclass(frozen=True)
class Prepared:
    """A job's files read whole: the bad rows (nothing is written when there are any), how many rows were
    read, and the write that imports them all, given who started the job."""

    errors: list
    rows_read: int
    apply: Callable[[User | None], dict]


# prepare(files, progress): a job's files are a dict of CSV texts by name; progress(rows done so far).
Prepare = Callable[[dict, Callable[[int], None]], Prepared]


def _metrics(files: dict, progress) -> Prepared:
    plan, errors = metric_csv_validate(files["metrics"])
    return Prepared(errors, plan.rows_read, lambda by: metric_values_upsert(plan=plan))


def _accounts(files: dict, progress) -> Prepared:
    plan = account_import_validate(
        accounts_csv=files.get("accounts"), contacts_csv=files.get("contacts"), progress=progress
    )
    return Prepared(plan.errors, plan.rows_read, lambda by: account_import_apply(plan=plan, by=by))


_KINDS: dict[str, Prepare] = {ImportJob.Kind.METRICS: _metrics, ImportJob.Kind.ACCOUNTS: _accounts}


def import_kind_register(kind: str, prepare: Prepare) -> None:
    """An app above accounts says how its kind of job is read and written (from its AppConfig.ready())."""
    _KINDS[kind] = prepare


def import_kind_prepare(kind: str, files: dict, progress: Callable[[int], None]) -> Prepared:
    return _KINDS[kind](files, progress)
