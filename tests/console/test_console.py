"""The console on the server side, as each role uses it: sign-in, sessions, CSRF, roles and
scopes on every route, actions through the front door answered by the workflow's own rule, the
board and its CSV export, inert display of hostile text, languages.

The production worker (worker.build_worker) runs on the time-skipping server; the console app
(console.app.create_app) is called in process over HTTP (httpx's ASGI transport).
"""

import csv
import hashlib
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from audit import timeline_documents
from bench.console import seed
from charts.bars import LABEL, VALUE, WIDTH
from console import editions
from console.accounts import Accounts, verify_trail
from console.actions import ACTIONS, NOT_UTF8
from console.app import console_state, create_app
from console.board import WAITING_FOR
from console.i18n import LANGUAGES, LOCALE_DIR, Words
from console.web import TEMPLATES
from console.work import ORDER_STATES, WAITING_ON
from documents.render import KINDS
from domain.db.edition_repository import EditionRepository
from domain.db.outbox import STATES, OutboxRow
from domain.db.people_tables import ConsoleSession, ConsoleUser
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.db.tables import Application, EditionRow
from domain.documents import SCAN_REFUSALS
from domain.edition import Criterion, ReviewAssignment, edition_4_settings
from domain.edition_messages import Phase
from domain.messages import Kind
from domain.models import Decision, PaymentOrder, Stage
from domain.reference import LegalForm, Sector
from domain.report import build_report
from domain.reviewers import ReviewerProfile
from infra.settings import Settings
from simulation.driver import Driver
from simulation.factories import make_submission, settings_with, valid_rib
from tests.console.sessions import PASSWORD, browser, csrf_of, signed_in
from tests.workflows.test_edition import EditionDriver, edition_settings
from worker import build_worker
from workflows.application import ApplicationWorkflow

USERS = {
    "officer-amina": ["officer"],
    "finance-karim": ["finance"],
    "finance-salma": ["finance"],
    "agent-oriental": ["region-council:02"],
    "auditor-salma": ["auditor"],
    "reader-arabic": ["auditor"],
    "officer-arabic": ["officer"],
    "committee-youssef": ["committee"],
    "officer-test": ["committee", "officer"],
    "admin-nadia": ["admin"],  # closed the call in the committee test: cannot confirm
}


@pytest.fixture(scope="module")
async def world(ts_env, tmp_path_factory, executor):
    here = tmp_path_factory.mktemp("console")
    engine = make_engine(f"sqlite:///{here / 'moazara.db'}")
    migrate(engine)
    # One document store for the worker and the console, as in the embedded default.
    settings = Settings(
        task_queue=f"console-{uuid.uuid4().hex[:8]}",
        database_url=str(engine.url),
        documents_dir=str(here / "documents"),
    )
    s = console_state(settings, engine)
    s.client = ts_env.client
    for login, roles in USERS.items():
        s.accounts.create(login, login.split("-")[1].title(), PASSWORD, roles, by="test-admin")
    async with build_worker(ts_env.client, Repository(engine), settings, executor):
        d = Driver(ts_env, settings.task_queue, edition_4_settings())
        yield d, s, create_app(s)
        await d.cleanup()
    engine.dispose()


async def in_review(d: Driver, **kw) -> str:
    h = await d.start(make_submission(f"CONS-{uuid.uuid4().hex[:6].upper()}", **kw))
    await d.reach(h, Stage.REVIEW)
    return h.id


async def test_sign_in_sets_a_strict_http_only_cookie_and_every_page_has_the_security_headers(world):
    _, _, app = world
    c = await browser(app)
    assert (await c.get("/applications")).headers["location"] == "/login?next=%2Fapplications"
    page = await c.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    r = await c.post("/login", data={"csrf": csrf_of(page.text), "login": "officer-amina", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert r.status_code == 303 and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert (await c.get("/applications")).status_code == 200


async def test_a_wrong_password_is_refused_and_repeated_failures_are_slowed_down(world):
    _, _, app = world
    c = await browser(app)
    token = csrf_of((await c.get("/login")).text)
    answers = [
        (await c.post("/login", data={"csrf": token, "login": "target-of-guessing", "password": "guess"})).status_code
        for _ in range(6)
    ]
    assert answers == [401] * 5 + [429]
    assert (await c.post("/login", data={"csrf": "forged", "login": "x", "password": "y"})).status_code == 403


async def test_an_officer_withdraws_through_the_workflow_and_is_recorded_as_the_actor(world):
    d, _, app = world
    app_id = await in_review(d)
    c = await signed_in(app, "officer-amina")
    page = await c.get(f"/applications/{app_id}")
    assert 'action="/applications/' + app_id + '/actions/withdraw"' in page.text
    forged = {"csrf": csrf_of(page.text), "reason": "the association asked", "requested_by": "someone-else"}
    r = await c.post(f"/applications/{app_id}/actions/withdraw", data=forged)
    assert r.status_code == 422 and "not a field of this form: requested_by" in r.text  # the actor is never typed
    r = await c.post(f"/applications/{app_id}/actions/withdraw", data={k: forged[k] for k in ("csrf", "reason")})
    assert r.status_code == 303, r.text
    status = await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status)
    assert status.stage == Stage.WITHDRAWN
    assert "officer-amina" in status.history[-1].note and "someone-else" not in status.history[-1].note


async def test_a_refusal_shows_the_workflows_reason_and_changes_nothing(world):
    d, _, app = world
    app_id = await in_review(d)
    c = await signed_in(app, "officer-amina")
    csrf = csrf_of((await c.get(f"/applications/{app_id}")).text)
    before = await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status)
    r = await c.post(f"/applications/{app_id}/actions/site-visit", data={"csrf": csrf, "visited_on": "2024-03-01"})
    assert r.status_code == 409 and "Refusé" in r.text and "stage" in r.text
    r = await c.post(f"/applications/{app_id}/actions/cancel", data={"csrf": csrf, "reason": ""})
    assert r.status_code == 422 and "reason:" in r.text
    assert await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status) == before


async def test_forms_need_the_sessions_csrf_token(world):
    d, _, app = world
    app_id = await in_review(d)
    c = await signed_in(app, "officer-amina")
    for token in ("", "forged"):
        r = await c.post(f"/applications/{app_id}/actions/withdraw", data={"csrf": token, "reason": "x"})
        assert r.status_code == 403
    assert (await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status)).stage == Stage.REVIEW


@pytest.mark.parametrize(
    "login, action",
    [
        ("finance-karim", "withdraw"),
        ("auditor-salma", "withdraw"),
        ("officer-amina", "fix-bank"),
        ("auditor-salma", "retry-payments"),
    ],
)
async def test_a_role_without_the_action_gets_403_even_when_posting_directly(world, login, action):
    d, _, app = world
    app_id = await in_review(d)
    c = await signed_in(app, login)
    page = await c.get(f"/applications/{app_id}")
    assert f"/actions/{action}" not in page.text  # not offered
    r = await c.post(f"/applications/{app_id}/actions/{action}", data={"csrf": csrf_of(page.text), "reason": "x"})
    assert r.status_code == 403
    assert (await d.client.get_workflow_handle(app_id).query(ApplicationWorkflow.get_status)).stage == Stage.REVIEW


async def test_a_regions_agent_sees_and_opens_only_their_regions_applications(world):
    d, _, app = world
    oriental = await in_review(d, region_code="02", province="Oujda-Angad")
    haouz = await in_review(d, region_code="07", province="Al Haouz")
    c = await signed_in(app, "agent-oriental")
    board = (await c.get("/applications?region=07")).text
    assert oriental in board and haouz not in board
    assert (await c.get(f"/applications/{oriental}")).status_code == 200
    assert (await c.get(f"/applications/{haouz}")).status_code == 403
    csv_text = (await c.get("/applications.csv")).text
    assert oriental in csv_text and haouz not in csv_text


async def test_hostile_text_is_shown_inert_and_the_csv_opens_safely_in_a_spreadsheet(world):
    d, s, app = world
    app_id = await in_review(d)
    # What a partner system could have stored: markup in the title and the name, a formula.
    with s.repo.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE applications SET title = ?, applicant_name = ? WHERE application_id = ?",
            ("<script>alert(1)</script> Atelier", '=HYPERLINK("http://evil") جمعية الأمل', app_id),
        )
    c = await signed_in(app, "officer-amina")
    for page in (await c.get(f"/applications/{app_id}"), await c.get("/applications?q=HYPERLINK")):
        assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Atelier" in (await c.get(f"/applications/{app_id}")).text
    r = await c.get("/applications.csv?q=HYPERLINK")
    assert r.content.startswith("\ufeff".encode())
    [row] = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert row["name"] == '\'=HYPERLINK("http://evil") جمعية الأمل' and row["id"] == app_id
    kinds = [(e.kind, e.actor) for e in s.accounts.trail()]
    assert ("export", "officer-amina") in kinds  # an export of personal data is on the access trail


async def test_deactivating_someone_ends_their_sessions_at_once_and_is_on_the_access_trail(world):
    _, s, app = world
    s.accounts.create("leaver-omar", "Omar", PASSWORD, ["officer"], by="admin-test")
    c = await signed_in(app, "leaver-omar")
    assert (await c.get("/applications")).status_code == 200
    s.accounts.deactivate("leaver-omar", by="admin-test")
    assert (await c.get("/applications")).headers["location"] == "/login?next=%2Fapplications"
    trail = s.accounts.trail()
    assert [(e.kind, e.subject) for e in trail if e.subject == "leaver-omar"] == [
        ("role_granted", "leaver-omar"),
        ("deactivated", "leaver-omar"),
    ]
    assert verify_trail(trail) is None
    with s.repo.engine.begin() as conn:  # an edited entry breaks the chain there
        conn.exec_driver_sql("UPDATE access_log SET actor = 'someone' WHERE kind = 'deactivated'")
    broken = verify_trail(Accounts(s.repo.engine).trail())
    assert broken == next(e.seq for e in trail if e.kind == "deactivated")
    with s.repo.engine.begin() as conn:  # put it back: the trail is shared with the other tests
        conn.exec_driver_sql("UPDATE access_log SET actor = 'admin-test' WHERE kind = 'deactivated'")
    assert verify_trail(s.accounts.trail()) is None


async def test_arabic_is_laid_out_right_to_left_and_the_choice_sticks(world):
    d, s, app = world
    app_id = await in_review(d)
    c = await signed_in(app, "reader-arabic")
    page = await c.get(f"/applications/{app_id}")
    assert '<html lang="fr" dir="ltr">' in page.text and "Étape" in page.text
    r = await c.post("/language", data={"csrf": csrf_of(page.text), "language": "ar"})
    assert r.status_code == 303
    page = await c.get(f"/applications/{app_id}")
    assert '<html lang="ar" dir="rtl">' in page.text and "المرحلة" in page.text and "التقييم" in page.text
    with s.repo.engine.connect() as conn:
        assert conn.execute(select(ConsoleUser.language).where(ConsoleUser.login == "reader-arabic")).scalar() == "ar"


async def test_an_arabic_officer_reads_the_workflows_refusal_and_what_it_waits_for_in_arabic(world):
    d, _, app = world
    app_id = await in_review(d)
    c = await signed_in(app, "officer-arabic")
    page = await c.get(f"/applications/{app_id}")
    await c.post("/language", data={"csrf": csrf_of(page.text), "language": "ar"})
    page = await c.get(f"/applications/{app_id}")
    k = edition_4_settings().reviewers_per_application
    assert f"{k} تقييمات" in page.text  # waiting for: "3 reviews", from its code
    r = await c.post(
        f"/applications/{app_id}/actions/site-visit", data={"csrf": csrf_of(page.text), "visited_on": "2024-03-01"}
    )
    assert r.status_code == 409
    assert "لا تُبرمج أي زيارة ميدانية في مرحلة «التقييم»" in r.text  # the workflow's code, said in Arabic
    assert "no site visit" not in r.text


def _message_ids() -> set[str]:
    ids: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        ids |= set(re.findall(r"""(?<![\w.])t\(\s*["']([^"']+)["']""", template.read_text("utf-8")))
    ids = {i for i in ids if not i.endswith(":") or i == "Refused:"}  # families, added below
    ids |= {f"phase:{p.value}" for p in Phase} | {f"decision:{x.value}" for x in Decision}
    ids |= {"envelope:ministry", "envelope:ministry-priority"}
    ids |= {what for stages in WAITING_ON.values() for what in stages.values()} | {f"order:{s}" for s in ORDER_STATES}
    ids |= {"the Region's co-funding decision", "bank details to fix", "a payment order to send again"}
    ids |= {a.label for a in ACTIONS.values()} | {f.label for a in ACTIONS.values() for f in a.fields}
    ids |= {f"stage:{s.value}" for s in Stage} | {"Wrong login or password", "Too many attempts"}
    ids |= {f"sector:{x.value}" for x in Sector} | {f"criterion:{c.value}" for c in Criterion}
    ids |= {f"assignment:{state}" for state in ("assigned", "reviewed", "recused")} | {"a review to score"}
    ids |= {f"msgkind:{k.value}" for k in Kind} | {f"msgstate:{state}" for state in STATES}
    ids |= {f"document:{kind}" for kind in (*KINDS, "payment_advice", "signed_scan")}
    ids |= set(timeline_documents.DOCUMENT_LINES.values()) | set(
        SCAN_REFUSALS
    )  # the auditor's timeline, a refused scan
    ids |= {NOT_UTF8}  # a form's text that was not UTF-8
    ids |= {f"legal_form:{x.value}" for x in LegalForm} | {what for _, what in WAITING_FOR.values()}
    ids |= set(editions.WORDS)
    return ids


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_word_the_console_shows_is_translated_in_each_language(language):
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = sorted(m for m in _message_ids() if m not in catalog or not catalog[m].string)
    assert not missing, f"{language}: no translation for {missing}"
    words = Words(language)
    assert words("{n} applications", n=3).startswith("3") and words("stage:review") != "stage:review"


async def test_waiting_on_me_lists_what_the_role_must_do_oldest_first(world):
    d, _, app = world
    h = await d.start(make_submission(f"CONS-{uuid.uuid4().hex[:6].upper()}"))
    await d.review_all(h)
    await d.select(h)
    await d.reach(h, Stage.AGREEMENT)
    c = await signed_in(app, "officer-amina")
    home = (await c.get("/")).text
    row = next(line for line in home.split("<tr>") if h.id in line)
    assert "la convention de financement à signer" in row and "Convention" in row
    due = (await d.status(h)).since + timedelta(days=edition_4_settings().agreement_deadline_days)
    assert Words("fr")("due {date}", date=Words("fr").date(due)) in row  # when it is due
    assert h.id not in (await (await signed_in(app, "auditor-salma")).get("/")).text


async def test_finance_fixes_bank_details_and_a_second_person_approves(world):
    d, _, app = world
    h = await d.start(make_submission(f"CONS-{uuid.uuid4().hex[:6].upper()}"))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    await d.pay_pending(h, executed=False)  # the bank rejects the order: account closed
    karim = await signed_in(app, "finance-karim")
    assert h.id in (await karim.get("/")).text  # bank details to fix: waits on finance
    page = await karim.get(f"/applications/{h.id}")
    r = await karim.post(
        f"/applications/{h.id}/actions/fix-bank", data={"csrf": csrf_of(page.text), "bank_account": valid_rib(31)}
    )
    assert r.status_code == 303, r.text
    page = await karim.get(f"/applications/{h.id}")
    assert "modification demandée par finance-karim" in page.text
    assert valid_rib(31) not in page.text
    r = await karim.post(
        f"/applications/{h.id}/actions/approve-bank", data={"csrf": csrf_of(page.text), "approved": "yes"}
    )
    assert r.status_code == 409 and "quatre yeux" in r.text  # the workflow's rule, on the signed-in user
    assert "finance-karim a demandé cette modification" in r.text  # in French, from its code and parameters
    salma = await signed_in(app, "finance-salma")
    page = await salma.get(f"/applications/{h.id}")
    r = await salma.post(
        f"/applications/{h.id}/actions/approve-bank", data={"csrf": csrf_of(page.text), "approved": "yes"}
    )
    assert r.status_code == 303, r.text
    status = await d.status(h)
    assert status.orders[0].attempt == 2 and status.orders[0].status == "sent"
    listing = (await salma.get("/payments?status=sent")).text
    assert status.orders[0].key in listing and "Transmis" in listing
    assert (await (await signed_in(app, "officer-amina")).get("/payments")).status_code == 403


async def test_the_committee_runs_a_what_if_that_stores_nothing_then_confirms_with_four_eyes(world):
    d, s, app = world
    number = 77
    settings = edition_settings(await d.env.get_current_time(), number)
    ed = EditionDriver(d.env, d.task_queue, settings)
    edition = await ed.open(settings)
    subs = [make_submission(f"COM-{n}-{uuid.uuid4().hex[:4].upper()}", edition=number) for n in range(3)]
    scores = dict(zip([x.applicant.registration_number for x in subs], (9, 8, 7), strict=True))
    await ed.submit_and_review(edition, subs, scores)
    await ed.run_committee(edition)  # closed by officer-test; two projects fill the 80,000 MAD envelope
    repo = EditionRepository(s.repo.engine)
    stored = [(r.application_id, r.decision) for r in repo.round_rows(number, 0)]
    assert [dec for _, dec in stored] == ["selected", "selected", "waitlisted"]

    member = await signed_in(app, "committee-youssef")
    page = await member.get(f"/editions/{number}/committee")
    assert page.status_code == 200 and all(app_id in page.text for app_id, _ in stored)
    # envelopes named as people name them: the ministry's, a partner Region's by its name
    assert "Ministère (national)" in page.text and "Enveloppe de la région Fès-Meknès" in page.text
    same = await member.get(f"/editions/{number}/committee?ministry_envelope=80000.00&min_score=50")
    assert "Aucun projet n&#39;entre ni ne sort." in same.text  # the what-if reproduces the proposal
    smaller = await member.get(f"/editions/{number}/committee?ministry_envelope=40000")
    changes = smaller.text.split('id="changes"')[1].split("</table>")[0]
    assert stored[1][0] in changes and "Retenu" in changes and "Liste d&#39;attente" in changes
    assert stored[0][0] not in changes
    assert [(r.application_id, r.decision) for r in repo.round_rows(number, 0)] == stored  # nothing stored

    closer = await signed_in(app, "officer-test")
    page = await closer.get(f"/editions/{number}/committee")
    r = await closer.post(f"/editions/{number}/committee/confirm", data={"csrf": csrf_of(page.text), "note": ""})
    assert r.status_code == 409 and "quatre yeux" in r.text and "officer-test a clôturé" in r.text
    page = await member.get(f"/editions/{number}/committee")
    r = await member.post(f"/editions/{number}/committee/confirm", data={"csrf": csrf_of(page.text), "note": "ok"})
    assert r.status_code == 303, r.text
    assert repo.get_edition(number)["confirmed_by"] == "committee-youssef"
    listing = await member.get("/editions")
    assert f'href="/editions/{number}/committee"' in listing.text
    board = await member.get(f"/editions/{number}")
    assert board.status_code == 200 and "Demandes par étape" in board.text and "<progress" in board.text
    assert "Ministère (national)" in board.text and "80\u202f000,00\xa0MAD" in board.text
    finance = await signed_in(app, "finance-karim")
    token = csrf_of((await finance.get("/applications")).text)
    assert (await finance.post(f"/editions/{number}/committee/confirm", data={"csrf": token})).status_code == 403


async def test_the_auditor_sees_the_timeline_the_chain_and_the_money_and_exports_the_history(world):
    d, s, app = world
    app_id = await in_review(d)
    officer = await signed_in(app, "officer-amina")
    page = await officer.get(f"/applications/{app_id}")
    await officer.post(f"/applications/{app_id}/actions/withdraw", data={"csrf": csrf_of(page.text), "reason": "r"})
    auditor = await signed_in(app, "auditor-salma")
    page = await auditor.get(f"/applications/{app_id}/audit")
    assert page.status_code == 200
    assert 'id="chain-ok"' in page.text and 'id="money-ok"' in page.text
    assert 'id="from-archive"' not in page.text  # the server's own history (test_console_archive.py: the archive's)
    timeline_html = page.text.split('id="timeline"')[1]
    assert "officer-amina via console" in timeline_html and "withdrawal: r" in timeline_html
    exported = await auditor.get(f"/applications/{app_id}/history.json")
    assert (
        exported.status_code == 200
        and exported.json()["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    )
    assert ("export", "auditor-salma", f"history {app_id}") in [
        (e.kind, e.actor, e.subject) for e in s.accounts.trail()
    ]
    assert (await officer.get(f"/applications/{app_id}/history.json")).status_code == 403


async def test_an_admin_adds_a_user_changes_roles_and_deactivates_all_on_the_access_trail(world):
    _, s, app = world
    admin = await signed_in(app, "admin-nadia")
    page = await admin.get("/admin/users")
    assert page.status_code == 200 and 'id="trail-ok"' in page.text
    token = csrf_of(page.text)
    new = {"csrf": token, "login": "newcomer-ali", "display_name": "Ali", "password": PASSWORD, "roles": "officer"}
    assert (await admin.post("/admin/users", data=new)).status_code == 303
    bad = await admin.post("/admin/users", data={**new, "login": "x", "roles": "superuser"})
    assert bad.status_code == 422 and "superuser" in bad.text
    ali = await signed_in(app, "newcomer-ali")
    assert (await ali.get("/applications")).status_code == 200
    r = await admin.post("/admin/users/newcomer-ali/roles", data={"csrf": token, "roles": "officer region-council:02"})
    assert r.status_code == 303
    assert (await admin.post("/admin/users/newcomer-ali/deactivate", data={"csrf": token})).status_code == 303
    assert (await ali.get("/applications")).headers["location"].startswith("/login")
    mine = [(e.kind, e.payload.get("role"), e.actor) for e in s.accounts.trail() if e.subject == "newcomer-ali"]
    assert mine == [
        ("role_granted", "officer", "admin-nadia"),
        ("role_granted", "region-council:02", "admin-nadia"),
        ("deactivated", None, "admin-nadia"),
    ]
    officer = await signed_in(app, "officer-amina")
    assert (await officer.get("/admin/users")).status_code == 403


async def test_an_expired_session_signs_the_user_out(world):
    _, s, app = world
    c = await signed_in(app, "auditor-salma")
    assert (await c.get("/applications")).status_code == 200
    with s.repo.engine.begin() as conn:
        conn.execute(
            update(ConsoleSession)
            .where(ConsoleSession.login == "auditor-salma")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await c.get("/applications")).headers["location"].startswith("/login")


async def test_a_reviewer_sees_only_their_assignments_blind_and_never_others_scores_before_their_own(world):
    d, s, app = world
    at = datetime.now(UTC)
    reg, other_reg = (f"CONS-{uuid.uuid4().hex[:6].upper()}" for _ in range(2))
    for login in ("reviewer-amal", "reviewer-zineb", "reviewer-brahim"):
        s.accounts.create(login, login.split("-")[1].title(), PASSWORD, ["reviewer"], by="test-admin")
        links = (reg,) if login == "reviewer-brahim" else ()  # brahim declared a link with the first applicant
        s.repo.set_reviewer(ReviewerProfile(reviewer_id=login, sectors=(Sector.HANDICRAFTS,), declared_links=links), at)
    blind = Driver(d.env, d.task_queue, settings_with(review_assignment=ReviewAssignment.AUTOMATIC, blind_review=True))
    h = await blind.start(make_submission(reg))
    assert (await blind.reach(h, Stage.REVIEW, "2 reviews")).reviewers == ["reviewer-amal", "reviewer-zineb"]
    amal, zineb, brahim = [await signed_in(app, f"reviewer-{n}") for n in ("amal", "zineb", "brahim")]

    mine = await amal.get("/reviews")
    number = re.search(r'href="/reviews/(\d+)"', mine.text)[1]
    assert "Atelier de tissage de tapis" in mine.text
    assert "Atelier" not in (await brahim.get("/reviews")).text  # not assigned: not listed, not readable
    assert (await brahim.get(f"/reviews/{number}")).status_code == 403
    assert (await amal.get(f"/applications/{h.id}")).status_code == 403
    assert (await amal.get("/applications")).status_code == 403
    assert f'href="/reviews/{number}"' in (await amal.get("/")).text  # waiting on her

    page = await amal.get(f"/reviews/{number}")
    assert page.status_code == 200 and "Atelier de tissage de tapis" in page.text
    assert reg not in page.text and reg.lower() not in page.text.lower()  # neither the number nor the name holding it
    assert "Évaluation à l'aveugle" in page.text or "aveugle" in page.text
    assert "Innovation" in page.text and "20" in page.text  # each criterion with its weight
    scores = {f"score-{c.value}": "8" for c in Criterion}
    undeclared = await amal.post(f"/reviews/{number}", data={"csrf": csrf_of(page.text), **scores})
    assert undeclared.status_code == 422 and "conflit" in undeclared.text
    assert (await h.query(ApplicationWorkflow.get_status)).reviews == 0
    sent = {"csrf": csrf_of(page.text), **scores, "comment": "amal: solid plan", "no_conflict": "yes"}
    assert (await amal.post(f"/reviews/{number}", data=sent)).status_code == 303
    assert (await h.query(ApplicationWorkflow.get_status)).reviews == 1

    zineb_number = re.search(r'href="/reviews/(\d+)"', (await zineb.get("/reviews")).text)[1]
    before = await zineb.get(f"/reviews/{zineb_number}")
    assert "amal: solid plan" not in before.text  # another's review, before her own
    sent = {"csrf": csrf_of(before.text), **{k: "6" for k in scores}, "no_conflict": "yes"}
    assert (await zineb.post(f"/reviews/{zineb_number}", data=sent)).status_code == 303
    after = await zineb.get(f"/reviews/{zineb_number}")
    assert "amal: solid plan" in after.text and "80" in after.text
    await blind.reach(h, Stage.COMMITTEE)

    # A recusal: replaced by the rule; the officer sees who was asked and why one stepped down.
    h2 = await blind.start(make_submission(other_reg))
    assigned = (await blind.reach(h2, Stage.REVIEW, "2 reviews")).reviewers
    assert "reviewer-brahim" in assigned  # no link with this applicant, the lightest load
    leaving = next(r for r in assigned if r != "reviewer-brahim")
    who = amal if leaving == "reviewer-amal" else zineb
    number = re.search(r'href="/reviews/(\d+)"', (await who.get("/reviews")).text)[1]
    page = await who.get(f"/reviews/{number}")
    r = await who.post(f"/reviews/{number}/recuse", data={"csrf": csrf_of(page.text), "reason": "my cousin"})
    assert r.status_code == 303
    replacement = ({"reviewer-amal", "reviewer-zineb"} - {leaving}).pop()
    assert (await h2.query(ApplicationWorkflow.get_status)).reviewers == ["reviewer-brahim", replacement]
    officer = await signed_in(app, "officer-amina")
    shown = (await officer.get(f"/applications/{h2.id}")).text
    assert "my cousin" in shown and "reviewer-brahim" in shown and "/actions/assign-reviewers" in shown


# --- The board's filters and the edition's dashboard, on rows written as the workflows write them ---


def _application(edition: int, number: str, stage: str, days: float, **kw) -> dict:
    now = datetime.now(UTC)
    app_id = f"moazara-{edition}-{number}"
    return {
        "application_id": app_id,
        "edition": edition,
        "registration_number": number,
        "applicant_name": f"Association {number}",
        "legal_form": "association",
        "region_code": "02",
        "province": "Oujda-Angad",
        "rural": False,
        "sector": Sector.TOURISM.value,
        "title": "Gîte rural",
        "total_cost": Decimal("50000.00"),
        "requested_amount": Decimal("40000.00"),
        "own_contribution": Decimal("10000.00"),
        "workflow_id": app_id,
        "stage": stage,
        "stage_since": now - timedelta(days=days),
        "submission": {},
        "submitted_by": "test",
        "submitted_at": now,
    } | kw


def _edition_row(edition: int, **settings) -> dict:
    values = edition_4_settings().model_copy(update={"edition": edition, **settings}).model_dump(mode="json")
    return {"edition": edition, "year": 2023, "settings": values, "workflow_id": f"moazara-edition-{edition}",
            "opened_by": "test", "opened_at": datetime.now(UTC)}  # fmt: skip


async def test_the_board_filters_by_sector_legal_form_what_it_waits_for_and_overdue_in_page_and_csv(world):
    _, s, app = world
    e = 91  # documents get 5 days in this edition; review keeps its default 21
    rows = [
        _application(e, "LATE-DOCS", Stage.AWAITING_DOCUMENTS.value, 10),
        _application(e, "COOP-DOCS", Stage.AWAITING_DOCUMENTS.value, 2, legal_form="cooperative", sector="handicrafts"),
        _application(e, "LATE-REVIEW", Stage.REVIEW.value, 30, legal_form="network"),
        _application(e, "COMMITTEE", Stage.COMMITTEE.value, 10, sector="health"),
    ]
    rows += [_application(e, f"EDU-{i:02d}", Stage.REVIEW.value, 40 + i, sector="education") for i in range(55)]
    with s.repo.engine.begin() as conn:
        conn.execute(insert(EditionRow), [_edition_row(e, documents_deadline_days=5)])
        conn.execute(insert(Application), rows)
    c = await signed_in(app, "officer-amina")

    async def shown(query: str) -> tuple[set[str], set[str], str]:
        page = (await c.get(f"/applications?edition={e}&{query}")).text
        r = await c.get(f"/applications.csv?edition={e}&{query}")
        ids = {row["id"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
        on_page = set(re.findall(rf'href="/applications/(moazara-{e}-[A-Z0-9-]+)"', page))
        return on_page, ids, page

    named = {r["registration_number"]: r["application_id"] for r in rows}
    on_page, in_csv, _ = await shown("sector=tourism")
    assert on_page == in_csv == {named["LATE-DOCS"], named["LATE-REVIEW"]}
    on_page, in_csv, page = await shown("legal_form=cooperative")
    assert on_page == in_csv == {named["COOP-DOCS"]}
    assert '<option value="cooperative" selected>' in page  # the form shows the filter it applied
    on_page, in_csv, page = await shown("waiting=documents")
    assert on_page == in_csv == {named["LATE-DOCS"], named["COOP-DOCS"]}
    assert "les pièces que le porteur doit compléter" in page
    on_page, in_csv, page = await shown("waiting=documents&overdue=1")
    assert on_page == in_csv == {named["LATE-DOCS"]}  # 10 days past a 5-day deadline; 2 days is not
    assert 'name="overdue" value="1" checked' in page and "en retard depuis" in page
    on_page, in_csv, _ = await shown("overdue=1&sector=tourism")
    assert on_page == in_csv == {named["LATE-DOCS"], named["LATE-REVIEW"]}  # 30 days past the default 21
    # 55 overdue reviews in education: two pages, the filters kept in the links and the export.
    on_page, in_csv, page = await shown("overdue=1&sector=education")
    assert len(on_page) == 50 and len(in_csv) == 55
    assert f"/applications?edition={e}&amp;sector=education&amp;overdue=1&amp;page=2" in page
    assert f"/applications.csv?edition={e}&amp;sector=education&amp;overdue=1" in page
    second = (await c.get(f"/applications?edition={e}&sector=education&overdue=1&page=2")).text
    assert len(set(re.findall(rf'href="/applications/(moazara-{e}-EDU-\d+)"', second))) == 5
    r = await c.get(f"/applications.csv?edition={e}&waiting=documents")
    [late] = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["id"] == named["LATE-DOCS"]]
    assert late["waiting"] == "documents" and late["overdue"] == "True" and late["due"]
    assert (await c.get("/applications?waiting=nothing")).status_code == 422


async def test_the_dashboard_draws_the_programme_reports_figures_as_charts_in_french_and_arabic(world):
    _, s, app = world
    e = 92
    seed(s.repo.engine, 600, edition=e)
    settings = editions.settings_of(EditionRepository(s.repo.engine), e)
    report = build_report(settings, EditionRepository(s.repo.engine).report_rows(e)["applications"])
    with Session(s.repo.engine) as db:
        f = editions.figures(db, settings)
    # The database's aggregates are the programme report's figures.
    assert f.by_stage == report.by_stage and f.total.applications == report.applications == 600
    assert {k: g.applications for k, g in f.by_sector.items()} == report.by_sector
    assert {k: g.applications for k, g in f.by_legal_form.items()} == report.by_legal_form
    assert {k: g.applications for k, g in f.by_region.items()} == report.by_region
    assert {k: g.applications for k, g in f.by_province.items()} == report.by_province
    assert f.total.funded == report.funded_projects and f.total.priority_funded == report.earthquake_zone_projects
    assert f.total.awarded == sum(m.awarded for m in report.money.values())
    assert f.total.priority_share == report.earthquake_zone_amount_share
    assert (
        f.total.women_share == report.indicators.women_share
        and f.total.reporting == report.indicators.projects_reporting
    )
    assert {k: f.total.indicators[k] for k in ("jobs_created", "beneficiaries", "women")} == {
        k: getattr(report.indicators, k) for k in ("jobs_created", "beneficiaries", "women")
    }
    c = await signed_in(app, "auditor-salma")
    page = (await c.get(f"/editions/{e}")).text
    assert page.count('role="img"') == 10 and not re.search(r"\sstyle=|<script>|<style", page)  # 9 charts, the map
    assert "Montants accordés par région" in page and Words("fr").money(f.total.awarded) in page
    svg = page.split('aria-labelledby="chart-regions-title"')[1].split("</svg>")[0]
    bars = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="16" class="bar">', svg)
    assert len(bars) == len(f.by_region) and all(float(x) == LABEL for x, _ in bars)  # from the left
    assert max(float(w) for _, w in bars) == WIDTH - LABEL - VALUE  # the largest fills the plot
    await c.post("/language", data={"csrf": csrf_of(page), "language": "ar"})
    page = (await c.get(f"/editions/{e}")).text
    assert "المبالغ الممنوحة حسب الجهة" in page and "الشرق" in page
    svg = page.split('aria-labelledby="chart-regions-title"')[1].split("</svg>")[0]
    assert 'direction="rtl"' in svg
    bars = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="16" class="bar">', svg)
    assert all(abs(float(x) + float(w) - (WIDTH - LABEL)) < 0.11 for x, w in bars)  # from the right
    assert (await (await signed_in(app, "agent-oriental")).get(f"/editions/{e}")).status_code == 403


async def test_ops_see_what_was_sent_and_send_a_dead_message_again(world):
    d, s, app = world
    app_id = await in_review(d)  # its submission's message is in the outbox (no address: undeliverable)
    with Session(s.repo.engine) as db, db.begin():
        row = db.scalars(select(OutboxRow).where(OutboxRow.application_id == app_id)).one()
        row.address, row.state, row.last_error = "contact@tilila.ma", "dead", "SMTP 550: no such mailbox"
        message_id = row.id
    officer = await signed_in(app, "officer-amina")
    page = await officer.get(f"/messages?state=dead&application={app_id}")
    assert page.status_code == 200 and "SMTP 550: no such mailbox" in page.text and "Accusé de réception" in page.text
    finance = await signed_in(app, "finance-karim")
    assert (await finance.get("/messages")).status_code == 200
    finance_page = await finance.get("/messages")
    r = await finance.post("/messages/resend", data={"csrf": csrf_of(finance_page.text), "id": message_id})
    assert r.status_code == 403  # finance reads; officers send again
    assert (await (await signed_in(app, "committee-youssef")).get("/messages")).status_code == 403
    r = await officer.post("/messages/resend", data={"csrf": csrf_of(page.text), "id": message_id})
    assert r.status_code == 303
    with Session(s.repo.engine) as db:
        assert db.get(OutboxRow, message_id).state == "pending"
    again = await officer.post("/messages/resend", data={"csrf": csrf_of(page.text), "id": message_id})
    assert again.status_code == 409  # no longer dead


async def test_an_officer_downloads_the_award_letter_and_agreement_with_their_hash(world, tmp_path):
    d, s, app = world
    s.settings = s.settings.model_copy(update={"documents_dir": str(tmp_path / "documents")})
    app_id = await in_review(d)
    officer = await signed_in(app, "officer-amina")
    assert (await officer.get(f"/applications/{app_id}/documents/agreement-fr.pdf")).status_code == 409  # no award
    s.repo.set_award(app_id, {"ministry": Decimal("40000.00")})
    page = await officer.get(f"/applications/{app_id}")
    assert (
        f"/applications/{app_id}/documents/agreement-ar.pdf" in page.text and "Convention de financement" in page.text
    )
    r = await officer.get(f"/applications/{app_id}/documents/agreement-ar.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["x-document-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert (tmp_path / "documents" / r.headers["x-document-sha256"][:2]).is_dir()  # kept in the store
    assert any("agreement" in e.subject and app_id in e.subject for e in s.accounts.trail())
    assert (await officer.get(f"/applications/{app_id}/documents/letter-fr.pdf")).status_code == 404
    agent = await signed_in(app, "agent-oriental")
    assert (await agent.get(f"/applications/{app_id}/documents/agreement-fr.pdf")).status_code == 403
    # A tranche paid: its payment advice, linked from the page.
    key, now = f"{app_id}:T1:ministry", datetime.now(UTC)
    order = PaymentOrder(key=key, application_id=app_id, tranche=1, funder="ministry", amount=Decimal("24000.00"))
    s.repo.create_payment_order(order, "rib-007-1234-0123456789abcdef", now)
    s.repo.record_payment(key, 1, "TGR-77", now)
    page = await officer.get(f"/applications/{app_id}")
    assert f"payment_advice-fr.pdf?order={key.replace(':', '%3A')}" in page.text
    r = await officer.get(f"/applications/{app_id}/documents/payment_advice-fr.pdf", params={"order": key})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    unknown = await officer.get(f"/applications/{app_id}/documents/payment_advice-fr.pdf", params={"order": "x"})
    assert unknown.status_code == 409
