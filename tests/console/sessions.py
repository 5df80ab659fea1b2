"""Signing in to the console as a browser does, for the tests of any page (the console's own, the
documents' downloads): the app called in process over HTTP (httpx's ASGI transport), the sign-in
form posted with its CSRF token."""

import re

import httpx

PASSWORD = "correct horse battery staple"  # every test user's


async def browser(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


async def signed_in(app, login: str) -> httpx.AsyncClient:
    c = await browser(app)
    page = await c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
    r = await c.post("/login", data={"csrf": token, "login": login, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]
