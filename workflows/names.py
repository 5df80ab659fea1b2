"""The names the outside world addresses the workflows by: types, updates, signals, queries.

They are in every history (changing one breaks replay), and front doors (CLI, gateway, console) and
the edition's activities use them without importing workflow code. tests/workflows/test_workflow_names.py
checks each against the workflow definitions. Plain strings, no imports: safe anywhere.
"""

from enum import StrEnum

APPLICATION_WORKFLOW = "ApplicationWorkflow"
EDITION_WORKFLOW = "EditionWorkflow"
GET_STATUS = "get_status"  # the query of both workflows


class ApplicationUpdate(StrEnum):
    COMPLETE_DOCUMENTS = "complete_documents"
    SUBMIT_REVIEW = "submit_review"
    ASSIGN_REVIEWERS = "assign_reviewers"
    RECUSE = "recuse"
    DECIDE = "decide"
    COFUNDING_DECISION = "cofunding_decision"
    SIGN_AGREEMENT = "sign_agreement"
    PAYMENT_RESULT = "payment_result"
    FIX_BANK_DETAILS = "fix_bank_details"
    APPROVE_BANK_DETAILS = "approve_bank_details"
    RETRY_PAYMENT_ORDERS = "retry_payment_orders"
    SUBMIT_REPORT = "submit_report"
    REVIEW_REPORT = "review_report"
    RECORD_SITE_VISIT = "record_site_visit"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    TERMINATE = "terminate"


class EditionUpdate(StrEnum):
    SUBMIT = "submit"
    SUBMIT_BATCH = "submit_batch"
    CLOSE_CALL = "close_call"
    CONFIRM_SELECTION = "confirm_selection"


class EditionSignal(StrEnum):
    SEAT_FREED = "seat_freed"
