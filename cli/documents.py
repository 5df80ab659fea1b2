"""The documents, for ops at the terminal: an application's award letter and funding agreement and
payment advices as PDF in French and Arabic, and an edition's programme report, kept in the
document store under their SHA-256. (`starter.py documents` records the documents an applicant
completed: cli/ops.py.)

python starter.py pdf moazara-4-ASSO-0001            # all of them, in both languages
python starter.py pdf moazara-4-ASSO-0001 --language ar --json
python starter.py pdf moazara-4-ASSO-0001 --list      # what the workflow issued and received, by SHA-256
python starter.py edition report 4 --pdf --lang ar [--out var/reports]
"""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli import render
from cli.actions import CliError
from cli.command import run_command
from cli.inputs import InputError
from domain.edition import EditionSettings
from infra.settings import get_settings

LANGUAGES = ("fr", "ar", "en")


def documents(
    application_id: str,
    language: Annotated[
        list[str] | None, typer.Option("--language", help="fr or ar (repeatable); default both")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    listed: Annotated[
        bool,
        typer.Option(
            "--list", help="list the documents the workflow issued and received (agreement versions, advices, scans)"
        ),
    ] = False,
) -> None:
    """Write the award letter, the funding agreement and a payment advice per paid tranche (PDF); the
    agreement and advices the workflow issued are those it issued (their SHA-256 as recorded)."""
    from documents.issue import NotIssuable, issue, paid_orders
    from documents.render import KINDS
    from documents.store import TamperedDocument, open_store
    from domain.db.repository import Repository
    from domain.db.session import make_engine

    def work() -> int:
        languages = language or ["fr", "ar"]
        bad = [x for x in languages if x not in ("fr", "ar")]
        if bad:
            raise InputError.one("--language", f"fr or ar, not {bad[0][:10]!r}")
        settings = get_settings()
        engine = make_engine(settings.database_url)
        app = Repository(engine).get_application(application_id[:80])
        if app is None:
            raise CliError(f"no application with id {application_id[:80]!r}")
        if listed:
            return _listed(app["documents"], as_json)
        store = open_store(settings)
        written = []
        try:
            for kind, order in [(k, None) for k in KINDS] + [("payment_advice", o) for o in paid_orders(app)]:
                for lang in languages:
                    sha, path, _ = issue(engine, app, kind, lang, store, date.today(), order)
                    d = {"kind": kind, "language": lang, "sha256": sha, "path": str(path)}
                    written.append(d | ({"order": order} if order else {}))
        except (NotIssuable, TamperedDocument) as e:  # a stored document that lost its hash is never handed out
            raise CliError(str(e)) from None
        if as_json:
            render.emit_json(written)
        else:
            for d in written:
                render.out.print(f"{d['kind']:13} {d['language']}  sha256 {d['sha256']}  {escape(d['path'])}")
        return 0

    run_command(as_json, work)


def _listed(documents: list[dict], as_json: bool) -> int:
    """The application's recorded documents, oldest first: kind, version, language or order, who, SHA-256."""
    if as_json:
        render.emit_json(documents)
        return 0
    for d in documents:
        version = f"v{d['version']}" if d["version"] else "-"
        what = d["order_key"] or d["language"] or d["content_type"]
        render.out.print(
            f"{d['at']:%Y-%m-%d}  {d['kind']:14} {version:4} {escape(str(what)):40} "
            f"{escape(d['recorded_by']):20} sha256 {d['sha256']}"
        )
    return 0


def programme_report(settings: EditionSettings, language: str, out: Path | None, as_json: bool) -> int:
    """The edition's programme report as PDF in `language`, kept in the document store (and copied
    to `out`: a folder, or a file ending in .pdf); prints its path and SHA-256."""
    from documents.issue import issue_report
    from documents.store import open_store
    from domain.db.session import make_engine

    if language not in LANGUAGES:
        raise InputError.one("--lang", f"fr, ar or en, not {language[:10]!r}")
    config = get_settings()
    store = open_store(config)
    sha, path, content = issue_report(make_engine(config.database_url), settings, language, store, date.today())
    written = {"edition": settings.edition, "language": language, "sha256": sha, "path": str(path)}
    if out is not None:
        copy = out if out.suffix == ".pdf" else out / f"programme-report-{settings.edition}-{language}.pdf"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(content)
        written["written"] = str(copy)
    if as_json:
        render.emit_json(written)
    else:
        render.out.print(f"programme_report {language}  sha256 {sha}  {escape(str(path))}")
        if out is not None:
            render.out.print(f"written: {escape(written['written'])}")
    return 0
