"""How refused inputs are described to Temporal: the fields and what is wrong, never the values.

An update whose input does not even decode into its model (a wrong type, a missing field, a string
of 10,000 characters, sent by a client that skipped the CLI's and the gateway's validation) is
refused by the SDK with "Failed decoding arguments" and, underneath, pydantic's own message, which
quotes the input values — a bank account among them — and reaches the caller through the Temporal
server in clear (failures are not encrypted payloads). This failure converter (part of every
client's data converter, temporal_connection.data_converter) turns any pydantic ValidationError,
there or raised by an activity, into `ValidationError: invalid input: field: message; …` with
the field paths and pydantic's messages only. Its type stays "ValidationError", which the retry
policies list as non-retryable (activities/policies.py). An input the codec could not open is
refused ("Refused", in the words of domain/refusals.py's `input.undecodable`), without the
refusal's details: a failure's details are payloads, sealed by the codec, and this sender has no key.

`refusal_of` reads a refusal's code and parameters back from the failure an update got.
"""

from typing import TypeVar

from pydantic import ValidationError
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowUpdateFailedError
from temporalio.converter import DefaultFailureConverter, PayloadConverter
from temporalio.exceptions import ApplicationError

from codec.undecodable import UndecodablePayload
from domain.actor import REFUSED
from domain.refusals import Refusal, from_details

MAX_MESSAGE = 1000
E = TypeVar("E", bound=BaseException)


def describe(err: ValidationError) -> str:
    """`invalid input: applicant: province: not a province of …; scores: Field required` (no input values)."""
    parts = []
    for e in err.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(p) for p in e["loc"] if p != "[key]")
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{path}: {msg}" if path else msg)
    return f"invalid input: {'; '.join(parts)}"[:MAX_MESSAGE]


def _underneath(exc: BaseException | None, kind: type[E]) -> E | None:
    """The `kind` exception this exception is, or was raised from (the SDK's decoding wraps it)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, kind):
            return exc
        exc, seen = exc.__cause__, seen + 1
    return None


class InputFailureConverter(DefaultFailureConverter):
    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        if not isinstance(exception, ApplicationError):
            if (invalid := _underneath(exception, ValidationError)) is not None:
                exception = ApplicationError(describe(invalid), type="ValidationError", non_retryable=True)
            elif (sealed := _underneath(exception, UndecodablePayload)) is not None:
                # A forged, altered or unencrypted input (codec/undecodable.py): refused, not retried.
                # No details: they would be sealed with the service's key, which this sender lacks (a
                # client that cannot decode a failure's details gets an error instead of the refusal).
                refusal = Refusal("input.undecodable", reason=str(sealed).removeprefix("payload "))
                exception = ApplicationError(str(refusal), type=REFUSED, non_retryable=True)
        super().to_failure(exception, payload_converter, failure)


def refusal_reason(err: WorkflowUpdateFailedError) -> str:
    """The workflow's own words for a refusal: the first message down the chain of causes."""
    cause: BaseException | None = err.cause
    while cause is not None:
        message = getattr(cause, "message", None) or str(cause)
        if message:
            return message
        cause = cause.__cause__
    return str(err)


def refusal_of(err: WorkflowUpdateFailedError) -> tuple[str, dict[str, str]] | None:
    """The refusal's (code, params) the workflow put in the failure's details, or None."""
    cause: BaseException | None = err.cause
    while cause is not None:
        if isinstance(cause, ApplicationError) and (found := from_details(cause.details)) is not None:
            return found
        cause = cause.__cause__
    return None


RESEND = "edition.compacting"  # a refusal that is not a no: the edition's next run takes the input


def asks_to_resend(err: BaseException) -> bool:
    """An update refused only for now (the edition continuing as new): the door sends it again."""
    return isinstance(err, WorkflowUpdateFailedError) and (found := refusal_of(err)) is not None and found[0] == RESEND
