"""What `make demo` leaves behind for the people who sign in: the programme report as PDF in French
and Arabic, and a second call still open, whose applications wait on the console's users.

The first edition is driven to its end in minutes, so nothing of it waits on anyone; the second
runs on a slow calendar (one programme day = OPEN_DAY seconds, its call open for four weeks of
those) and nobody simulated acts on it: its applications stop where a person must act — documents
missing (an officer), reviews assigned to the demo reviewers (`/reviews`), each on the "waiting on
me" page of whoever it waits for.
"""

from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client

from cli.actions import edition_update
from demo.generate import generate
from documents.issue import issue_report
from documents.store import open_store
from domain.edition import EditionSettings
from domain.edition_messages import EditionInput, SubmissionAnswer, edition_workflow_id
from domain.models import ApplicationStatus, Stage
from frontdoor import held_all
from infra.settings import Settings
from infra.vault import bank_accounts
from simulation.waiting import until
from workflows import names
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow

OPEN_DAY = 900.0  # seconds per programme day: the open call's deadlines fall hours from now
OPEN_APPLICATIONS = 12
# Where the open call's applications stop by themselves: each waits on a person from there on.
SETTLED = {Stage.AWAITING_DOCUMENTS, Stage.REVIEW, Stage.INELIGIBLE}


def report_pdfs(engine: Engine, settings: Settings, edition: EditionSettings, out: Path) -> list[Path]:
    """The edition's programme report as PDF in French and Arabic, kept in the document store and
    copied to `out` (var/reports/)."""
    store = open_store(settings)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for language in ("fr", "ar"):
        _, _, content = issue_report(engine, edition, language, store, date.today())
        path = out / f"programme-report-{edition.edition}-{language}.pdf"
        path.write_bytes(content)
        written.append(path)
    return written


async def leave_open(
    client: Client, settings: Settings, engine: Engine, edition: EditionSettings, seed: int
) -> Counter[str]:
    """Open `edition`, submit OPEN_APPLICATIONS generated applications through it, and wait until each
    waits on a person; how many wait for what."""
    handle = await client.start_workflow(
        EditionWorkflow.run,
        EditionInput(settings=edition, opened_by="demo-officer"),
        id=edition_workflow_id(edition.edition),
        task_queue=settings.task_queue,
    )
    apps = held_all(generate(edition, OPEN_APPLICATIONS, seed), bank_accounts(settings, engine), "demo-portal")
    ids = []
    for app in apps:
        answer = await edition_update(handle, names.EditionUpdate.SUBMIT, app, SubmissionAnswer)
        if answer.accepted:
            ids.append(app.application_id)

    async def statuses() -> list[ApplicationStatus]:
        return [await client.get_workflow_handle(i).query(ApplicationWorkflow.get_status) for i in ids]

    settled = await until(
        statuses, lambda ss: all(s.stage in SETTLED for s in ss), "the open call's applications settled", 120, 0.5
    )
    return Counter(s.waiting_for or s.stage.value for s in settled)
