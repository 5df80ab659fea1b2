"""The archived histories: each closed workflow run's history, exported, sealed and kept in the
document store before the Temporal server's retention deletes it (activities/archive.py), named
here by its SHA-256, so that auditors read it back for years and check it before use. On the same
metadata as tables.py, which imports this module."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.db.tables import Base


class ArchivedHistoryRow(Base):
    """One archived run: which workflow (id, run id, type), when it closed, the archive's SHA-256,
    the number of events it holds, the store's key (where it is kept), when it was archived."""

    __tablename__ = "archived_histories"

    workflow_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_type: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    store_key: Mapped[str] = mapped_column(String(400))
    archived_at: Mapped[datetime]


@dataclass(frozen=True)
class Archived:
    workflow_id: str
    run_id: str
    workflow_type: str
    closed_at: datetime
    sha256: str
    events: int
    store_key: str
    archived_at: datetime

    @classmethod
    def of(cls, r: ArchivedHistoryRow) -> "Archived":
        return cls(
            r.workflow_id, r.run_id, r.workflow_type, r.closed_at, r.sha256, r.events, r.store_key, r.archived_at
        )


def record(engine: Engine, a: Archived) -> Archived:
    """Record an archive once per run: a run already recorded keeps its first archive (returned)."""
    try:
        with Session(engine) as s, s.begin():
            s.add(ArchivedHistoryRow(**a.__dict__))
        return a
    except IntegrityError:
        found = get(engine, a.workflow_id, a.run_id)
        assert found is not None  # the row the insert collided with
        return found


def get(engine: Engine, workflow_id: str, run_id: str) -> Archived | None:
    with Session(engine) as s:
        row = s.get(ArchivedHistoryRow, (workflow_id, run_id))
        return Archived.of(row) if row is not None else None


def archived_runs(engine: Engine, runs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (workflow id, run id) are archived."""
    wanted = list(runs)
    found: set[tuple[str, str]] = set()
    with Session(engine) as s:
        for i in range(0, len(wanted), 500):
            ids = {w for w, _ in wanted[i : i + 500]}
            q = select(ArchivedHistoryRow.workflow_id, ArchivedHistoryRow.run_id).where(
                ArchivedHistoryRow.workflow_id.in_(ids)
            )
            found |= {(w, r) for w, r in s.execute(q)}
    return found & set(wanted)


def latest(engine: Engine, workflow_ids: Iterable[str]) -> dict[str, Archived]:
    """Per workflow id, its archived run that closed last (what an auditor means by its history)."""
    ids = list(dict.fromkeys(workflow_ids))
    out: dict[str, Archived] = {}
    with Session(engine) as s:
        for i in range(0, len(ids), 500):
            q = select(ArchivedHistoryRow).where(ArchivedHistoryRow.workflow_id.in_(ids[i : i + 500]))
            for row in s.scalars(q):
                a = Archived.of(row)
                if a.workflow_id not in out or a.closed_at > out[a.workflow_id].closed_at:
                    out[a.workflow_id] = a
    return out
