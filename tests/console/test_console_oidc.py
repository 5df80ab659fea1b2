"""Sign-in with OpenID Connect against a real OpenID provider process on loopback
(oidc-provider-mock): the authorization code flow with PKCE, the ID token checked by the console,
the person mapped to an active console user whose roles the console keeps."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread

from console.app import console_state, create_app
from console.oidc import unpack
from domain.db.session import make_engine, migrate
from infra.settings import Settings

OFFICER = "amina.elidrissi@ministere.gov.ma"


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def console(tmp_path, provider):
    engine = make_engine(f"sqlite:///{tmp_path / 'moazara.db'}")
    migrate(engine)
    settings = Settings(
        database_url=str(engine.url),
        console_oidc_issuer=provider,
        console_oidc_client_id="moazara-console",
        console_oidc_client_secret="not-checked-by-the-mock",
    )
    s = console_state(settings, engine)
    s.accounts.create(OFFICER, "Amina El Idrissi", None, ["officer"], by="admin-nadia")  # no password: OpenID only
    yield s, create_app(s)
    engine.dispose()


async def sign_in_at_the_provider(
    app, subject: str, next_path: str = "/applications"
) -> tuple[httpx.AsyncClient, httpx.Response]:
    """The browser's round trip: console -> provider (the person says who they are) -> console."""
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
    login = await browser.get("/login")
    assert 'href="/login/oidc?next=' in login.text
    to_provider = await browser.get(f"/login/oidc?next={next_path}")
    assert to_provider.status_code == 303
    authorize = to_provider.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    async with httpx.AsyncClient() as idp:
        answer = await idp.post(authorize, data={"sub": subject})
    assert answer.status_code in (302, 303), answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/login/oidc/callback"
    return browser, await browser.get(f"{back.path}?{back.query}")


async def test_a_person_the_provider_vouches_for_gets_their_console_roles(console):
    s, app = console
    browser, done = await sign_in_at_the_provider(app, OFFICER)
    assert done.status_code == 303 and done.headers["location"] == "/applications"
    assert "moazara_session" in done.headers["set-cookie"] and "SameSite=strict" in done.headers["set-cookie"]
    board = await browser.get("/applications")
    assert board.status_code == 200 and "Amina El Idrissi" in board.text
    # A password sign-in is impossible for this account: it has none.
    page = await browser.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
    r = await browser.post("/login", data={"csrf": csrf, "login": OFFICER, "password": ""})
    assert r.status_code == 401


async def test_someone_without_a_console_account_or_deactivated_is_not_signed_in(console):
    s, app = console
    browser, done = await sign_in_at_the_provider(app, "stranger@example.org")
    assert done.headers["location"] == "/login?failed=unknown" and "moazara_session" not in done.headers.get(
        "set-cookie", ""
    )
    shown = await browser.get(done.headers["location"])
    assert "aucun compte" in shown.text.lower() or "No console account" in shown.text
    s.accounts.deactivate(OFFICER, by="admin-nadia")
    _, done = await sign_in_at_the_provider(app, OFFICER)
    assert done.headers["location"] == "/login?failed=unknown"


async def test_a_forged_or_replayed_callback_signs_nobody_in(console):
    _, app = console
    browser, done = await sign_in_at_the_provider(app, OFFICER)
    assert done.status_code == 303
    # The same callback again: its flow cookie is spent, and a made-up state never matches.
    stranger = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
    r = await stranger.get("/login/oidc/callback?code=abc&state=forged")
    assert r.headers["location"] == "/login?failed=expired"
    await stranger.get("/login/oidc?next=/")
    r = await stranger.get("/login/oidc/callback?code=not-a-code&state=" + "x" * 32)
    assert r.headers["location"] == "/login?failed=expired"  # and the flow is spent: start again
    await stranger.get("/login/oidc?next=/")
    flow = unpack(stranger.cookies.get("moazara_oidc", ""))
    r = await stranger.get(f"/login/oidc/callback?code=not-a-code&state={flow['state']}")
    assert r.headers["location"] == "/login?failed=refused"  # the provider never issued that code
    assert (await stranger.get("/applications")).status_code == 303  # still not signed in
