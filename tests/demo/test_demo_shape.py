"""`make demo`'s first edition has the 4th edition's public shape (issue 16, item 6), without a server:
its generated call, with the reviews its simulated reviewers give, the documents its applicants
complete and the withdrawals before the committee (demo/people.py, drawn per application from the
seed), run through the committee's pure function with the demo's edition settings: 121 selected,
44 of them in the six earthquake-hit provinces, each partner Region funding cooperatives of its
own territory."""

from collections import Counter

from demo import people
from demo.__main__ import demo_edition
from demo.generate import REQUESTS, SEED, generate
from domain.committee import select
from domain.edition import EditionSettings
from domain.models import ApplicationSubmission, Decision, Document, Stage
from domain.reference import MINISTRY, LegalForm, region_funder
from scenarios.editions import ScenarioApplication, candidates


def before_the_committee(apps: list[ApplicationSubmission], settings: EditionSettings) -> list[ScenarioApplication]:
    """What reaches the committee in the demo: every application but those withdrawn during review,
    with the documents its applicant completed, and the reviews it gets."""
    out = []
    for app in apps:
        a = app.application_id
        if people.withdraws_at(SEED, a) == Stage.REVIEW:
            continue
        have = {d.kind for d in app.documents}
        if people.completes_documents(SEED, a):  # as the document service sends them (demo/__main__.py)
            sent = [Document(kind=k, reference=f"dms/{a}/{k.value}") for k in settings.required_documents]
            app = app.model_copy(update={"documents": app.documents + tuple(d for d in sent if d.kind not in have)})
        grids = people.review_grids(SEED, a, settings.reviewers_per_application)
        out.append(ScenarioApplication(submission=app, reviews=tuple(grids)))
    return out


def test_the_demo_committee_selects_121_of_them_44_in_the_earthquake_zone():
    settings = demo_edition(day_seconds=0.3)
    apps = generate(settings, REQUESTS, SEED)
    assert 400 <= len(apps) <= 700
    by_id = {a.application_id: a.applicant for a in apps}
    placements = select(candidates(before_the_committee(apps, settings), settings), settings)
    chosen = [p for p in placements if p.decision == Decision.SELECTED]

    assert len(chosen) == 121
    assert sum(by_id[p.application_id].province in settings.priority_provinces for p in chosen) == 44
    # The partner Regions fund cooperatives, each in its own territory; the ministry the others.
    funded = Counter(next(iter(p.funders)) for p in chosen)
    assert funded == {MINISTRY: 106, region_funder("02"): 7, region_funder("03"): 8}
    for p in chosen:
        applicant = by_id[p.application_id]
        if MINISTRY in p.funders:
            assert applicant.legal_form in settings.ministry_legal_forms
        else:
            assert applicant.legal_form == LegalForm.COOPERATIVE
            assert p.funders == {region_funder(applicant.region_code): settings.ceilings[LegalForm.COOPERATIVE]}
    # More good projects applied than there were seats, in each envelope: a live run whose busy worker
    # lets a few of them miss a deadline before the committee still fills every envelope.
    waiting = Counter(
        envelope(by_id[p.application_id], settings) for p in placements if p.decision == Decision.WAITLISTED
    )
    assert min(waiting[e] for e in ("zone", "national", "02", "03")) >= 5, waiting


def envelope(applicant, settings: EditionSettings) -> str:
    """Which envelope would fund this applicant: a partner Region's (its code), the zone's, the national one."""
    if applicant.legal_form == LegalForm.COOPERATIVE:
        return applicant.region_code
    return "zone" if applicant.province in settings.priority_provinces else "national"


def test_the_simulated_people_decide_the_same_whatever_the_order_they_are_asked_in():
    a = generate(demo_edition(day_seconds=0.3), 3, SEED)[2].application_id
    first = [people.review_grids(SEED, a, 2), people.withdraws_at(SEED, a), people.approves_cofunding(SEED, a)]
    people.review_grids(SEED, "another", 2)
    assert [people.review_grids(SEED, a, 2), people.withdraws_at(SEED, a), people.approves_cofunding(SEED, a)] == first
    assert people.review_grids(SEED + 1, a, 2) != first[0]
