"""Refusals as HTTP answers: one exception, one JSON shape (events.Problem), one status per kind.

401 unauthenticated · 403 forbidden (role, territory, applicant) · 404 unknown application or
payment order · 422 invalid body, naming the field (the gateway's own validation: nothing was
sent to a workflow) · 409 refused by the workflow: `wrong_stage` when its reason starts with
"stage:", `refused` for any other business rule, `event_id_reused` for an id already used for a
different event · 503 Temporal unreachable or no answer in time (nothing stored: retry).
"""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from domain.errors import located


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        super().__init__(detail)
        self.status, self.headers = status, headers
        self.body = {"code": code, "detail": detail, "field": field, **extra}


def unauthenticated(detail: str) -> GatewayError:
    return GatewayError(401, "unauthenticated", detail, headers={"WWW-Authenticate": "ApiKey, HMAC-SHA256"})


def forbidden(detail: str) -> GatewayError:
    return GatewayError(403, "forbidden", detail)


def not_found(detail: str) -> GatewayError:
    return GatewayError(404, "not_found", detail)


def unavailable(detail: str) -> GatewayError:
    return GatewayError(503, "unavailable", detail, headers={"Retry-After": "5"})


def field_of(loc: tuple | list, message: str = "") -> tuple[str, str]:
    """(field, message): ('body', 'indicators', 'women') -> 'indicators.women'; ('path',
    'application_id') -> 'application_id'; a rule's "field: …" message names its field."""
    parts, message = located([p for p in loc if p not in ("body", "path", "query", "header")], message)
    return ".".join(parts) or "body", message


async def on_gateway_error(_: Request, e: GatewayError) -> JSONResponse:
    return JSONResponse(e.body, status_code=e.status, headers=e.headers)


async def on_invalid_request(_: Request, e: RequestValidationError) -> JSONResponse:
    # Field names and messages only: the input values are not echoed back (nor logged).
    # A body that is not JSON is located by its character position ('body', 119): the body is the field.
    located_errors = (
        ("body", "not a JSON document")
        if err.get("type") == "json_invalid"
        else field_of(err.get("loc", ()), err.get("msg", "invalid"))
        for err in e.errors()
    )
    errors = [{"field": field, "message": message} for field, message in located_errors]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return JSONResponse(
        {
            "code": "invalid_body",
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
        },
        status_code=422,
    )


async def on_http_error(_: Request, e: HTTPException) -> JSONResponse:
    """Starlette's own refusals in the same shape; a body that is not even text (400) is an invalid body."""
    if e.status_code == 400:
        return JSONResponse(
            {"code": "invalid_body", "detail": "body: not a JSON document", "field": "body"}, status_code=422
        )
    code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "error")
    return JSONResponse(
        {"code": code, "detail": str(e.detail), "field": None}, status_code=e.status_code, headers=e.headers
    )
