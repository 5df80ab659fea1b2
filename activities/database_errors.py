"""Database errors leave an activity as a short, retryable failure that names the problem.

Left as they are, SQLAlchemy's errors carry the SQL statement, its parameters (a bank account, for
a payment order) and a chain of driver exceptions: Temporal's failure then exceeds its size limit
and the operator reads "Failure exceeds size limit." instead of "connection refused", and the
parameters would reach the Temporal server unencrypted (failure messages are not payloads). This
worker interceptor keeps the driver's first line only; the retry policy (activities/policies.py)
is unchanged: the database being down is retried with backoff.
"""

from typing import Any

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

UNAVAILABLE = "DatabaseUnavailable"  # connection refused or lost, pool exhausted: retried
DATABASE_ERROR = "DatabaseError"  # anything else the database said: retried too (a deadlock, a serialization failure)


def short_reason(e: BaseException) -> str:
    """The driver's own first line (never the statement nor its parameters)."""
    orig = getattr(e, "orig", None) or e
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}"[:300]


def as_failure(e: BaseException) -> ApplicationError:
    lost = (
        isinstance(e, (DisconnectionError, PoolTimeout))
        or getattr(e, "connection_invalidated", False)
        or type(e).__name__ in ("OperationalError", "InterfaceError")
    )
    kind = UNAVAILABLE if lost else DATABASE_ERROR
    return ApplicationError(f"{'database unavailable' if lost else 'database error'}: {short_reason(e)}", type=kind)


class _Translate(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except (DBAPIError, DisconnectionError, PoolTimeout) as e:
            raise as_failure(e) from None


class DatabaseErrors(Interceptor):
    """Registered by worker.build_worker."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Translate(next)
