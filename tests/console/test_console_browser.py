"""The console in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser), against the console served by uvicorn, the production worker and the Temporal dev server.

Each role signs in and does a piece of its job (a reviewer sees only what is assigned, blind); a page
shows a workflow's change without a reload;
Arabic is laid out right to left; an injected script does not run; the main pages pass axe-core
with no serious or critical violation. Screenshots of the main pages in French and Arabic are
written to var/test-artifacts/console/.
"""

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from bench.console import seed
from console.app import console_state, create_app
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.db.tables import EditionRow
from domain.edition import ReviewAssignment, edition_4_settings
from domain.models import Stage, Withdrawal
from domain.reference import Sector
from domain.reference import regions as reference_regions
from domain.reviewers import ReviewerProfile
from infra.actor_header import ActorHeader
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.driver import Driver
from simulation.factories import make_submission, settings_with
from worker import build_worker
from workflows.application import ApplicationWorkflow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "console"
PASSWORD = "a long browser password"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browser`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def site(tmp_path_factory, executor):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'moazara.db'}")
    migrate(engine)
    settings = Settings(task_queue=f"browser-{uuid.uuid4().hex[:8]}", database_url=str(engine.url))
    s = console_state(settings, engine)
    s.client = env.client
    s.accounts.create("officer-amina", "Amina El Idrissi", PASSWORD, ["officer"], by="test-admin")
    s.accounts.create("agent-oriental", "Agent de l'Oriental", PASSWORD, ["region-council:02"], by="test-admin")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(s), host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        async with build_worker(env.client, Repository(engine), settings, executor):
            d = Driver(env, settings.task_queue, edition_4_settings())
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
                yield d, s, f"http://127.0.0.1:{port}", browser
                await browser.close()
            await d.cleanup()
    finally:
        server.should_exit = True
        await serving
        await env.shutdown()
        engine.dispose()


async def sign_in(browser, base: str, login: str, at: str = "/applications", axe: bool = False) -> Page:
    """A new browser signed in as `login` through the sign-in form that `at` shows first, left on `at`.
    `axe`: the context bypasses the CSP, only so that a test may inject axe-core (`violations`)."""
    page = await (await browser.new_context(locale="fr-FR", bypass_csp=axe)).new_page()
    await page.goto(f"{base}{at}")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{at}")
    return page


async def violations(page: Page) -> list[tuple[str, str]]:
    """axe-core's serious and critical violations on the page (its context from sign_in(axe=True))."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def in_review(d: Driver, **kw) -> str:
    h = await d.start(make_submission(f"WEB-{uuid.uuid4().hex[:6].upper()}", **kw))
    await d.reach(h, Stage.REVIEW)
    return h.id


async def test_an_officer_withdraws_an_application_from_its_page(site):
    d, _, base, browser = site
    app_id = await in_review(d)
    page = await sign_in(browser, base, "officer-amina")
    await page.click(f"a[href='/applications/{app_id}']")
    assert await page.text_content("#stage") == "Évaluation"
    await page.fill("#withdraw-reason", "L'association a demandé le retrait")
    await page.click("#action-withdraw button[type=submit]")
    await page.wait_for_selector("text=C'est fait.")
    assert await page.text_content("#stage") == "Retirée"
    status = await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status)
    assert status.stage == Stage.WITHDRAWN and "officer-amina" in status.history[-1].note


async def test_a_workflows_change_appears_on_an_open_page_without_a_reload(site):
    d, _, base, browser = site
    app_id = await in_review(d)
    page = await sign_in(browser, base, "officer-amina")
    await page.goto(f"{base}/applications/{app_id}")
    assert await page.text_content("#stage") == "Évaluation"
    # Someone else acts (the CLI, the gateway): the open page follows.
    await d.client.get_workflow_handle(app_id).execute_update(
        ApplicationWorkflow.withdraw, Withdrawal(requested_by="officer-karim", reason="par téléphone")
    )
    await expect(page.locator("#stage")).to_have_text("Retirée", timeout=10_000)


async def test_arabic_pages_are_right_to_left_and_screenshots_are_kept(site):
    d, _, base, browser = site
    app_id = await in_review(d)
    page = await sign_in(browser, base, "officer-amina")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "board-fr.png", full_page=True)
    await page.goto(f"{base}/applications/{app_id}")
    await page.screenshot(path=ARTIFACTS / "application-fr.png", full_page=True)
    await page.select_option("#language", "ar")
    await page.click("form[action='/language'] button")
    await page.wait_for_selector("html[dir=rtl]")
    assert await page.get_attribute("html", "lang") == "ar"
    assert await page.text_content("#stage") == "التقييم"
    # Laid out right to left: the facts' labels sit right of their values.
    label = await page.locator(".facts dt").first.bounding_box()
    value = await page.locator(".facts dd").first.bounding_box()
    assert label["x"] > value["x"]
    await page.screenshot(path=ARTIFACTS / "application-ar.png", full_page=True)
    await page.goto(f"{base}/applications")
    await page.screenshot(path=ARTIFACTS / "board-ar.png", full_page=True)
    assert all(
        (ARTIFACTS / f"{p}-{lang}.png").stat().st_size > 10_000
        for p in ("board", "application")
        for lang in ("fr", "ar")
    )


async def test_a_script_typed_into_an_application_does_not_run(site):
    d, s, base, browser = site
    app_id = await in_review(d)
    with s.repo.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE applications SET title = ? WHERE application_id = ?",
            ('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Atelier', app_id),
        )
    page = await sign_in(browser, base, "officer-amina")
    for url in (f"{base}/applications", f"{base}/applications/{app_id}"):
        await page.goto(url)
        assert await page.evaluate("window.pwned") is None
    assert "<script>window.pwned = 1</script>" in await page.text_content("h1")


async def test_a_regions_agent_cannot_open_another_regions_application(site):
    d, _, base, browser = site
    haouz = await in_review(d, region_code="07", province="Al Haouz")
    page = await sign_in(browser, base, "agent-oriental")
    answer = await page.goto(f"{base}/applications/{haouz}")
    assert answer.status == 403 and await page.text_content("h1") == "Accès refusé"


async def test_the_main_pages_have_no_serious_accessibility_violation(site):
    d, s, base, browser = site
    app_id = await in_review(d)
    page = await sign_in(browser, base, "officer-amina", at="/", axe=True)
    pages = {
        "login": f"{base}/login",
        "waiting on me": f"{base}/",
        "board": f"{base}/applications",
        "application": f"{base}/applications/{app_id}",
        "editions": f"{base}/editions",
        "dashboard": f"{base}/editions/{dashboard_edition(s)}",
    }
    for name, url in pages.items():
        await page.goto(url)
        assert not await violations(page), name


async def test_a_reviewer_sees_only_assigned_applications_and_no_identity_in_a_blind_review(site):
    d, s, base, browser = site
    now = datetime.now(UTC)
    for login in ("reviewer-amal", "reviewer-zineb"):
        s.accounts.create(login, login.split("-")[1].title(), PASSWORD, ["reviewer"], by="test-admin")
        s.repo.set_reviewer(ReviewerProfile(reviewer_id=login, sectors=(Sector.HANDICRAFTS,)), now)
    blind = Driver(d.env, d.task_queue, settings_with(review_assignment=ReviewAssignment.AUTOMATIC, blind_review=True))
    reg = f"WEB-{uuid.uuid4().hex[:6].upper()}"
    h = await blind.start(make_submission(reg))
    await blind.reach(h, Stage.REVIEW, "2 reviews")
    unassigned = await in_review(d)  # an application of an open edition: nobody assigned

    page = await sign_in(browser, base, "reviewer-amal", at="/reviews", axe=True)
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    assert "Atelier de tissage de tapis" in await rows.first.text_content()
    assert (await page.goto(f"{base}/applications/{unassigned}")).status == 403
    await page.goto(f"{base}/reviews")
    await page.click("tbody a")
    body = await page.text_content("body")
    assert reg not in body and "aveugle" in body and "Innovation" in body
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "review-fr.png", full_page=True)
    assert not await violations(page)
    for criterion in ("innovation", "income_generation", "jobs", "inclusion", "sustainability", "feasibility"):
        await page.fill(f"#score-{criterion}", "7")
    await page.check("#no_conflict")
    await page.click("#review-form button[type=submit]")
    await page.wait_for_selector("text=C'est fait.")
    assert await page.text_content("#assignment") == "évaluée"
    assert (await h.query(ApplicationWorkflow.get_status)).reviews == 1


DASHBOARD = 93  # an edition of 400 applications in every stage, with awards, payments and reports


def dashboard_edition(s) -> int:
    with s.repo.engine.connect() as conn:
        if conn.execute(select(EditionRow.edition).where(EditionRow.edition == DASHBOARD)).first() is None:
            seed(s.repo.engine, 400, edition=DASHBOARD)
    return DASHBOARD


async def test_the_dashboards_charts_grow_from_the_right_in_arabic_and_screenshots_are_kept(site):
    _, s, base, browser = site
    edition = dashboard_edition(s)
    page = await sign_in(browser, base, "officer-amina")
    await page.goto(f"{base}/editions/{edition}")
    await page.select_option("#language", "fr")  # the user's choice sticks: another test may have left Arabic
    await page.click("form[action='/language'] button")
    await page.wait_for_selector("html[lang=fr]")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chart = page.locator("svg[aria-labelledby='chart-regions-title']")
    svg, bar = await chart.bounding_box(), await chart.locator("rect.bar").first.bounding_box()
    assert bar["x"] - svg["x"] < svg["width"] / 2  # French: bars start on the left
    await page.screenshot(path=ARTIFACTS / "dashboard-fr.png", full_page=True)
    await page.select_option("#language", "ar")
    await page.click("form[action='/language'] button")
    await page.wait_for_selector("html[dir=rtl]")
    svg, bar = await chart.bounding_box(), await chart.locator("rect.bar").first.bounding_box()
    assert svg["x"] + svg["width"] - (bar["x"] + bar["width"]) < svg["width"] / 2  # Arabic: on the right
    label = await chart.locator("text.label").first.bounding_box()
    assert label["x"] > bar["x"] + bar["width"] - 1  # the region's name right of its bar
    await page.screenshot(path=ARTIFACTS / "dashboard-ar.png", full_page=True)
    assert all((ARTIFACTS / f"dashboard-{lang}.png").stat().st_size > 10_000 for lang in ("fr", "ar"))


async def test_the_dashboards_map_shows_the_twelve_regions_named_in_each_language(site):
    _, s, base, browser = site
    edition = dashboard_edition(s)
    page = await sign_in(browser, base, "officer-amina", at=f"/editions/{edition}", axe=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figure = page.locator("figure.region-map")
    for language, name in (("fr", "name_fr"), ("ar", "name_ar")):
        await page.select_option("#language", language)
        await page.click("form[action='/language'] button")
        await page.wait_for_selector(f"html[lang={language}]")
        regions = figure.locator("svg[role=img] g.region")
        assert await regions.count() == 12
        for i in range(12):  # each Region drawn, with room, its number on it
            box = await regions.nth(i).bounding_box()
            assert box["width"] > 5 and box["height"] > 5
        codes = await regions.evaluate_all("gs => gs.map(g => g.dataset.region)")
        assert codes == [f"{n:02d}" for n in range(1, 13)]
        key = [" ".join(t.split()) for t in await figure.locator(".map-key bdi").all_inner_texts()]
        assert key == [r[name] for _, r in sorted(reference_regions().items())]
        assert await figure.locator("g.region.step5").count() >= 1  # the Region most awarded, darkest
        assert not await violations(page)
        await figure.screenshot(path=ARTIFACTS / f"dashboard-map-{language}.png")
    assert all((ARTIFACTS / f"dashboard-map-{lang}.png").stat().st_size > 10_000 for lang in ("fr", "ar"))
