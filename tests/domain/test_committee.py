"""The committee's selection on the two reference scenarios, and its rules one by one."""

import random
from collections import Counter
from decimal import Decimal

import pytest

from domain.committee import MINISTRY, PRIORITY, Candidate, envelopes, promote, select
from domain.edition import edition_4_settings, edition_5_settings
from domain.models import Decision
from domain.reference import LegalForm
from scenarios.editions import candidates, edition_4, edition_5
from simulation.factories import settings_with


def _selected(placements):
    return [p for p in placements if p.decision == Decision.SELECTED]


def _spent(placements) -> Counter:
    spent: Counter = Counter()
    for p in _selected(placements):
        spent.update(p.draws)
    return spent


def test_edition_4_shape_121_selected_44_in_the_earthquake_zone():
    """Settings: edition_4_settings() — an envelope of 44 ceilings ring-fenced (exclusively) for the six
    earthquake-hit provinces, 62 ceilings national, 7 for l'Oriental, 8 for Fès-Meknès."""
    settings = edition_4_settings()
    cands = candidates(edition_4(settings), settings)
    placements = select(cands, settings)
    chosen = _selected(placements)
    by_id = {c.application_id: c for c in cands}
    assert len(chosen) == 121
    assert sum(by_id[p.application_id].province in settings.priority_provinces for p in chosen) == 44
    assert Counter(next(iter(p.funders)) for p in chosen) == {MINISTRY: 106, "region-02": 7, "region-03": 8}
    assert sum(p.honorary_award for p in chosen) == 3
    assert all(p.award == Decimal("49000.00") for p in chosen)


def test_edition_5_shape_163_selected():
    """Settings: edition_5_settings() — 130 ceilings for the ministry, 19 for Fès-Meknès, 14 for
    l'Oriental, none yet for Tanger-Tétouan-Al Hoceïma; 670 requests."""
    settings = edition_5_settings()
    apps = edition_5(settings)
    assert len(apps) == 670
    cands = candidates(apps, settings)
    chosen = _selected(select(cands, settings))
    by_id = {c.application_id: c for c in cands}
    assert len(chosen) == 163
    ministry = [p for p in chosen if p.funders == {MINISTRY: Decimal("49000.00")}]
    assert len(ministry) == 130
    assert {by_id[p.application_id].legal_form for p in ministry} <= {LegalForm.ASSOCIATION, LegalForm.NETWORK}
    coops = Counter(
        next(iter(p.funders)) for p in chosen if by_id[p.application_id].legal_form == LegalForm.COOPERATIVE
    )
    assert coops == {"region-03": 19, "region-02": 14}


@pytest.mark.parametrize("settings, generator", [(edition_4_settings(), edition_4), (edition_5_settings(), edition_5)])
def test_same_selection_whatever_the_order_of_arrival(settings, generator):
    cands = candidates(generator(settings), settings)
    reference = select(cands, settings)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = cands[:]
        rng.shuffle(shuffled)
        assert select(shuffled, settings) == reference


@pytest.mark.parametrize("settings, generator", [(edition_4_settings(), edition_4), (edition_5_settings(), edition_5)])
def test_envelopes_are_never_exceeded(settings, generator):
    placements = select(candidates(generator(settings), settings), settings)
    spent, available = _spent(placements), envelopes(settings)
    for envelope, amount in spent.items():
        assert amount <= available[envelope], envelope
    # Everyone not selected but good enough is on the ranked waitlist, in rank order.
    waitlist = [p.rank for p in placements if p.decision == Decision.WAITLISTED]
    assert waitlist == sorted(waitlist) and waitlist


def _plain(**overrides):
    """Edition 4's rules without its envelopes: only what a test sets."""
    return settings_with(
        **{
            "partners": (),
            "priority_envelope": Decimal(0),
            "priority_envelope_exclusive": False,
            "priority_bonus": Decimal(0),
            **overrides,
        }
    )


def _c(
    reg: str,
    score: str,
    province: str = "Rabat",
    region: str = "04",
    form=LegalForm.ASSOCIATION,
    innovation: str = "5",
    jobs: int = 3,
    requested: str = "40000.00",
) -> Candidate:
    return Candidate(
        application_id=f"app-{reg}",
        registration_number=reg,
        legal_form=form,
        region_code=region,
        province=province,
        score=Decimal(score),
        innovation=Decimal(innovation),
        jobs=jobs,
        requested=Decimal(requested),
    )


def test_priority_bonus_lifts_an_earthquake_zone_project_above_a_better_scored_one():
    settings = _plain(ministry_envelope=Decimal("40000.00"), priority_bonus=Decimal("10"))
    placements = select([_c("A", "75"), _c("B", "68", province="Al Haouz", region="07")], settings)
    assert [p.application_id for p in _selected(placements)] == ["app-B"]
    assert placements[0].score == Decimal("78")


def test_ring_fenced_envelope_leftover_goes_back_to_the_national_envelope():
    settings = _plain(ministry_envelope=Decimal("120000.00"), priority_envelope=Decimal("80000.00"))
    cands = [_c("Z1", "60", province="Azilal", region="05"), _c("N1", "90"), _c("N2", "80"), _c("N3", "70")]
    chosen = {p.application_id: p for p in _selected(select(cands, settings))}
    assert set(chosen) == {"app-Z1", "app-N1", "app-N2"}
    assert chosen["app-Z1"].draws == {PRIORITY: Decimal("40000.00")}
    assert chosen["app-N2"].draws == {MINISTRY: Decimal("40000.00")}  # from the leftover of the ring-fence


def test_ties_are_broken_by_innovation_then_jobs_then_registration_number():
    settings = _plain(ministry_envelope=Decimal("80000.00"))
    cands = [
        _c("C", "70", innovation="6", jobs=1),
        _c("B", "70", innovation="6", jobs=9),
        _c("A", "70", innovation="6", jobs=9),
        _c("D", "70", innovation="8"),
    ]
    assert [p.application_id for p in select(cands, settings)] == ["app-D", "app-A", "app-B", "app-C"]


def test_below_the_minimum_score_is_rejected_not_waitlisted():
    settings = _plain(ministry_envelope=Decimal("40000.00"))
    placements = {p.application_id: p.decision for p in select([_c("A", "80"), _c("B", "60"), _c("C", "40")], settings)}
    assert placements == {"app-A": Decision.SELECTED, "app-B": Decision.WAITLISTED, "app-C": Decision.REJECTED}


def test_promotion_takes_the_next_waitlisted_project_that_fits_the_freed_money():
    settings = _plain(ministry_envelope=Decimal("100000.00"))
    waitlist = [
        _c("W1", "70", requested="45000.00"),
        _c("W2", "65", requested="30000.00"),
        _c("W3", "60", requested="30000.00"),
    ]
    promoted = promote(waitlist, settings, {MINISTRY: Decimal("35000.00")})
    assert [p.application_id for p in promoted] == ["app-W2"]  # W1 does not fit, W3 no longer does
    assert promoted[0].award == Decimal("30000.00")
