"""Outbound messages and issued documents, each beside its floor in the same run (the machine is
shared and noisy: the ratios are the figures that carry over). Results in bench/results/outbound.json.

1. Emails per second to the local sink: N messages posted to the outbox as the repository posts
   a real event's (domain/db/outbox.post, in a transaction of the domain database: a SQLite file,
   then a scratch schema on the PostgreSQL server the tests use, 127.0.0.1:5432), sent by the
   worker's activity (activities/outbound.py send_due_messages, called in process in an activity
   context, batch after batch, as the OutboxWorkflow calls it) to the local SMTP sink
   (outbound/sink.py on a free loopback port, writing .eml files); the floor: the same N messages
   rendered and composed beforehand, sent with smtplib straight to the same sink, one connection
   each as the activity does (no database, no rendering), and, for information, all over one
   connection.
2. Webhooks per second to a partner's receiver on loopback (simulation/webhook_receiver.py, the
   outbound tests' own, verifying each signature): N messages whose recipient the partner
   subscribes to, through the same outbox on each database; the floor: the same signed bodies made
   beforehand, POSTed one after the other with the same client (one httpx.Client, as
   outbound/webhook.py keeps one per process).
3. The award letters of an edition's 121 selected applications (scenarios/editions.py edition_4,
   the committee's selection), rendered to PDF in French and in Arabic as documents/render.py
   makes them; the floor: WeasyPrint rendering a minimal one-page HTML in the same font, as many
   times; and, to compare, the same letters each laid out with a new FontConfiguration, as
   documents/render.py did before it kept one per thread. Peak resident memory of each phase.

    .venv/bin/python -m bench.outbound -n 300     # --only messages|letters, --no-postgres
"""

import argparse
import json
import os
import smtplib
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, func, text
from sqlalchemy import select as query
from sqlalchemy.orm import Session
from temporalio.testing import ActivityEnvironment

from activities.outbound import OutboundActivities
from bench.measuring import peak_rss_mb, reset_peak_rss
from documents.render import FONTS, html, pdf
from domain.committee import select
from domain.db import outbox
from domain.db.outbox import SENT, OutboxRow, WebhookSubscription
from domain.db.session import make_engine, migrate, normalize_url, writer_lock
from domain.edition import EditionSettings, edition_4_settings
from domain.messages import Facts, Message, on_submission
from domain.models import Decision
from infra.settings import Settings
from infra.signing import sign
from outbound import email, webhook
from outbound.render import reference, render
from outbound.sink import sink
from scenarios.editions import candidates, edition_4
from simulation.processes import free_port
from simulation.webhook_receiver import Receiver, receiving

RESULTS = Path(__file__).parent / "results"
LANGUAGES = ("fr", "ar", "en")
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # the tests' server (tests/conftest_db.py)


def submissions(n: int, emails: bool = True) -> list[Message]:
    """The acknowledgements of n submissions, in the three languages in turn (without an email
    address: told by webhook only)."""
    return [
        m
        for i in range(n)
        for m in on_submission(
            Facts(
                application_id=f"moazara-4-BENCH-{i:05d}",
                edition=4,
                title=f"Atelier de tissage {i}",
                applicant_name=f"Association Tilila {i}",
                applicant_email=f"contact{i}@tilila.ma" if emails else None,
                language=LANGUAGES[i % len(LANGUAGES)],
                region_code="07",
            )
        )
    ]


def received(folder: Path) -> int:
    """How many messages the sink wrote; then empties its folder for the next phase."""
    files = list(folder.glob("*.eml"))
    for f in files:
        f.unlink()
    return len(files)


def phase(name: str, count: int, work: Callable[[], Any]) -> dict[str, Any]:
    reset_peak_rss()
    t = time.perf_counter()
    work()
    seconds = time.perf_counter() - t
    print(f"{name}: {count} in {seconds:.2f} s", flush=True)
    return {"count": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[Engine]:
    """A migrated, empty domain database: a SQLite file, or a scratch schema on the PostgreSQL
    server the tests use (127.0.0.1:5432, database test; TEST_POSTGRES_URL), dropped afterwards."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    server = normalize_url(os.environ.get("TEST_POSTGRES_URL", POSTGRES))
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, connect_args={"connect_timeout": 3})
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(server.update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_unreachable() -> str | None:
    """Why the PostgreSQL server cannot be used (None: it answers)."""
    admin = make_engine(
        normalize_url(os.environ.get("TEST_POSTGRES_URL", POSTGRES)), connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as e:  # noqa: BLE001 - any failure to connect: measured on SQLite alone, and said so
        return f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    finally:
        admin.dispose()


def through_the_outbox(name: str, engine: Engine, settings: Settings, posted: list[Message], n: int) -> dict[str, Any]:
    """Post the messages as an event's transaction does, then send them all with the worker's
    activity, batch after batch as OutboxWorkflow calls it; checks that n were sent."""
    with writer_lock(engine), engine.begin() as conn:
        with Session(bind=conn) as s:
            outbox.post(s, posted, datetime.now(UTC))
            s.flush()
    activities, env = OutboundActivities(engine, settings), ActivityEnvironment()

    def send_all() -> None:
        while env.run(activities.send_due_messages).more:
            pass

    ours = phase(name, n, send_all)
    ours["peak_rss_mb"] = peak_rss_mb()
    with engine.connect() as conn:
        sent = conn.scalar(query(func.count()).select_from(OutboxRow).where(OutboxRow.state == SENT))
    assert sent == n, (sent, n)
    return ours


def messages(n: int, tmp: Path, databases: tuple[str, ...]) -> dict[str, Any]:
    """Email: the outbox activity to the local sink on each database, beside smtplib's floor."""
    port, folder = free_port(), tmp / "mail"
    controller = sink(folder, port=port)
    out: dict[str, Any] = {"messages": n}
    try:
        settings = Settings(database_url="sqlite://", secrets_file=f"{tmp}/secrets.json", smtp_port=port)
        posted = submissions(n)
        for kind in databases:
            with database(kind, tmp) as engine:
                out[f"outbox_activity_{kind}"] = through_the_outbox(
                    f"email outbox ({kind}) to the sink", engine, settings, posted, n
                )
            assert received(folder) == n
        composed = [email.compose(m.id, m.recipient.address or "", rendered(m), settings) for m in posted]
        floor = phase("floor: smtplib, a connection each", n, lambda: each_alone(composed, port))
        floor["peak_rss_mb"] = peak_rss_mb()
        assert received(folder) == n
        out["floor_smtplib_connection_each"] = floor
        out["smtplib_one_connection"] = phase("smtplib, one connection for all", n, lambda: all_in_one(composed, port))
        assert received(folder) == n
    finally:
        controller.stop()
    for kind in databases:
        out[f"ratio_{kind}_over_floor"] = round(out[f"outbox_activity_{kind}"]["per_second"] / floor["per_second"], 2)
    return out


def webhooks(n: int, tmp: Path, databases: tuple[str, ...]) -> dict[str, Any]:
    """Webhooks: the outbox activity to a partner's receiver on loopback (it verifies each
    signature, simulation/webhook_receiver.py), on each database, beside the floor: the same
    signed bodies POSTed with the same client (one httpx.Client, as outbound/webhook.py keeps)."""
    out: dict[str, Any] = {"messages": n}
    with receiving() as receiver:
        settings = Settings(
            database_url="sqlite://", secrets_file=f"{tmp}/secrets.json", webhook_secrets={"portal-k1": receiver.secret}
        )
        posted = submissions(n, emails=False)  # the applicants have no address: the portal is told
        for kind in databases:
            with database(kind, tmp) as engine:
                with Session(engine) as s, s.begin():
                    s.add(
                        WebhookSubscription(
                            name="portal", url=receiver.url, key_id="portal-k1", receives=["applicant"],
                            active=True, updated_at=datetime.now(UTC),
                        )
                    )  # fmt: skip
                out[f"outbox_activity_{kind}"] = through_the_outbox(
                    f"webhook outbox ({kind}) to the receiver", engine, settings, posted, n
                )
            assert len(receiver.calls) == n
            receiver.calls.clear()
        calls = [signed_call(receiver, m) for m in posted]

        def post_each() -> None:
            with httpx.Client() as client:
                for payload, headers in calls:
                    client.post(receiver.url, content=payload, headers=headers, timeout=10).raise_for_status()

        floor = phase("floor: httpx POSTs, one client", n, post_each)
        floor["peak_rss_mb"] = peak_rss_mb()
        assert len(receiver.calls) == n
    out["floor_httpx_posts"] = floor
    for kind in databases:
        out[f"ratio_{kind}_over_floor"] = round(out[f"outbox_activity_{kind}"]["per_second"] / floor["per_second"], 2)
    return out


def signed_call(receiver: Receiver, m: Message) -> tuple[bytes, dict[str, str]]:
    """A webhook's body and headers as outbound/webhook.py makes them, made beforehand."""
    message_id = f"{m.id}.portal"
    payload = webhook.body(message_id, m.kind.value, m.application_id, m.recipient.key, dict(m.params))
    timestamp = int(time.time())
    return payload, {
        "Content-Type": "application/json",
        "X-Key-Id": "portal-k1",
        "X-Timestamp": str(timestamp),
        "X-Signature": sign(receiver.secret, timestamp, "POST", urlsplit(receiver.url).path, payload),
        "Idempotency-Key": reference(message_id),
    }


def rendered(m: Message) -> Any:
    return render(m.id, m.kind.value, m.recipient.language, dict(m.params))


def each_alone(composed: list[EmailMessage], port: int) -> None:
    for msg in composed:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(msg)


def all_in_one(composed: list[EmailMessage], port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for msg in composed:
            smtp.send_message(msg)


def selected_applications(settings: EditionSettings) -> list[dict[str, Any]]:
    """The 4th edition's reference scenario as the committee selects it: each selected application
    as documents/render.py reads it (its record, award and funders)."""
    apps = edition_4(settings)
    by_id = {a.submission.application_id: a.submission for a in apps}
    chosen = [p for p in select(candidates(apps, settings), settings) if p.decision == Decision.SELECTED]
    out = []
    for p in chosen:
        sub = by_id[p.application_id]
        out.append(
            {
                "id": sub.application_id,
                "edition": settings.edition,
                "title": sub.project.title,
                "applicant_name": sub.applicant.name,
                "registration_number": sub.applicant.registration_number,
                "legal_form": sub.applicant.legal_form.value,
                "award": p.award,
                "funders": dict(p.funders),
                "submission": sub.model_dump(mode="json"),
            }
        )
    return out


MINIMAL = """<!doctype html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">
<style>@page {{ size: A4; margin: 2cm }} body {{ font-family: {font}; font-size: 11pt }}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""
MINIMAL_WORDS = {
    "fr": ("Lettre d'attribution", "Montant accordé : 49 000,00 MAD."),
    "ar": ("رسالة منح الدعم", "المبلغ الممنوح: 49.000,00 درهم."),
}


def letters(settings: EditionSettings) -> dict[str, Any]:
    apps = selected_applications(settings)
    on = date(2024, 1, 17)
    out: dict[str, Any] = {"letters": len(apps)}
    for language in ("fr", "ar"):
        sizes: list[int] = []

        def ours(language: str = language, sizes: list[int] = sizes) -> None:
            for a in apps:
                sizes.append(len(pdf(html("award_letter", a, settings, language, on))))

        title, text = MINIMAL_WORDS[language]
        minimal = MINIMAL.format(
            language=language,
            direction="rtl" if language == "ar" else "ltr",
            font=FONTS[language],
            title=title,
            text=text,
        )

        def floor(minimal: str = minimal) -> None:
            for _ in apps:
                pdf(minimal)

        def fresh(language: str = language) -> None:  # documents/render.py before it kept its fonts
            from weasyprint import HTML

            for a in apps:
                HTML(string=html("award_letter", a, settings, language, on)).write_pdf()

        pdf(minimal)  # WeasyPrint and the fonts loaded before either is timed
        mine = phase(f"award letters, {language}", len(apps), ours)
        mine["peak_rss_mb"] = peak_rss_mb()
        mine["seconds_per_letter"] = round(mine["seconds"] / len(apps), 3)
        mine["mean_pdf_kb"] = round(sum(sizes) / len(sizes) / 1024, 1)
        base = phase(f"floor: minimal page, {language}", len(apps), floor)
        base["peak_rss_mb"] = peak_rss_mb()
        base["seconds_per_letter"] = round(base["seconds"] / len(apps), 3)
        before = phase(f"award letters, a FontConfiguration each, {language}", len(apps), fresh)
        before["seconds_per_letter"] = round(before["seconds"] / len(apps), 3)
        out[language] = {
            "award_letters": mine,
            "floor_minimal_page": base,
            "ratio_ours_over_floor": round(mine["seconds"] / base["seconds"], 2),
            "award_letters_a_font_configuration_each": before,
            "ratio_kept_fonts_over_a_configuration_each": round(mine["seconds"] / before["seconds"], 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="messages to send on each channel and database")
    parser.add_argument("--only", choices=("messages", "letters"), help="one part (default: both)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (no PostgreSQL server at hand)")
    args = parser.parse_args()
    result: dict[str, Any] = {"command": " ".join(["python -m bench.outbound", *sys.argv[1:]])}
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    unreachable = None if args.no_postgres else postgres_unreachable()
    databases = ("sqlite",) if args.no_postgres or unreachable else ("sqlite", "postgresql")
    if unreachable:
        result["postgresql_left_out"] = unreachable
        print(f"PostgreSQL left out: {unreachable}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "messages"):
            result["emails_to_the_sink"] = messages(args.n, Path(tmp), databases)
            result["webhooks_to_a_receiver"] = webhooks(args.n, Path(tmp), databases)
        if args.only in (None, "letters"):
            result["award_letters"] = letters(edition_4_settings())
    RESULTS.mkdir(exist_ok=True)
    name = "outbound.json" if args.only is None else f"outbound-{args.only}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
