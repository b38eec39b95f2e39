"""Reads of the account hierarchy (`Account.parent`, any depth): each one recursive query.

Every read is set-based: one `WITH RECURSIVE` over the accounts table for any number of starting
accounts, never a query per child. The SQL is the common part of SQLite and PostgreSQL. `UNION`
(not `UNION ALL`) drops rows already found, so a read ends even if a cycle ever got in by a path
that skips validation.

Writers refuse cycles with `parent_problem` (the model's clean, so the app's form and the Django
admin) or, for a whole file, with `accounts.account_import`, which walks the file's edges over
`ancestor_parents`.
"""

from collections.abc import Iterable

from django.db import connection

from accounts.models import Account

CYCLE = "{parent} is under {account} in the hierarchy: an account can't be its own ancestor."
OWN_PARENT = "An account can't be its own parent."


def _run(sql: str, ids: list[int]) -> list[tuple[int, int | None]]:
    table = connection.ops.quote_name(Account._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table, ids=marks), ids)
        return cursor.fetchall()


_DESCENDANTS = """
WITH RECURSIVE tree(id, parent_id) AS (
    SELECT id, parent_id FROM {table} WHERE parent_id IN ({ids})
    UNION
    SELECT child.id, child.parent_id FROM {table} child JOIN tree ON child.parent_id = tree.id
)
SELECT id, parent_id FROM tree
"""

_ANCESTORS = """
WITH RECURSIVE up(id, parent_id) AS (
    SELECT id, parent_id FROM {table} WHERE id IN ({ids})
    UNION
    SELECT above.id, above.parent_id FROM {table} above JOIN up ON above.id = up.parent_id
)
SELECT id, parent_id FROM up
"""


def _ids(account_ids: Iterable[int]) -> list[int]:
    return sorted({int(pk) for pk in account_ids})


def descendant_parents(account_ids: Iterable[int]) -> dict[int, int]:
    """{descendant id: its parent id} of every account under the given ones, at any depth; one query.

    The given accounts themselves are left out (even when one is under another given one).
    """
    ids = _ids(account_ids)
    if not ids:
        return {}
    given = set(ids)
    return {pk: parent for pk, parent in _run(_DESCENDANTS, ids) if pk not in given}


def descendant_ids(account_ids: Iterable[int]) -> set[int]:
    """The ids of every account under the given ones, at any depth, without the given ones; one query."""
    return set(descendant_parents(account_ids))


def ancestor_parents(account_ids: Iterable[int]) -> dict[int, int | None]:
    """{id: parent id} of the given accounts and every account above them, up to the top; one query."""
    ids = _ids(account_ids)
    if not ids:
        return {}
    return dict(_run(_ANCESTORS, ids))


def ancestor_ids(account_id: int) -> list[int]:
    """The account's parent, its parent's parent, … up to the top, nearest first; one query."""
    parents = ancestor_parents([account_id])
    chain, seen = [], {account_id}
    node = parents.get(account_id)
    while node is not None and node not in seen:
        chain.append(node)
        seen.add(node)
        node = parents.get(node)
    return chain


def would_cycle(*, account_id: int | None, parent_id: int | None) -> bool:
    """Would giving the account this parent make it its own ancestor? A new account (no id) never can."""
    if account_id is None or parent_id is None:
        return False
    return parent_id == account_id or account_id in ancestor_ids(parent_id)


def parent_problem(account: Account) -> str | None:
    """Why the account can't have its parent (the message for the form's field), or None."""
    if account.parent_id is None or account.pk is None:
        return None
    if account.parent_id == account.pk:
        return OWN_PARENT
    if would_cycle(account_id=account.pk, parent_id=account.parent_id):
        parent = Account.objects.filter(pk=account.parent_id).values_list("name", flat=True).first()
        return CYCLE.format(parent=parent or "This account", account=account.name or "this account")
    return None
