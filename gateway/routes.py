"""The /v1 routes, one per event kind, all made by `event_route`: authenticate and check the role
(dependency), validate the body (FastAPI, 422), find the application (404); then each kind's own
function checks territory or applicant (403) and builds the workflow's input model, which is
delivered once through the inbox (inbox.py)."""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from domain.models import (
    CoFundingDecision,
    Document,
    DocumentsCompleted,
    PaymentResult,
    ProgressReport,
)
from gateway import authorisation
from gateway.auth import Caller
from gateway.authorisation import role
from gateway.events import (
    CoFundingEvent,
    DocumentsVerifiedEvent,
    EventAnswer,
    PaymentExecutedEvent,
    PaymentRejectedEvent,
    Problem,
    ProgressReportEvent,
)
from gateway.inbox import deliver
from gateway.problems import GatewayError, field_of
from infra.settings import GatewayRole
from workflows.names import ApplicationUpdate as U

router = APIRouter(prefix="/v1")

ApplicationIdPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$",
        description="the application (workflow) id",
        examples=["moazara-4-COOP-0001"],
    ),
]
OrderKeyPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9:-]{0,119}$",
        description="the payment order's idempotency key",
        examples=["moazara-4-COOP-0001:T1:region-02"],
    ),
]
_PROBLEMS = {
    401: {"model": Problem, "description": "no or invalid credentials"},
    403: {"model": Problem, "description": "this integration may not send this event for this application"},
    404: {"model": Problem, "description": "unknown application or payment order"},
    409: {
        "model": Problem,
        "description": "refused by the workflow (wrong stage or a business rule), or event id reused",
    },
    422: {"model": Problem, "description": "invalid body or path, naming the field; nothing was sent"},
    503: {"model": Problem, "description": "Temporal unreachable or no answer in time; retry with the same event id"},
}
_ROUTE = {"response_model": EventAnswer, "responses": _PROBLEMS}


def gateway(request: Request):
    return request.app.state.gateway


GatewayState = Annotated[object, Depends(gateway)]


def workflow_input(model: type[BaseModel], **values: Any) -> BaseModel:
    """The workflow's input model; its own validation (cross-field rules) answers 422 too."""
    try:
        return model(**values)
    except ValidationError as e:
        err = e.errors(include_input=False)[0]
        field, message = field_of(err.get("loc", ()), err.get("msg", "invalid"))
        raise GatewayError(422, "invalid_body", f"{field}: {message}", field=field) from None


# The routes' group in the OpenAPI document, by the role that may send them.
_TAGS = {
    GatewayRole.REGION_COUNCIL: "region councils",
    GatewayRole.PAYMENT_SYSTEM: "payment system",
    GatewayRole.DOCUMENT_VERIFICATION: "document verification",
    GatewayRole.PORTAL: "applicants' portal",
}
Build = Callable[[Caller, dict, Any, str], BaseModel]


def event_route(
    path: str, sender: GatewayRole, update: str, *, kind: str = "", event: Any = None, summary: str = ""
) -> Callable[[Build], Build]:
    """Make `build(who, app, event, key)` (check that the caller may speak for the application, 403;
    give the workflow's input) the route of one kind of event (default: its name), posted at `path`
    by `sender`; the body is validated as its `event` parameter says (422), and the application is
    found from the path's application id or payment order key (404). The input is delivered once."""

    def register(build: Build) -> Build:
        name, model = kind or build.__name__, event or get_type_hints(build)["event"]
        key_name, key_type, find = (
            ("order_key", OrderKeyPath, authorisation.order_application)
            if "{order_key}" in path
            else ("application_id", ApplicationIdPath, authorisation.application)
        )

        async def endpoint(**given: Any) -> JSONResponse:
            key, body, who, gw = given[key_name], given["event"], given["who"], given["gw"]
            app = await find(gw.repo, key)
            return await deliver(gw, who, name, key, app, body, update, build(who, app, body, key))

        arg = inspect.Parameter.KEYWORD_ONLY
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what FastAPI reads
            [
                inspect.Parameter(key_name, arg, annotation=key_type),
                inspect.Parameter("event", arg, annotation=model),
                inspect.Parameter("who", arg, annotation=Annotated[Caller, Depends(role(sender))]),
                inspect.Parameter("gw", arg, annotation=GatewayState),
            ],
            return_annotation=JSONResponse,
        )
        text = summary or inspect.getdoc(build) or ""
        router.post(path, tags=[_TAGS[sender]], summary=text, name=name, **_ROUTE)(endpoint)
        return build

    return register


@event_route("/applications/{application_id}/cofunding-decision", GatewayRole.REGION_COUNCIL, U.COFUNDING_DECISION)
def cofunding_decision(who: Caller, app: dict, event: CoFundingEvent, key: str) -> BaseModel:
    """A Region Council approves or declines its share of a project in its region"""
    authorisation.same_region(who, app)
    answer = event.model_dump(include={"approved", "amount", "decided_by", "reason"})
    return workflow_input(CoFundingDecision, region_code=who.region_code, **answer)


def payment_result(who: Caller, app: dict, event: PaymentExecutedEvent | PaymentRejectedEvent, key: str) -> BaseModel:
    """The payment system's result for a payment order: executed (its reference) or rejected (why)."""
    executed = isinstance(event, PaymentExecutedEvent)
    return workflow_input(PaymentResult, order_key=key, executed=executed, **event.model_dump(exclude={"event_id"}))


for outcome, model, said in (
    ("executed", PaymentExecutedEvent, "The payment system executed a payment order"),
    ("rejected", PaymentRejectedEvent, "The payment system rejected a payment order (e.g. a closed account)"),
):
    event_route(
        f"/payment-orders/{{order_key}}/{outcome}",
        GatewayRole.PAYMENT_SYSTEM,
        U.PAYMENT_RESULT,
        kind=f"payment_{outcome}",
        event=model,
        summary=said,
    )(payment_result)


@event_route(
    "/applications/{application_id}/documents-verified", GatewayRole.DOCUMENT_VERIFICATION, U.COMPLETE_DOCUMENTS
)
def documents_verified(who: Caller, app: dict, event: DocumentsVerifiedEvent, key: str) -> BaseModel:
    """Document verification confirms documents an applicant was missing"""
    docs = tuple(Document(kind=d.kind, reference=d.reference, verified=True) for d in event.documents)
    return workflow_input(DocumentsCompleted, documents=docs, submitted_by=event.verified_by)


@event_route("/applications/{application_id}/progress-reports", GatewayRole.PORTAL, U.SUBMIT_REPORT)
def progress_report(who: Caller, app: dict, event: ProgressReportEvent, key: str) -> BaseModel:
    """The portal submits a progress report for the applicant signed in there"""
    authorisation.same_applicant(app, event.applicant)
    report = event.model_dump(include={"period", "indicators", "narrative"})
    return workflow_input(ProgressReport, submitted_by=f"portal:{event.applicant}", **report)
