"""PostgreSQL backend that rides out a server restart (a restart, a failover, a proxy reconnecting).

Three things, each safe on its own:
- A connection attempt that fails is tried again with a short backoff, for DB_CONNECT_RETRY_SECONDS
  in all, so work that arrives while the server is down waits for it instead of failing.
- Before a connection is used outside a transaction, a socket the server has written to while it was
  idle (the "terminating connection" notice of a restart) is health-checked and replaced: a statement
  is never sent down a connection the server has already ended.
- A SELECT outside a transaction whose connection broke under it is run once more on a new
  connection: nothing was written, so repeating it changes nothing. Anything else (a write, or any
  statement in a transaction) raises, since it may have committed or its transaction is gone.
  So a SELECT with a side effect (nextval, an advisory lock, set_config) belongs in a transaction,
  and a read repeated this way is read whole (a server-side cursor of `.iterator()` is not kept).
"""

import select
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper
from psycopg import OperationalError as PsycopgOperationalError
from psycopg.pq import TransactionStatus

FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 0.5


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        deadline = time.monotonic() + settings.DB_CONNECT_RETRY_SECONDS
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            try:
                return super().get_new_connection(conn_params)
            except PsycopgOperationalError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                time.sleep(min(backoff, remaining))
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def ensure_connection(self):
        if self.connection is not None and not self.in_atomic_block and self._ended_by_server():
            self.close()
        super().ensure_connection()

    def _ended_by_server(self) -> bool:
        """An idle connection has nothing to read; if it has, the server said something (usually goodbye)."""
        if self.connection.closed:
            return True
        if self.connection.info.transaction_status != TransactionStatus.IDLE:
            return False
        readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        return bool(readable) and not self.is_usable()

    def may_repeat(self, sql: str) -> bool:
        """Whether a statement that failed with the connection can be run again on a new one."""
        return (
            not self.in_atomic_block
            and self.autocommit
            and sql.lstrip().upper().startswith("SELECT")
            and not self.is_usable()
        )

    def make_cursor(self, cursor):
        return RepeatingCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return RepeatingCursorDebugWrapper(cursor, self)


class RepeatingMixin:
    """Runs a read once more on a new connection when the old one broke under it (see DatabaseWrapper)."""

    def _execute(self, sql, params, *ignored_wrapper_args):
        try:
            return super()._execute(sql, params, *ignored_wrapper_args)
        except (OperationalError, InterfaceError):
            if not self.db.may_repeat(sql):
                raise
        self.db.close()
        self.cursor = self.db._cursor().cursor
        return super()._execute(sql, params, *ignored_wrapper_args)


class RepeatingCursorWrapper(RepeatingMixin, CursorWrapper):
    pass


class RepeatingCursorDebugWrapper(RepeatingMixin, base.CursorDebugWrapper):
    pass
