"""Builders of valid test data. Other test modules import these: keep names and signatures."""

import random
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.edition import Criterion, EditionSettings, edition_4_settings
from domain.models import (
    Applicant,
    ApplicationSubmission,
    Document,
    Indicators,
    PaymentOrder,
    ProgressReport,
    Project,
    Review,
)
from domain.reference import DocumentKind, LegalForm, Sector, province_region
from domain.rib import rib_key

_NAMES = {
    LegalForm.ASSOCIATION: "Association",
    LegalForm.NETWORK: "Réseau d'associations",
    LegalForm.COOPERATIVE: "Coopérative",
}


def valid_rib(seed: int) -> str:
    """A 24-digit RIB with a correct key: bank 007, city 780, a 16-digit account from `seed` (never
    account 0, which no bank gives: seed 0 is account 1)."""
    first_22 = f"007780{seed % 10**16 or 1:016d}"
    return first_22 + rib_key(first_22)


def make_submission(
    registration_number: str = "ASSO-0001",
    *,
    edition: int = 4,
    legal_form: LegalForm = LegalForm.ASSOCIATION,
    region_code: str = "07",
    province: str = "Al Haouz",
    requested: Decimal = Decimal("40000.00"),
    total: Decimal = Decimal("50000.00"),
    own: Decimal = Decimal("10000.00"),
    duration_months: int = 24,
    documents: Iterable[DocumentKind | Document] | None = None,
    sector: Sector = Sector.HANDICRAFTS,
    overdue_obligations: int = 0,
    declared_links: tuple[str, ...] = (),
    bank_account: str | None = None,
    applicant: Mapping[str, Any] | None = None,
    project: Mapping[str, Any] | None = None,
) -> ApplicationSubmission:
    """A valid edition-4 application; `documents=None` means every required document. `applicant` and
    `project`: other fields of theirs, or other values (a name, the people the project reaches)."""
    kinds = edition_4_settings().required_documents if documents is None else documents
    docs = tuple(
        d if isinstance(d, Document) else Document(kind=d, reference=f"doc/{registration_number}/{d.value}")
        for d in kinds
    )
    return ApplicationSubmission(
        edition=edition,
        applicant=Applicant(
            **{
                "registration_number": registration_number,
                "name": f"{_NAMES[legal_form]} {registration_number}",
                "legal_form": legal_form,
                "region_code": region_code,
                "province": province,
                "rural": True,
                "bank_account": bank_account or valid_rib(zlib.crc32(registration_number.encode())),
                "declared_links": declared_links,
                "overdue_obligations": overdue_obligations,
                **(applicant or {}),
            }
        ),
        project=Project(
            **{
                "title": "Atelier de tissage de tapis",
                "sector": sector,
                "total_cost": total,
                "requested_amount": requested,
                "own_contribution": own,
                "duration_months": duration_months,
                "jobs_created": 6,
                "beneficiaries": 40,
                "women": 30,
                "youth": 12,
                **(project or {}),
            }
        ),
        documents=docs,
    )


def make_review(
    reviewer_id: str,
    score: int = 7,
    *,
    scores: dict[Criterion, int] | None = None,
    organisation: str | None = None,
    declared_links: tuple[str, ...] = (),
) -> Review:
    """A review scoring every criterion `score` (or as in `scores`)."""
    return Review(
        reviewer_id=reviewer_id,
        reviewer_organisation=organisation,
        declared_links=declared_links,
        scores=scores if scores is not None else {c: score for c in Criterion},
    )


def settings_with(**overrides) -> EditionSettings:
    """Edition 4 with some rules changed, validated like any edition's configuration."""
    return EditionSettings.model_validate({**edition_4_settings().model_dump(), **overrides})


# The partner share of a cooperative of l'Oriental, selected for the usual 40,000 MAD.
REGION_02_SHARE = {"region-02": Decimal("40000.00")}


def cooperative(reg: str) -> ApplicationSubmission:
    """A cooperative in l'Oriental (region 02), a partner Region of the 4th edition."""
    return make_submission(reg, legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")


def recorded(
    repo: Any,
    reg: str,
    stages: Iterable[str],
    award: Mapping[str, Decimal] | None = None,
    paid: Iterable[tuple[str, Decimal]] = (),
    indicators: Indicators | None = None,
    at: datetime = datetime(2024, 1, 17, tzinfo=UTC),
    **kw: Any,
) -> str:
    """An application of edition 4 written to the database (a Repository) as its workflow writes it:
    submitted, then each of `stages` in turn; its award split (once the committee stage is passed,
    or at the end), each of its `paid` tranches (funder, amount) executed, its first progress report.
    Its id."""
    sub = make_submission(reg, **kw)
    app_id = sub.application_id
    repo.record_submission(app_id, app_id, sub, "officer", at)
    for seq, stage in enumerate(stages, 1):
        repo.set_stage(app_id, seq, stage, at)
        if award and stage == "committee":
            repo.set_award(app_id, dict(award))
    if award and "committee" not in stages:
        repo.set_award(app_id, dict(award))
    for tranche, (funder, amount) in enumerate(paid, 1):
        order = PaymentOrder(
            key=f"{app_id}:T{tranche}:{funder}", application_id=app_id, tranche=tranche, funder=funder, amount=amount
        )
        repo.create_payment_order(order, valid_rib(tranche), at)
        repo.record_payment(order.key, 1, f"PAY-{tranche}", at)
    if indicators is not None:
        repo.record_report(app_id, 1, ProgressReport(period=1, indicators=indicators), at)
    return app_id


BANKS = ("007", "011", "022", "145", "190")


def drawn_rib(rng: random.Random, city: str | None = None) -> str:
    """A valid RIB drawn from `rng`: one of five banks, the `city` given (else a drawn one), a drawn account."""
    bank = rng.choice(BANKS)
    first = f"{bank}{city or rng.randint(100, 999)}{rng.randint(0, 10**16 - 1):016d}"
    return first + rib_key(first)


def registration(form: LegalForm, edition: int, i: int) -> str:
    """The registration number of a generated call's `i`-th applicant, e.g. COOP-4-00012."""
    return f"{'COOP' if form == LegalForm.COOPERATIVE else 'ASSO'}-{edition}-{i:05d}"


def drawn_submission(
    rng: random.Random,
    settings: EditionSettings,
    i: int,
    form: LegalForm,
    province: str,
    amounts: tuple[Decimal, ...],
    documents: Iterable[DocumentKind],
    *,
    titles: Mapping[Sector, str] | None = None,
    rib_city: str | None = None,
    **contact: str,
) -> ApplicationSubmission:
    """The `i`-th applicant of a generated call of `settings`' edition (the demo's, the reference
    scenarios'): its sector the i-th in turn, its title from `titles` (else named after the
    sector), asking `amounts` (requested, total cost, own contribution). Drawn from `rng` in this
    order: the people reached, rural or not, the bank account, the duration (the edition's shortest
    or longest), the jobs created and kept, the women and youth among the people reached."""
    reg = registration(form, settings.edition, i)
    sector = list(Sector)[i % len(Sector)]
    requested, total, own = amounts
    beneficiaries = rng.randint(20, 400)
    return make_submission(
        reg,
        edition=settings.edition,
        legal_form=form,
        region_code=province_region()[province],
        province=province,
        sector=sector,
        documents=[Document(kind=k, reference=f"dms/{reg}/{k.value}") for k in documents],
        applicant={"name": f"{form.value.title()} {province} {i}", "rural": rng.random() < 0.52, **contact},
        bank_account=drawn_rib(rng, rib_city),
        duration_months=rng.choice([settings.min_duration_months, settings.max_duration_months]),
        project={
            "title": titles[sector] if titles else f"{sector.value.replace('_', ' ').title()} project {i}",
            "total_cost": total,
            "requested_amount": requested,
            "own_contribution": own,
            "jobs_created": rng.randint(1, 12),
            "jobs_kept": rng.randint(0, 10),
            "beneficiaries": beneficiaries,
            "women": int(beneficiaries * rng.uniform(0.4, 0.8)),
            "youth": int(beneficiaries * rng.uniform(0.1, 0.4)),
        },
    )
