"""A validator's refusal as the failure an update gets: "Refused", not retryable, in the refusal's
English words, with its code and parameters in the failure's details (domain/refusals.py) for the
doors to translate. A plain ValueError (a rule without a code) keeps its words and has no details.

Read by duck typing: the interceptor that converts validators' refusals (missing_inputs.py) is
outside the workflow sandbox, the Refusal a workflow raises may be the sandbox's own class."""

from typing import Any

from temporalio.exceptions import ApplicationError

from domain.actor import REFUSED


def refused(e: ValueError) -> ApplicationError:
    details: Any = getattr(e, "details", None)
    extra = (details(),) if callable(details) and isinstance(getattr(e, "code", None), str) else ()
    return ApplicationError(str(e), *extra, type=REFUSED, non_retryable=True)
