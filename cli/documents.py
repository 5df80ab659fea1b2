"""The documents of an application, for ops at the terminal: its award letter and funding
agreement and payment advices as PDF in French and Arabic, kept in the document store under their
SHA-256. (`starter.py documents` records the documents an applicant completed: cli/ops.py.)

python starter.py pdf moazara-4-ASSO-0001            # all of them, in both languages
python starter.py pdf moazara-4-ASSO-0001 --language ar --json
"""

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from cli import render
from cli.actions import CliError
from cli.command import run_command
from cli.inputs import InputError
from infra.settings import get_settings


def documents(
    application_id: str,
    language: Annotated[
        list[str] | None, typer.Option("--language", help="fr or ar (repeatable); default both")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write the award letter, the funding agreement and a payment advice per paid tranche (PDF)."""
    from pathlib import Path

    from documents.issue import NotIssuable, issue, paid_orders
    from documents.render import KINDS
    from documents.store import DirectoryStore
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
        store = DirectoryStore(Path(settings.documents_dir))
        written = []
        try:
            for kind, order in [(k, None) for k in KINDS] + [("payment_advice", o) for o in paid_orders(app)]:
                for lang in languages:
                    sha, path, _ = issue(engine, app, kind, lang, store, date.today(), order)
                    d = {"kind": kind, "language": lang, "sha256": sha, "path": str(path)}
                    written.append(d | ({"order": order} if order else {}))
        except NotIssuable as e:
            raise CliError(str(e)) from None
        if as_json:
            render.emit_json(written)
        else:
            for d in written:
                render.out.print(f"{d['kind']:13} {d['language']}  sha256 {d['sha256']}  {escape(d['path'])}")
        return 0

    run_command(as_json, work)
