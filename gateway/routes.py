"""The /v1 routes, one per event kind. Each: authenticate and check the role (dependency), validate
the body (FastAPI, 422), find the application (404) and check territory or applicant (403), build
the workflow's input model, then deliver it once through the inbox (inbox.py)."""

from typing import Annotated

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
RegionCouncil = Annotated[Caller, Depends(role(GatewayRole.REGION_COUNCIL))]
PaymentSystem = Annotated[Caller, Depends(role(GatewayRole.PAYMENT_SYSTEM))]
DocumentVerification = Annotated[Caller, Depends(role(GatewayRole.DOCUMENT_VERIFICATION))]
Portal = Annotated[Caller, Depends(role(GatewayRole.PORTAL))]


def workflow_input(model: type[BaseModel], **values) -> BaseModel:
    """The workflow's input model; its own validation (cross-field rules) answers 422 too."""
    try:
        return model(**values)
    except ValidationError as e:
        err = e.errors(include_input=False)[0]
        field, message = field_of(err.get("loc", ()), err.get("msg", "invalid"))
        raise GatewayError(422, "invalid_body", f"{field}: {message}", field=field) from None


@router.post(
    "/applications/{application_id}/cofunding-decision",
    tags=["region councils"],
    **_ROUTE,
    summary="A Region Council approves or declines its share of a project in its region",
)
async def cofunding_decision(
    application_id: ApplicationIdPath,
    event: CoFundingEvent,
    who: RegionCouncil,
    gw: GatewayState,
) -> JSONResponse:
    app = await authorisation.application(gw.repo, application_id)
    authorisation.same_region(who, app)
    payload = workflow_input(
        CoFundingDecision,
        region_code=who.region_code,
        approved=event.approved,
        amount=event.amount,
        decided_by=event.decided_by,
        reason=event.reason,
    )
    return await deliver(gw, who, "cofunding_decision", application_id, app, event, U.COFUNDING_DECISION, payload)


@router.post(
    "/payment-orders/{order_key}/executed",
    tags=["payment system"],
    **_ROUTE,
    summary="The payment system executed a payment order",
)
async def payment_executed(
    order_key: OrderKeyPath,
    event: PaymentExecutedEvent,
    who: PaymentSystem,
    gw: GatewayState,
) -> JSONResponse:
    app = await authorisation.order_application(gw.repo, order_key)
    payload = workflow_input(
        PaymentResult, order_key=order_key, attempt=event.attempt, executed=True, reference=event.reference
    )
    return await deliver(gw, who, "payment_executed", order_key, app, event, U.PAYMENT_RESULT, payload)


@router.post(
    "/payment-orders/{order_key}/rejected",
    tags=["payment system"],
    **_ROUTE,
    summary="The payment system rejected a payment order (e.g. a closed account)",
)
async def payment_rejected(
    order_key: OrderKeyPath,
    event: PaymentRejectedEvent,
    who: PaymentSystem,
    gw: GatewayState,
) -> JSONResponse:
    app = await authorisation.order_application(gw.repo, order_key)
    payload = workflow_input(
        PaymentResult, order_key=order_key, attempt=event.attempt, executed=False, reason=event.reason
    )
    return await deliver(gw, who, "payment_rejected", order_key, app, event, U.PAYMENT_RESULT, payload)


@router.post(
    "/applications/{application_id}/documents-verified",
    tags=["document verification"],
    **_ROUTE,
    summary="Document verification confirms documents an applicant was missing",
)
async def documents_verified(
    application_id: ApplicationIdPath,
    event: DocumentsVerifiedEvent,
    who: DocumentVerification,
    gw: GatewayState,
) -> JSONResponse:
    app = await authorisation.application(gw.repo, application_id)
    docs = tuple(Document(kind=d.kind, reference=d.reference, verified=True) for d in event.documents)
    payload = workflow_input(DocumentsCompleted, documents=docs, submitted_by=event.verified_by)
    return await deliver(gw, who, "documents_verified", application_id, app, event, U.COMPLETE_DOCUMENTS, payload)


@router.post(
    "/applications/{application_id}/progress-reports",
    tags=["applicants' portal"],
    **_ROUTE,
    summary="The portal submits a progress report for the applicant signed in there",
)
async def progress_report(
    application_id: ApplicationIdPath,
    event: ProgressReportEvent,
    who: Portal,
    gw: GatewayState,
) -> JSONResponse:
    app = await authorisation.application(gw.repo, application_id)
    authorisation.same_applicant(app, event.applicant)
    payload = workflow_input(
        ProgressReport,
        period=event.period,
        indicators=event.indicators,
        narrative=event.narrative,
        submitted_by=f"portal:{event.applicant}",
    )
    return await deliver(gw, who, "progress_report", application_id, app, event, U.SUBMIT_REPORT, payload)
