"""The application workflow, as a small package: the process (process.py), its inputs (inputs.py),
its reviews (reviews.py), its payments (payments.py), and what they share (state.py)."""

from workflows.application.process import ApplicationWorkflow
from workflows.application.state import (
    PATCH_COVER_WITHIN_ENVELOPE,
    PATCH_UNSENT_ROW,
    PAYMENTS_DUE,
    RESEND_DUE,
    UNSENT,
)

__all__ = [
    "PATCH_COVER_WITHIN_ENVELOPE",
    "PATCH_UNSENT_ROW",
    "PAYMENTS_DUE",
    "RESEND_DUE",
    "UNSENT",
    "ApplicationWorkflow",
]
