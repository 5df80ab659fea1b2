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
from domain.models import ApplicationSubmission
from domain.reference import LegalForm, province_region, regions
from domain.scoring import application_score, weighted_score
from simulation.factories import drawn_submission


class ScenarioApplication(BaseModel):
    model_config = ConfigDict(frozen=True)
    submission: ApplicationSubmission
    reviews: tuple[dict[Criterion, int], ...]  # one score grid per reviewer


def generate(
    settings: EditionSettings, n: int, *, zone_share: float, cooperative_share: float, seed: int
) -> list[ScenarioApplication]:
    """`n` applications; `zone_share` of them in the priority provinces; in each partner region,
    `cooperative_share` of its applicants are cooperatives."""
    rng = random.Random(seed)
    partner_regions = {p.region_code for p in settings.partners}
    all_regions = sorted(regions())
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
        submission = drawn_submission(
            rng, settings, i, form, province, (requested, total, own), documents, rib_city="780"
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
