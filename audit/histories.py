"""Workflow histories in and out: fetched from Temporal, written and read as JSON files.

A file is what `temporal workflow show --output json` prints (`{"events": [...]}`, protobuf JSON);
the SDK reads and writes that format (`WorkflowHistory.from_json` / `to_json`). The file name is
`<workflow id>.json`, since the format itself does not carry the workflow id.
"""

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from temporalio.client import Client, WorkflowHistory

from domain.db.repository import Repository

SUFFIX = ".json"


def file_name(workflow_id: str) -> str:
    # Workflow ids here are `moazara-<edition>-<registration>` (no "/"); keep any other id a file name.
    return workflow_id.replace("/", "_") + SUFFIX


def save(history: WorkflowHistory, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(history.workflow_id)
    path.write_text(history.to_json() + "\n", encoding="utf-8")
    return path


class NotAHistory(ValueError):
    """A file that is not an exported workflow history; the message names it."""


def load(path: Path) -> WorkflowHistory:
    try:
        history = WorkflowHistory.from_json(path.name.removesuffix(SUFFIX), path.read_text(encoding="utf-8"))
        history.run_id  # noqa: B018 - raises unless the first event is the workflow's start
    except (OSError, UnicodeDecodeError, ValueError, RuntimeError, KeyError, TypeError) as e:
        raise NotAHistory(f"{path}: not a workflow history ({type(e).__name__}: {str(e)[:200]})") from None
    return history


def files(paths: Iterable[Path]) -> list[Path]:
    """History files named on the command line; a directory stands for every *.json in it."""
    out: list[Path] = []
    for p in paths:
        out += sorted(p.glob(f"*{SUFFIX}")) if p.is_dir() else [p]
    return out


async def fetch(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def application_workflow_ids(repo: Repository, edition: int) -> list[str]:
    """The edition's application workflows, from the domain database (application id = workflow id)."""
    return [a["id"] for a in repo.list_applications(edition=edition, limit=10**9)]


def edition_workflow_ids(repo: Repository, edition: int) -> list[str]:
    """Every workflow of the edition the domain database knows: the EditionWorkflow (when the
    edition was opened through it) and its applications'."""
    from domain.db.edition_repository import EditionRepository

    opened = EditionRepository(repo.engine).get_edition(edition)
    return ([opened["workflow_id"]] if opened else []) + application_workflow_ids(repo, edition)


async def visible_workflow_ids(client: Client, edition: int) -> list[str]:
    """The edition's workflows as Temporal's visibility lists them: its applications and the
    EditionWorkflow itself (`domain.edition_messages.edition_workflow_id`)."""
    from domain.edition_messages import edition_workflow_id

    query = f'WorkflowId STARTS_WITH "moazara-{edition}-" OR WorkflowId = "{edition_workflow_id(edition)}"'
    return sorted({w.id async for w in client.list_workflows(query)})


async def fetch_many(client: Client, workflow_ids: Iterable[str]) -> AsyncIterator[WorkflowHistory]:
    for wid in workflow_ids:
        yield await fetch(client, wid)
