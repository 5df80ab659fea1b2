"""Reference scenarios: calls for projects shaped after the 4th and 5th editions, with their reviews.

The generators take the edition's own settings (`edition_4_settings()`,
`edition_5_settings()`): ceilings, required documents, partners. Applicants ask for the
ceiling, as most did ("up to 49,000 MAD"), so each envelope of k ceilings funds k projects;
more good projects apply than there are seats, as in the real calls (670 requests, 163
selected). A tenth are faulty (over the ceiling, documents missing, too little own
contribution) and every region and sector is represented. Deterministic for a seed.
"""

import random
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.committee import Candidate
from domain.edition import Criterion, EditionSettings
from domain.eligibility import check_eligibility
from domain.models import Applicant, ApplicationSubmission, Document, Project
from domain.reference import LegalForm, Sector, province_region, regions
from domain.rib import rib_key
from domain.scoring import application_score, weighted_score


class ScenarioApplication(BaseModel):
    model_config = ConfigDict(frozen=True)
    submission: ApplicationSubmission
    reviews: tuple[dict[Criterion, int], ...]  # one score grid per reviewer


def _rib(rng: random.Random) -> str:
    first = f"{rng.choice(['007', '011', '022', '145', '190'])}780{rng.randint(0, 10**16 - 1):016d}"
    return first + rib_key(first)


def generate(
    settings: EditionSettings, n: int, *, zone_share: float, cooperative_share: float, seed: int
) -> list[ScenarioApplication]:
    """`n` applications; `zone_share` of them in the priority provinces; in each partner region,
    `cooperative_share` of its applicants are cooperatives."""
    rng = random.Random(seed)
    partner_regions = {p.region_code for p in settings.partners}
    all_regions = sorted(regions())
    sectors = list(Sector)
    seat = min(settings.ceilings.values())
    out = []
    for i in range(n):
        if i < n * zone_share:
            province = settings.priority_provinces[i % len(settings.priority_provinces)]
        else:
            region = all_regions[i % len(all_regions)]
            province = rng.choice(regions()[region]["provinces"])
        region = province_region()[province]
        if region in partner_regions and rng.random() < cooperative_share:
            form = LegalForm.COOPERATIVE
        else:
            form = LegalForm.NETWORK if rng.random() < 0.1 else LegalForm.ASSOCIATION
        requested, total = seat, (seat / Decimal("0.8")).quantize(Decimal("0.01"))
        own = total - requested
        documents = list(settings.required_documents)
        fault = rng.random()
        if fault < 0.04:
            requested, total, own = seat + 6000, total + 7500, own + 1500  # over the ceiling
        elif fault < 0.08:
            documents = documents[:-1]
        elif fault < 0.10:
            own = (total * Decimal("0.05")).quantize(Decimal("0.01"))
            requested = total - own
        reg = f"{'COOP' if form == LegalForm.COOPERATIVE else 'ASSO'}-{settings.edition}-{i:05d}"
        sector = sectors[i % len(sectors)]
        beneficiaries = rng.randint(20, 400)
        submission = ApplicationSubmission(
            edition=settings.edition,
            applicant=Applicant(
                registration_number=reg,
                name=f"{form.value.title()} {province} {i}",
                legal_form=form,
                region_code=region,
                province=province,
                rural=rng.random() < 0.52,
                bank_account=_rib(rng),
            ),
            project=Project(
                title=f"{sector.value.replace('_', ' ').title()} project {i}",
                sector=sector,
                total_cost=total,
                requested_amount=requested,
                own_contribution=own,
                duration_months=rng.choice([settings.min_duration_months, settings.max_duration_months]),
                jobs_created=rng.randint(1, 12),
                jobs_kept=rng.randint(0, 10),
                beneficiaries=beneficiaries,
                women=int(beneficiaries * rng.uniform(0.4, 0.8)),
                youth=int(beneficiaries * rng.uniform(0.1, 0.4)),
            ),
            documents=tuple(Document(kind=k, reference=f"dms/{reg}/{k.value}") for k in documents),
        )
        quality = rng.randint(3, 9)
        reviews = tuple(
            {c: max(0, min(10, quality + rng.randint(-1, 1))) for c in Criterion}
            for _ in range(settings.reviewers_per_application)
        )
        out.append(ScenarioApplication(submission=submission, reviews=reviews))
    return out


def edition_4(settings: EditionSettings, seed: int = 2023) -> list[ScenarioApplication]:
    """400 requests (the count is not public); a quarter from the earthquake-hit provinces."""
    return generate(settings, 400, zone_share=0.25, cooperative_share=0.5, seed=seed)


def edition_5(settings: EditionSettings, seed: int = 2024) -> list[ScenarioApplication]:
    """670 requests, as published."""
    return generate(settings, 670, zone_share=0.12, cooperative_share=0.9, seed=seed)


def candidates(apps: list[ScenarioApplication], settings: EditionSettings) -> list[Candidate]:
    """What the committee sees: the eligible applications with their review scores."""
    out = []
    for a in apps:
        s = a.submission
        if not check_eligibility(s, settings).eligible:
            continue
        scores = [weighted_score(r, settings.review_grid) for r in a.reviews]
        out.append(
            Candidate(
                application_id=s.application_id,
                registration_number=s.applicant.registration_number,
                legal_form=s.applicant.legal_form,
                region_code=s.applicant.region_code,
                province=s.applicant.province,
                score=application_score(scores),
                innovation=Decimal(sum(r[Criterion.INNOVATION] for r in a.reviews)) / len(a.reviews),
                jobs=s.project.jobs_created,
                requested=s.project.requested_amount,
            )
        )
    return out
