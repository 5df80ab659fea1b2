"""The funding agreement in the console (issue 15, documents item 2): the officer's "agreement
signed" form sends the hash of the agreement the workflow issued (through the front door) with a
signed scan (a file: at most 10 MB, a PDF, PNG or JPEG by its first bytes), kept in the document
store and listed on the application's page; the auditor's timeline shows each document and its
hash, in the reader's language. Same world as tests/console/test_console.py (the production
worker on the time-skipping server, the console app over HTTP)."""

import hashlib
import uuid
from decimal import Decimal
from pathlib import Path

from domain.documents import MAX_SCAN_BYTES
from domain.models import Stage
from simulation.factories import make_submission, valid_rib
from tests.console.sessions import csrf_of, signed_in
from tests.console.test_console import world  # noqa: F401 - the fixture, module-scoped here too

JPEG = b"\xff\xd8\xff\xe0" + b"the agreement signed by both parties" * 20


async def test_an_officer_signs_with_a_scan_and_the_auditor_sees_each_document_and_its_hash(world):  # noqa: F811
    d, s, app = world
    h = await d.start(make_submission(f"CONS-SIGN-{uuid.uuid4().hex[:6].upper()}"))
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"))
    issued = await d.reach(h, Stage.AGREEMENT)
    agreement = issued.agreement_sha256
    assert agreement and issued.agreement_version == 1

    officer = await signed_in(app, "officer-amina")
    page = await officer.get(f"/applications/{h.id}")
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    fields = {"csrf": csrf_of(page.text), "signed_on": "2024-02-01", "bank_account": valid_rib(61)}
    sign = f"/applications/{h.id}/actions/sign"

    # Not a scan, or too large: refused on the form, in the officer's language; nothing sent.
    r = await officer.post(sign, data=fields, files={"scan_sha256": ("scan.txt", b"signed, honestly", "image/jpeg")})
    assert r.status_code == 422 and "le scan n&#39;est pas un fichier PDF, PNG ou JPEG" in r.text
    big = JPEG + b"0" * MAX_SCAN_BYTES
    r = await officer.post(sign, data=fields, files={"scan_sha256": ("scan.jpg", big, "image/jpeg")})
    assert r.status_code == 422 and "le scan dépasse 10 Mo" in r.text
    assert (await d.status(h)).stage == Stage.AGREEMENT

    r = await officer.post(sign, data=fields, files={"scan_sha256": ("scan.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 303, r.text
    await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    scan = hashlib.sha256(JPEG).hexdigest()
    recorded = s.repo.get_application(h.id)
    [decision] = [x for x in recorded["decisions"] if x["kind"] == "agreement"]
    assert (decision["payload"]["agreement_sha256"], decision["payload"]["scan_sha256"]) == (agreement, scan)
    [kept] = [x for x in recorded["documents"] if x["kind"] == "signed_scan"]
    assert (kept["version"], kept["content_type"], kept["recorded_by"]) == (1, "image/jpeg", "officer-amina")

    page = await officer.get(f"/applications/{h.id}")  # listed on the application's page, with their hashes
    assert agreement in page.text and scan in page.text and "Scan signé" in page.text

    auditor = await signed_in(app, "auditor-salma")
    audit = (await auditor.get(f"/applications/{h.id}/audit")).text
    assert f"convention émise (version 1, sha256 {agreement})" in audit
    assert f"scan signé enregistré (sha256 {scan}, signe la version 1)" in audit
    assert f"convention signée (sha256 {agreement}, scan sha256 {scan})" in audit
    advice = next(x["sha256"] for x in s.repo.get_application(h.id)["documents"] if x["kind"] == "payment_advice")
    assert f"avis de paiement de l&#39;ordre {h.id}:T1:ministry émis (sha256 {advice})" in audit
    page = await auditor.get("/applications")
    await auditor.post("/language", data={"csrf": csrf_of(page.text), "language": "ar"})
    audit = (await auditor.get(f"/applications/{h.id}/audit")).text
    assert f"إصدار الاتفاقية (النسخة 1، sha256 {agreement})" in audit

    # The agreement downloaded is the one issued, read from the store and checked against its hash;
    # once the store's copy is altered it is refused, never handed out.
    r = await auditor.get(f"/applications/{h.id}/documents/agreement-fr.pdf")
    assert r.status_code == 200 and r.headers["X-Document-SHA256"] == agreement
    assert hashlib.sha256(r.content).hexdigest() == agreement
    [stored] = (Path(s.settings.documents_dir) / agreement[:2]).glob(f"{agreement}-*")
    stored.write_bytes(stored.read_bytes() + b"%% altered in the store\n")
    r = await auditor.get(f"/applications/{h.id}/documents/agreement-fr.pdf")
    assert r.status_code == 409 and "no longer has its recorded SHA-256" in r.text
