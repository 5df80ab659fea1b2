"""Timeouts, retry policies, heartbeats and non-retryable errors of every activity, in one place.

Both workflows schedule every activity through `policy_for(name)`; tests/activities/test_policies.py checks
that this table says what the code does, for every activity the worker registers.

| policy | activities | start-to-close | schedule-to-close | heartbeat | retries (first wait, ×, longest wait, attempts) |
|---|---|---|---|---|---|
| STORE | `record_submission`, `record_stage`, `check_eligibility`, `add_documents`, `record_review`, `assign_reviewers`, `recuse_reviewer`, `set_score`, `record_decision`, `set_award`, `cover_cofunding`, `mark_payment_unsent`, `mark_payment_rejected`, `record_payment`, `record_report`, `review_report`, `send_notice`, `close_application`, `record_document`, `open_edition`, `close_call`, `pending_before_committee`, `confirm_selection`, `compile_digest` | 30 s | 1 day | — | 1 s, ×2, 1 min, until schedule-to-close |
| PAYMENT | `create_payment_order`, `retry_payment_order` | 30 s | 15 min | — | 2 s, ×2, 1 min, 6 attempts |
| DOCUMENT | `issue_document` | 2 min | 1 day | 30 s | 1 s, ×2, 1 min, until schedule-to-close |
| COMMITTEE | `propose_selection`, `promote_waitlist`, `edition_report` | 1 h | 1 day | 30 s | 1 s, ×2, 1 min, until schedule-to-close |
| SEND_DECISIONS | `send_decisions` | 2 h | 7 day | 30 s | 1 s, ×2, 1 min, until schedule-to-close |
| START | `start_application`, `start_applications` | 5 min | 1 day | 30 s | 1 s, ×2, 1 min, until schedule-to-close |
| OUTBOX | `send_due_messages` | 10 min | 1 h | 30 s | 1 s, ×2, 1 min, until schedule-to-close |
| ARCHIVE | `closed_unarchived`, `archive_history` | 5 min | 1 day | — | 1 s, ×2, 1 min, until schedule-to-close |

The refusals an activity raises (business refusals: never retried):

| activity | refusal |
|---|---|
| `record_submission` | DuplicateApplication |
| `assign_reviewers` | ReviewerRefused |
| `set_award` | AwardBelowPaid |
| `create_payment_order`, `retry_payment_order` | PaymentOrderRefused |
| `record_payment` | AwardExceeded |
| `issue_document` | NotIssuable |

Why these:

* **STORE** — a database write or read, idempotent under retry (every row keyed on a natural key,
  domain/db/repository/). Seconds to run; a database that is unreachable for a while (restart,
  failover, network) must delay a decision, never lose it, so it retries with backoff for up to a
  day before the workflow hears of it. A worker killed mid-activity is noticed at start-to-close.
* **PAYMENT** — the order is stored under its key, then POSTed to the payment system with that key
  (activities/payment_system.py). The payment system answers in seconds or is unavailable: six
  attempts over about two minutes (2+4+8+16+32 s of waits, each call at most
  `PAYMENT_SYSTEM_TIMEOUT_SECONDS`), then the workflow records an escalation, shows it in
  `get_status` (`escalations`, `waiting_for`), marks the order `unsent` in the database
  (`mark_payment_unsent`, with the reason) and waits for ops (`retry_payment_orders`). A
  payment system that refuses the order as such (a 4xx) is escalated at once.
* **DOCUMENT** — renders a PDF (the funding agreement, a payment advice: WeasyPrint, a second or
  two), keeps it in the document store under its SHA-256 and records it: minutes at most on a
  loaded worker, retried like a database write (the same content each time: the same hash). It
  heartbeats while it renders (activities/heartbeat.py), so an attempt lost with its worker, or
  whose answer was lost while the Temporal server was down, is retried within 30 s, not 2 min
  (`make chaos` found applications held 2 min after each kill).
* **START** — starts one application workflow, or up to 100 of an import (through the edition),
  a heartbeat after each start, so an attempt that died is retried within 30 s. Starts are
  paced (heartbeating while they wait) so that the oldest task in the applications' queue waits
  under `APPLICATION_BACKLOG_SECONDS` (infra/backlog.py): a long import goes at the workers' pace. Each workflow is
  started with a memo naming the activity that started it: a retry answers those as accepted and
  anyone else's as duplicates, so a retried batch never turns its own starts into duplicates.
* **COMMITTEE** — ranks an edition over the database: 7 s for 10,000 applications here, so
  about 11 min for a million (docs/sizing.md); an hour allows for that on a loaded worker. It
  heartbeats while it ranks, so an attempt lost with its worker is retried within 30 s, not at
  start-to-close (`make chaos`: a kill during the committee held the edition 10 min). A retry
  finds the round already committed, or commits it once (the round's rows are its key).
* **SEND_DECISIONS** — one update per application, for hours on a large edition; it heartbeats
  after each decision, so an attempt that died (its worker killed, or its failure lost while the
  Temporal server was down) is retried within 30 s; a retry sends only the decisions not yet
  marked sent, each under its own update id (applied once). A decision is marked sent only on the
  application's answer: Temporal unavailable fails the attempt instead. Seven days in all: a
  million decisions at 12 a second take a day (docs/sizing.md).

* **OUTBOX** — sends up to 100 messages of the outbox, a heartbeat after each (a worker killed
  mid-send is noticed within 30 s and the batch retried: what was marked sent is not sent again,
  what was not is sent under the same Message-ID). A message's own failures are not the
  activity's: they are recorded on the message and retried by later runs (activities/outbound.py).
* **ARCHIVE** — lists the closed runs not archived yet (Temporal's visibility, then the database),
  or archives one run's history (fetched, sealed, stored, recorded: activities/archive.py):
  seconds, minutes for a long history on a loaded server; idempotent per run, so retried like a
  database write for up to a day, well inside the server's 30 days of retention.

Non-retryable errors are business refusals, raised as ApplicationErrors of these types (a
ValidationError is a pydantic model refusing its data): retrying cannot change the answer.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

NON_RETRYABLE = [
    "AwardExceeded",
    "NotIssuable",
    "AwardBelowPaid",
    "DuplicateApplication",
    "ValidationError",
    "PaymentOrderRefused",
    "ReviewerRefused",
]

DB_WRITE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,  # unlimited, bounded by schedule_to_close below
    non_retryable_error_types=NON_RETRYABLE,
)

# The payment system: bounded, then ops decide (escalation in the workflow).
PAYMENT_SYSTEM = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=6,
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
# Storing a payment order and handing it to the payment system: a few attempts, then ops.
PAYMENT = ActivityPolicy(timedelta(seconds=30), timedelta(minutes=15), PAYMENT_SYSTEM)

# The committee over an edition's database (10,000 applications): minutes, not seconds.
COMMITTEE = ActivityPolicy(timedelta(hours=1), timedelta(days=1), DB_WRITE, heartbeat=timedelta(seconds=30))
# Sending an edition's decisions to its applications: long, with progress heartbeats; a retry
# sends only the decisions not yet marked sent.
SEND_DECISIONS = ActivityPolicy(timedelta(hours=2), timedelta(days=7), DB_WRITE, heartbeat=timedelta(seconds=30))

# Rendering a document and keeping it: seconds, minutes on a loaded worker; a heartbeat while it renders.
DOCUMENT = ActivityPolicy(timedelta(minutes=2), timedelta(days=1), DB_WRITE, heartbeat=timedelta(seconds=30))

# Starting application workflows through the edition (one, or an import's batch of up to 100):
# paced, a heartbeat after each; a retry answers what it had started as accepted (their memo says who).
START = ActivityPolicy(timedelta(minutes=5), timedelta(days=1), DB_WRITE, heartbeat=timedelta(seconds=30))

# Sending the outbox: a batch of messages, a heartbeat after each.
OUTBOX = ActivityPolicy(timedelta(minutes=10), timedelta(hours=1), DB_WRITE, heartbeat=timedelta(seconds=30))

# Archiving a closed run's history (or listing those to archive): idempotent per run.
ARCHIVE = ActivityPolicy(timedelta(minutes=5), timedelta(days=1), DB_WRITE)

POLICIES: dict[str, ActivityPolicy] = {
    "send_due_messages": OUTBOX,
    "closed_unarchived": ARCHIVE,
    "archive_history": ARCHIVE,
    "start_application": START,
    "start_applications": START,
    "create_payment_order": PAYMENT,
    "retry_payment_order": PAYMENT,
    "issue_document": DOCUMENT,
    "propose_selection": COMMITTEE,
    "promote_waitlist": COMMITTEE,
    "edition_report": COMMITTEE,
    "send_decisions": SEND_DECISIONS,
}


def policy_for(activity_name: str) -> ActivityPolicy:
    return POLICIES.get(activity_name, STORE)
