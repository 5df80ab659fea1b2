"""Timeouts and retry policies of every activity, in one place.

Database writes are short and idempotent, so they retry with backoff for a long time (a
database that is briefly unreachable must not lose a decision); business refusals are raised
as non-retryable ApplicationErrors of the types below and never retried.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

NON_RETRYABLE = ["AwardExceeded", "AwardBelowPaid", "DuplicateApplication", "ValidationError"]

DB_WRITE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,  # unlimited, bounded by schedule_to_close below
    non_retryable_error_types=NON_RETRYABLE,
)


@dataclass(frozen=True)
class ActivityPolicy:
    start_to_close: timedelta
    schedule_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None  # long activities report progress; a silent one is retried


# A database write: seconds to run, retried for up to a day before the workflow hears of it.
STORE = ActivityPolicy(timedelta(seconds=30), timedelta(days=1), DB_WRITE)
# Talking to the payment system: the same, with its own name so it can diverge.
PAYMENT = ActivityPolicy(timedelta(seconds=60), timedelta(days=1), DB_WRITE)

# The committee over an edition's database (10,000 applications): minutes, not seconds.
COMMITTEE = ActivityPolicy(timedelta(minutes=10), timedelta(days=1), DB_WRITE)
# Sending an edition's decisions to its applications: long, with progress heartbeats; a retry
# sends only the decisions not yet marked sent.
SEND_DECISIONS = ActivityPolicy(timedelta(hours=2), timedelta(days=1), DB_WRITE, heartbeat=timedelta(minutes=2))

POLICIES: dict[str, ActivityPolicy] = {
    "create_payment_order": PAYMENT,
    "retry_payment_order": PAYMENT,
    "propose_selection": COMMITTEE,
    "promote_waitlist": COMMITTEE,
    "edition_report": COMMITTEE,
    "send_decisions": SEND_DECISIONS,
}


def policy_for(activity_name: str) -> ActivityPolicy:
    return POLICIES.get(activity_name, STORE)
