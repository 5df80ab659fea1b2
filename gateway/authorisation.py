"""What a caller may send: its role decides the routes, its territory or applicant the applications.

A Region Council answers only for applications in its own region; the payment system only for
payment orders (and those are looked up in the domain database: an unknown order is a 404);
document verification for any application; the portal only for the applicant it names, which
must be the application's. The application's region and applicant come from the domain database.
"""

from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from domain.db.repository import Repository
from gateway.auth import Caller, caller
from gateway.problems import forbidden, not_found
from infra.settings import GatewayRole


def role(*allowed: GatewayRole):
    """Dependency: the authenticated caller, if its role may use this route (else 403)."""

    async def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.role not in allowed:
            raise forbidden(f"a {who.role.value} may not send this event (only: {', '.join(r.value for r in allowed)})")
        return who

    return check


async def application(repo: Repository, application_id: str) -> dict:
    app = await run_in_threadpool(repo.get_application, application_id)
    if app is None:
        raise not_found(f"no application {application_id}")
    return app


def same_region(who: Caller, app: dict) -> None:
    if app["region_code"] != who.region_code:
        raise forbidden(
            f"region {who.region_code} may answer only for applications in its region; "
            f"{app['application_id']} is in region {app['region_code']}"
        )


def same_applicant(app: dict, registration_number: str) -> None:
    if app["registration_number"].upper() != registration_number.upper():
        raise forbidden(f"application {app['application_id']} is not applicant {registration_number}'s")


async def order_application(repo: Repository, order_key: str) -> dict:
    """The application a payment order belongs to (keys are APPLICATION:T<n>:<funder>)."""
    application_id = order_key.split(":", 1)[0]
    app = await run_in_threadpool(repo.get_application, application_id) if ":" in order_key else None
    if app is None or not any(o["key"] == order_key for o in app["orders"]):
        raise not_found(f"no payment order {order_key}")
    return app
