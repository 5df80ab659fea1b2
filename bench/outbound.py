"""Outbound messages and issued documents, each beside its floor in the same run (the machine is
shared and noisy: the ratios are the figures that carry over). Results in bench/results/outbound.json.

1. Messages per second to the local sink: N messages posted to the outbox as the repository posts
   a real event's (domain/db/outbox.post, in a transaction of a SQLite domain database), sent by
   the worker's activity (activities/outbound.py send_due_messages, called in process in an
   activity context, batch after batch, as the OutboxWorkflow calls it) to the local SMTP sink
   (outbound/sink.py on a free loopback port, writing .eml files); the floor: the same N messages
   rendered and composed beforehand, sent with smtplib straight to the same sink, one connection
   each as the activity does (no database, no rendering), and, for information, all over one
   connection.
2. The award letters of an edition's 121 selected applications (scenarios/editions.py edition_4,
   the committee's selection), rendered to PDF in French and in Arabic as documents/render.py
   makes them; the floor: WeasyPrint rendering a minimal one-page HTML in the same font, as many
   times. Peak resident memory of each phase.

    .venv/bin/python -m bench.outbound -n 300
"""

import argparse
import json
import smtplib
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as query
from sqlalchemy.orm import Session
from temporalio.testing import ActivityEnvironment

from activities.outbound import OutboundActivities
from bench.measuring import peak_rss_mb, reset_peak_rss
from documents.render import FONTS, html, pdf
from domain.committee import select
from domain.db import outbox
from domain.db.outbox import SENT, OutboxRow
from domain.db.session import make_engine, migrate, writer_lock
from domain.edition import EditionSettings, edition_4_settings
from domain.messages import Facts, Message, on_submission
from domain.models import Decision
from infra.settings import Settings
from outbound import email
from outbound.render import render
from outbound.sink import sink
from scenarios.editions import candidates, edition_4

RESULTS = Path(__file__).parent / "results"
LANGUAGES = ("fr", "ar", "en")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def submissions(n: int) -> list[Message]:
    """The acknowledgements of n submissions, in the three languages in turn."""
    return [
        m
        for i in range(n)
        for m in on_submission(
            Facts(
                application_id=f"moazara-4-BENCH-{i:05d}",
                edition=4,
                title=f"Atelier de tissage {i}",
                applicant_name=f"Association Tilila {i}",
                applicant_email=f"contact{i}@tilila.ma",
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


def messages(n: int, tmp: Path) -> dict[str, Any]:
    port, folder = free_port(), tmp / "mail"
    controller = sink(folder, port=port)
    try:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db", secrets_file=f"{tmp}/secrets.json", smtp_port=port
        )
        engine = make_engine(settings.database_url)
        migrate(engine)
        posted = submissions(n)
        with writer_lock(engine), engine.begin() as conn:
            with Session(bind=conn) as s:
                outbox.post(s, posted, datetime.now(UTC))
                s.flush()
        activities, env = OutboundActivities(engine, settings), ActivityEnvironment()

        def send_all() -> None:
            while env.run(activities.send_due_messages).more:
                pass

        ours = phase("outbox activity to the sink", n, send_all)
        ours["peak_rss_mb"] = peak_rss_mb()
        with engine.connect() as conn:
            sent = conn.scalar(query(func.count()).select_from(OutboxRow).where(OutboxRow.state == SENT))
        assert sent == n and received(folder) == n, (sent, n)
        engine.dispose()

        composed = [email.compose(m.id, m.recipient.address or "", rendered(m), settings) for m in posted]
        floor = phase("floor: smtplib, a connection each", n, lambda: each_alone(composed, port))
        floor["peak_rss_mb"] = peak_rss_mb()
        assert received(folder) == n
        one = phase("smtplib, one connection for all", n, lambda: all_in_one(composed, port))
        assert received(folder) == n
    finally:
        controller.stop()
    return {
        "messages": n,
        "database": "sqlite",
        "outbox_activity": ours,
        "floor_smtplib_connection_each": floor,
        "smtplib_one_connection": one,
        "ratio_ours_over_floor": round(ours["per_second"] / floor["per_second"], 2),
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

        pdf(minimal)  # WeasyPrint and the fonts loaded before either is timed
        mine = phase(f"award letters, {language}", len(apps), ours)
        mine["peak_rss_mb"] = peak_rss_mb()
        mine["seconds_per_letter"] = round(mine["seconds"] / len(apps), 3)
        mine["mean_pdf_kb"] = round(sum(sizes) / len(sizes) / 1024, 1)
        base = phase(f"floor: minimal page, {language}", len(apps), floor)
        base["peak_rss_mb"] = peak_rss_mb()
        base["seconds_per_letter"] = round(base["seconds"] / len(apps), 3)
        out[language] = {
            "award_letters": mine,
            "floor_minimal_page": base,
            "ratio_ours_over_floor": round(mine["seconds"] / base["seconds"], 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="messages to send")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "command": f"python -m bench.outbound -n {args.n}",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "messages_to_the_sink": messages(args.n, Path(tmp)),
            "award_letters": letters(edition_4_settings()),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "outbound.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
