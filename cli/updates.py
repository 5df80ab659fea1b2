"""The ops actions: one workflow update each, its input model and the CLI options that fill it."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cli.inputs import (
    InputError,
    deep_merge,
    read_json_object,
    validate,
)
from domain.edition import Criterion
from domain.errors import shown
from domain.models import (
    AgreementSigned,
    BankDetailsApproved,
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    DocumentsCompleted,
    PaymentResult,
    PaymentRetry,
    ProgressReport,
    ReportReview,
    Review,
    SiteVisit,
    Stage,
    Termination,
    Withdrawal,
)
from domain.reviewers import Recusal, ReviewerAssignment
from workflows.names import ApplicationUpdate as U


@dataclass(frozen=True)
class Action:
    update: U  # the workflow's update (workflows/names.py)
    model: type[BaseModel]
    options: dict[str, str]  # model field (dotted) -> the CLI option that fills it (and names it in messages)

    def names(self) -> dict[str, str]:
        return self.options

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The model's fields from the CLI's options, each named as its parameter (--jobs-created:
        jobs_created, --approve/--decline: approve); a dotted field nests."""
        out: dict[str, Any] = {}
        for field, flag in self.options.items():
            *parents, leaf = field.split(".")
            target = out
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = given[flag.split("/")[0].removeprefix("--").replace("-", "_")]
        return out


ACTIONS: dict[str, Action] = {
    "documents": Action(U.COMPLETE_DOCUMENTS, DocumentsCompleted, {"documents": "--doc", "submitted_by": "--by"}),
    "review": Action(
        U.SUBMIT_REVIEW,
        Review,
        {
            "reviewer_id": "--reviewer",
            "reviewer_organisation": "--organisation",
            "declared_links": "--link",
            "scores": "--scores",
            "comment": "--comment",
        },
    ),
    "assign-reviewers": Action(
        U.ASSIGN_REVIEWERS, ReviewerAssignment, {"reviewers": "--reviewer", "assigned_by": "--by"}
    ),
    "recuse": Action(U.RECUSE, Recusal, {"reviewer_id": "--reviewer", "reason": "--reason", "recused_by": "--by"}),
    "decide": Action(
        U.DECIDE,
        CommitteeDecision,
        {
            "decision": "--decision",
            "award": "--award",
            "funders": "--funder",
            "rank": "--rank",
            "honorary_award": "--honorary",
            "decided_by": "--by",
            "reason": "--reason",
        },
    ),
    "cofunding": Action(
        U.COFUNDING_DECISION,
        CoFundingDecision,
        {
            "region_code": "--region",
            "approved": "--approve/--decline",
            "amount": "--amount",
            "decided_by": "--by",
            "reason": "--reason",
        },
    ),
    "sign": Action(
        U.SIGN_AGREEMENT,
        AgreementSigned,
        {
            "signed_by": "--by",
            "signed_on": "--on",
            "bank_account": "--rib",
            "agreement_sha256": "--agreement-sha256",
            "scan_sha256": "--scan",
        },
    ),
    "payment": Action(
        U.PAYMENT_RESULT,
        PaymentResult,
        {
            "order_key": "--order",
            "attempt": "--attempt",
            "executed": "--executed/--rejected",
            "reference": "--reference",
            "reason": "--reason",
        },
    ),
    "fix-bank": Action(U.FIX_BANK_DETAILS, BankDetailsFixed, {"bank_account": "--rib", "fixed_by": "--by"}),
    "approve-bank": Action(
        U.APPROVE_BANK_DETAILS,
        BankDetailsApproved,
        {"approved_by": "--by", "approved": "--approve/--decline", "reason": "--reason"},
    ),
    "retry-payments": Action(U.RETRY_PAYMENT_ORDERS, PaymentRetry, {"requested_by": "--by", "reason": "--reason"}),
    "report": Action(
        U.SUBMIT_REPORT,
        ProgressReport,
        {
            "period": "--period",
            "narrative": "--narrative",
            "submitted_by": "--by",
            **{
                f"indicators.{f}": f"--{f.replace('_', '-')}"
                for f in ("jobs_created", "jobs_kept", "beneficiaries", "women", "youth", "revenue", "spend")
            },
        },
    ),
    "review-report": Action(
        U.REVIEW_REPORT,
        ReportReview,
        {"period": "--period", "approved": "--approve/--reject", "decided_by": "--by", "reason": "--reason"},
    ),
    "site-visit": Action(
        U.RECORD_SITE_VISIT, SiteVisit, {"visited_on": "--on", "visitor": "--visitor", "findings": "--findings"}
    ),
    "withdraw": Action(U.WITHDRAW, Withdrawal, {"requested_by": "--by", "reason": "--reason"}),
    "cancel": Action(U.CANCEL, Cancellation, {"cancelled_by": "--by", "reason": "--reason"}),
    "terminate": Action(
        U.TERMINATE, Termination, {"terminated_by": "--by", "reason": "--reason", "amount_to_recover": "--recover"}
    ),
}


def build(action: str, file: Path | None, values: Mapping[str, Any]) -> BaseModel:
    """The action's model from `--file` (if any) overridden by the options given; validated."""
    spec = ACTIONS[action]
    data = deep_merge(read_json_object(file), values)
    model = validate(spec.model, data, spec.names())
    check = _EXTRA_CHECKS.get(action)
    if check:
        check(model)
    return model


def _check_review(review: Review) -> None:
    # The edition's grid has one weight per criterion (EditionSettings enforces it): every one is scored.
    missing = [c.value for c in Criterion if c not in review.scores]
    if missing:
        raise InputError.one("scores (--scores)", f"one score per criterion of the grid; missing {', '.join(missing)}")


_EXTRA_CHECKS = {"review": _check_review}


def parse_stage(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Stage(value.strip().lower()).value
    except ValueError:
        raise InputError.one(
            "stage (--stage)", f"unknown stage {shown(value)}; one of {', '.join(s.value for s in Stage)}"
        ) from None


def parse_region(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip()
    if not re.fullmatch(r"\d{1,2}", v):
        raise InputError.one("region_code (--region)", f"{shown(value)} is not a region code (two digits, e.g. 02)")
    return v.zfill(2)
