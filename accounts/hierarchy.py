"""Reads of the account hierarchy (Account.parent), each one recursive query."""

from django.db import connection


def descendant_ids(account_ids: list[int]) -> set[int]:
    """Every account below these, at any depth (not the given ones)."""
    if not account_ids:
        return set()
    marks = ", ".join(["%s"] * len(account_ids))
    sql = f"""
        WITH RECURSIVE below(id) AS (
            SELECT id FROM accounts_account WHERE parent_id IN ({marks})
            UNION
            SELECT child.id FROM accounts_account child JOIN below ON child.parent_id = below.id
        )
        SELECT id FROM below
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, list(account_ids))
        return {row[0] for row in cursor.fetchall()} - set(account_ids)
