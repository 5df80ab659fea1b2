"""Progress reports, their review, and notices (reminders, escalations, requests)."""

from datetime import datetime

from sqlalchemy.orm import Session

from domain import messages
from domain.db.repository.base import (
    NOTICE_KINDS,
    NotFound,
    RepositoryBase,
)
from domain.db.repository.reviewers import awaited_reviewers
from domain.db.tables import (
    NoticeRow,
    ProgressReportRow,
)
from domain.models import (
    ProgressReport,
)


class Monitoring(RepositoryBase):
    def record_report(self, application_id: str, period: int, report: ProgressReport, at: datetime) -> bool:
        if report.period != period:
            raise ValueError(f"period: {period} does not match the report's period {report.period}")
        with self._tx(write=True) as s:
            self._app(s, application_id)
            key = {"application_id": application_id, "period": period}
            stored = self._find(s, ProgressReportRow, lock=True, **key)
            if stored is not None and stored.status == "rejected":
                # A rejected report is replaced by the applicant's corrected one.
                stored.indicators = report.indicators.model_dump(mode="json")
                stored.narrative, stored.submitted_by = report.narrative, report.submitted_by
                stored.status, stored.at, stored.reviewed_at = "received", at, None
                return True
            return self._insert_ignore(
                s,
                ProgressReportRow,
                key,
                indicators=report.indicators.model_dump(mode="json"),
                narrative=report.narrative,
                submitted_by=report.submitted_by,
                status="received",
                at=at,
            )

    def review_report(self, application_id: str, period: int, approved: bool, at: datetime) -> None:
        with self._tx(write=True) as s:
            self._review(s, application_id, period, approved, at)

    @classmethod
    def _review(cls, s: Session, application_id: str, period: int, approved: bool, at: datetime) -> None:
        """The report approved or rejected, and the applicant told; nothing if it already is."""
        status = "approved" if approved else "rejected"
        report = cls._find(s, ProgressReportRow, lock=True, application_id=application_id, period=period)
        if report is None:
            raise NotFound(f"no progress report {period} for application {application_id!r}")
        if report.status != status:
            report.status, report.reviewed_at = status, at
            cls._tell(s, application_id, at, lambda f: messages.on_report_review(f, period, approved))

    def record_notice(self, application_id: str, key: str, kind: str, message: str, at: datetime) -> bool:
        if kind not in NOTICE_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {NOTICE_KINDS}")
        with self._tx(write=True) as s:
            self._app(s, application_id)
            new = self._insert_ignore(
                s, NoticeRow, {"application_id": application_id, "key": key}, kind=kind, message=message, at=at
            )
            if new:
                waiting = awaited_reviewers(s, application_id)
                self._tell(s, application_id, at, lambda f: messages.on_notice(f, key, kind, message, at, waiting))
            return new
