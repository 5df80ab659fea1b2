"""What each role can do to an application from its page: one form per workflow update.

Each action names the update (workflows/names.py), its input model (the same the CLI and the
gateway send), the roles that may send it, the form's fields, and the field the signed-in user
fills (never typed: the actor is who is signed in). Sending goes through the one front door
(frontdoor.send_update, with the vault, so a RIB typed here never reaches a workflow).
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from starlette.datastructures import UploadFile

from console.accounts import User
from documents.issue import keep_scan
from documents.store import DocumentStore
from domain.documents import MAX_SCAN_BYTES
from domain.errors import bounded, located
from domain.models import (
    AgreementSigned,
    BankDetailsApproved,
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    PaymentRetry,
    ReportReview,
    SiteVisit,
    Termination,
    Withdrawal,
)
from domain.reviewers import Recusal, ReviewerAssignment
from frontdoor import Result, send_update
from workflows.names import ApplicationUpdate as U


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, textarea, date, number, money, yesno, rib, ids (several, space-separated), file (a scan)
    label: str  # a message id (console/locale)
    required: bool = False


@dataclass(frozen=True)
class Action:
    key: str  # in the URL: /applications/{id}/actions/{key}
    update: U
    model: type[BaseModel]
    roles: tuple[str, ...]
    actor_field: str
    label: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    stages: tuple[str, ...] = ()  # shown on the page in these stages (the workflow decides anyway)

    def payload(self, form: dict[str, Any], user: User) -> BaseModel:
        """The update's input from the form; raises ValidationError naming the field (a field the
        form does not have, e.g. an actor typed in, is refused, never read)."""
        if errors := self._unread(form):
            raise ValidationError.from_exception_data(self.model.__name__, errors)
        values: dict[str, Any] = {self.actor_field: user.login}
        for f in self.fields:
            raw = str(form.get(f.name, ""))
            if f.kind == "yesno":
                values[f.name] = raw.strip() == "yes"
            elif f.kind == "ids":
                values[f.name] = tuple(raw.replace(",", " ").split())
            elif raw.strip() or f.required:
                values[f.name] = raw  # as typed: the model refuses a control character before it strips
        if self.update == U.COFUNDING_DECISION:
            values["region_code"] = next(iter(sorted(user.scopes("region-council"))), "")
        return self.model.model_validate(values)

    def _unread(self, form: dict[str, Any]) -> list[InitErrorDetails]:
        """What the form holds that it cannot take: a field it does not have (named, bounded), and
        text whose bytes were not UTF-8 (the form parser reads them as U+FFFD, which nobody types)."""
        names = {f.name for f in self.fields}
        return [
            InitErrorDetails(
                type=PydanticCustomError("not_a_field", NOT_A_FIELD, {"name": bounded(name)}), loc=(), input=None
            )
            if name not in names
            else InitErrorDetails(type=PydanticCustomError("not_utf8", NOT_UTF8), loc=(name,), input=None)
            for name, value in form.items()
            if name not in names or (isinstance(value, str) and "\ufffd" in value)
        ]


NOT_A_FIELD = "not a field of this form: {name}"
NOT_UTF8 = "not UTF-8 text: the form sent bytes that are not characters"


REASON = Field("reason", "textarea", "Reason")
ACTIONS = {
    a.key: a
    for a in [
        Action(
            "assign-reviewers",
            U.ASSIGN_REVIEWERS,
            ReviewerAssignment,
            ("officer",),
            "assigned_by",
            "Assign reviewers",
            (Field("reviewers", "ids", "Reviewers (logins; none: the edition's rule chooses)"),),
            ("review",),
        ),
        Action(
            "recuse-reviewer",
            U.RECUSE,
            Recusal,
            ("officer",),
            "recused_by",
            "A reviewer steps down",
            (Field("reviewer_id", "text", "Reviewer", True), Field("reason", "textarea", "Reason", True)),
            ("review",),
        ),
        Action(
            "review-report",
            U.REVIEW_REPORT,
            ReportReview,
            ("officer",),
            "decided_by",
            "Review a progress report",
            (Field("period", "number", "Report", True), Field("approved", "yesno", "Approve"), REASON),
            ("monitoring",),
        ),
        Action(
            "site-visit",
            U.RECORD_SITE_VISIT,
            SiteVisit,
            ("officer",),
            "visitor",
            "Record a site visit",
            (Field("visited_on", "date", "Visited on", True), Field("findings", "textarea", "Findings")),
            ("monitoring", "disbursement"),
        ),
        Action(
            "sign",
            U.SIGN_AGREEMENT,
            AgreementSigned,
            ("officer",),
            "signed_by",
            "Funding agreement signed",
            (
                Field("signed_on", "date", "Signed on", True),
                Field("bank_account", "rib", "Bank account (RIB)", True),
                Field("scan_sha256", "file", "Signed scan (PDF, PNG or JPEG, at most 10 MB)"),
            ),
            ("agreement",),
        ),
        Action("withdraw", U.WITHDRAW, Withdrawal, ("officer",), "requested_by", "Withdraw", (REASON,)),
        Action(
            "cancel",
            U.CANCEL,
            Cancellation,
            ("officer",),
            "cancelled_by",
            "Cancel",
            (Field("reason", "textarea", "Reason", True),),
        ),
        Action(
            "terminate",
            U.TERMINATE,
            Termination,
            ("officer",),
            "terminated_by",
            "Terminate and recover",
            (Field("reason", "textarea", "Reason", True), Field("amount_to_recover", "money", "Amount to recover")),
            ("disbursement", "monitoring"),
        ),
        Action(
            "retry-payments",
            U.RETRY_PAYMENT_ORDERS,
            PaymentRetry,
            ("finance",),
            "requested_by",
            "Send unsent payment orders again",
            (REASON,),
            ("disbursement",),
        ),
        Action(
            "fix-bank",
            U.FIX_BANK_DETAILS,
            BankDetailsFixed,
            ("finance",),
            "fixed_by",
            "Change the bank details (before signature, or of a rejected payment)",
            (Field("bank_account", "rib", "Bank account (RIB)", True),),
            ("agreement", "disbursement"),  # before signature: a new version of the agreement
        ),
        Action(
            "approve-bank",
            U.APPROVE_BANK_DETAILS,
            BankDetailsApproved,
            ("finance",),
            "approved_by",
            "Approve the new bank details (second person)",
            (Field("approved", "yesno", "Approve"), REASON),
            ("agreement", "disbursement"),
        ),
        Action(
            "cofunding",
            U.COFUNDING_DECISION,
            CoFundingDecision,
            ("region-council",),
            "decided_by",
            "Co-funding decision of the Region",
            (Field("approved", "yesno", "Approve"), Field("amount", "money", "Amount (MAD)"), REASON),
            ("cofunding",),
        ),
    ]
}


ASSIGNING = (U.ASSIGN_REVIEWERS, U.RECUSE)  # only in editions that assign their reviewers


def allowed(user: User, stage: str, region_code: str) -> list[Action]:
    """The actions this user may take on an application in `stage` of that region."""
    out = []
    for a in ACTIONS.values():
        if not any(user.has(r) for r in a.roles) or (a.stages and stage not in a.stages):
            continue
        if a.update == U.COFUNDING_DECISION and region_code not in user.scopes("region-council"):
            continue
        out.append(a)
    return out


def form_errors(err: ValidationError) -> dict[str, str]:
    """{field: message} of a refused form (no input values)."""
    out: dict[str, str] = {}
    for e in err.errors(include_url=False, include_input=False):
        path, message = located(e["loc"], e["msg"])
        out.setdefault(path[0] if path else "", message)
    return out


class FormError(ValueError):
    """A form's field refused before anything is sent (a scan that is not one): its field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


async def kept_files(action: Action, form: dict[str, Any], store: DocumentStore) -> dict[str, Any]:
    """The form with each file it carries checked (domain/documents.scan_type: at most 10 MB, a
    PDF, PNG or JPEG by its first bytes) and kept in the document store: its SHA-256 in its place
    (no file chosen: none). Raises FormError naming the field."""
    out = dict(form)
    for f in action.fields:
        if f.kind != "file":
            continue
        upload = out.pop(f.name, None)
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        content = await upload.read(MAX_SCAN_BYTES + 1)
        try:
            out[f.name] = keep_scan(store, content)
        except ValueError as e:
            raise FormError(f.name, str(e)) from None
    return out


async def act(
    action: Action,
    application_id: str,
    form: dict[str, Any],
    user: User,
    client: Any,
    vault: Any,
    store: DocumentStore,
) -> Result:
    """Send the action's update through the front door (a signature names the agreement issued:
    frontdoor/send.py); a file in the form is kept in the document store first."""
    payload = action.payload(await kept_files(action, form, store), user)
    return await send_update(client, application_id, action.update, payload, user.actor(), timeout=30, vault=vault)
