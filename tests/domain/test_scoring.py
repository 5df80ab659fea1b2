from decimal import Decimal

import pytest

from domain.edition import DEFAULT_GRID, Criterion, edition_4_settings, edition_5_settings
from domain.scoring import application_score, conflict_of_interest, priority_score, weighted_score
from simulation.factories import make_review, make_submission

ED4 = edition_4_settings()


def test_uniform_scores_give_ten_times_the_score():
    assert weighted_score({c: 7 for c in Criterion}, DEFAULT_GRID) == Decimal("70.00")
    assert weighted_score({c: 10 for c in Criterion}, DEFAULT_GRID) == Decimal("100.00")
    assert weighted_score({c: 0 for c in Criterion}, DEFAULT_GRID) == Decimal("0.00")


def test_weights_of_the_default_grid_are_applied():
    scores = {
        Criterion.INNOVATION: 9,  # 0.20 -> 1.8
        Criterion.INCOME_GENERATION: 6,  # 0.20 -> 1.2
        Criterion.JOBS: 8,  # 0.20 -> 1.6
        Criterion.INCLUSION: 10,  # 0.15 -> 1.5
        Criterion.SUSTAINABILITY: 5,  # 0.10 -> 0.5
        Criterion.FEASIBILITY: 7,  # 0.15 -> 1.05
    }
    assert weighted_score(scores, DEFAULT_GRID) == Decimal("76.50")


def test_a_heavier_criterion_counts_more():
    innovative = {**{c: 5 for c in Criterion}, Criterion.INNOVATION: 10}  # weight 0.20
    sustainable = {**{c: 5 for c in Criterion}, Criterion.SUSTAINABILITY: 10}  # weight 0.10
    assert weighted_score(innovative, DEFAULT_GRID) == Decimal("60.00")
    assert weighted_score(sustainable, DEFAULT_GRID) == Decimal("55.00")


def test_score_is_rounded_to_two_decimals_half_even():
    grid = {Criterion.INNOVATION: Decimal("0.333"), Criterion.JOBS: Decimal("0.667")}
    # 7*0.333 + 8*0.667 = 7.667 -> 76.67
    assert weighted_score({Criterion.INNOVATION: 7, Criterion.JOBS: 8}, grid) == Decimal("76.67")
    grid = {Criterion.INNOVATION: Decimal("0.0005"), Criterion.JOBS: Decimal("0.9995")}
    # 5*0.0005*10 = 0.025 -> 0.02 (half-even), not 0.03
    assert weighted_score({Criterion.INNOVATION: 5, Criterion.JOBS: 0}, grid) == Decimal("0.02")


def test_missing_criterion_is_refused_by_name():
    scores = {c: 7 for c in Criterion if c != Criterion.FEASIBILITY}
    with pytest.raises(ValueError, match="feasibility"):
        weighted_score(scores, DEFAULT_GRID)


def test_criterion_not_in_the_grid_is_refused_by_name():
    grid = {c: w for c, w in DEFAULT_GRID.items() if c != Criterion.SUSTAINABILITY}
    with pytest.raises(ValueError, match="sustainability"):
        weighted_score({c: 7 for c in Criterion}, grid)


def test_score_outside_0_to_10_is_refused():
    with pytest.raises(ValueError, match="jobs"):
        weighted_score({**{c: 7 for c in Criterion}, Criterion.JOBS: 11}, DEFAULT_GRID)


def test_application_score_is_the_mean_of_reviewers():
    assert application_score([Decimal("70.00"), Decimal("76.50")]) == Decimal("73.25")
    assert application_score([Decimal("80.00")]) == Decimal("80.00")


def test_application_mean_rounds_half_even():
    # (70.00 + 70.01) / 2 = 70.005 -> 70.00; (70.01 + 70.02) / 2 = 70.015 -> 70.02
    assert application_score([Decimal("70.00"), Decimal("70.01")]) == Decimal("70.00")
    assert application_score([Decimal("70.01"), Decimal("70.02")]) == Decimal("70.02")
    assert application_score([Decimal("70"), Decimal("80"), Decimal("90.01")]) == Decimal("80.00")


def test_no_reviews_means_no_score():
    assert application_score([]) is None


def test_reviewer_from_the_applicant_organisation_is_in_conflict():
    applicant = make_submission("ASSO-0042").applicant
    reason = conflict_of_interest(make_review("r1", organisation="asso-0042"), applicant)
    assert reason is not None and "ASSO-0042" in reason


def test_reviewer_declaring_a_link_with_the_applicant_is_in_conflict():
    applicant = make_submission("ASSO-0042").applicant
    review = make_review("r1", organisation="ORG-77", declared_links=("ASSO-0001", "Asso-0042"))
    assert "declared a link" in conflict_of_interest(review, applicant)


def test_applicant_declaring_a_link_with_the_reviewer_organisation_is_in_conflict():
    applicant = make_submission("ASSO-0042", declared_links=("ORG-77",)).applicant
    reason = conflict_of_interest(make_review("r1", organisation="org-77"), applicant)
    assert reason is not None and "reviewer's organisation org-77" in reason


def test_unrelated_reviewer_has_no_conflict():
    applicant = make_submission("ASSO-0042", declared_links=("ORG-12",)).applicant
    assert (
        conflict_of_interest(make_review("r1", organisation="ORG-77", declared_links=("ASSO-0043",)), applicant) is None
    )
    assert conflict_of_interest(make_review("r2"), applicant) is None


def test_earthquake_province_gets_the_priority_bonus():
    # The 5th edition favours the earthquake zone with a bonus of 10 points (the 4th ring-fenced an envelope).
    assert priority_score(Decimal("72.50"), "Al Haouz", edition_5_settings()) == Decimal("82.50")
    assert priority_score(Decimal("72.50"), "Taroudant", edition_5_settings()) == Decimal("82.50")
    assert priority_score(Decimal("72.50"), "Al Haouz", ED4) == Decimal("72.50")


def test_other_province_gets_no_bonus():
    assert priority_score(Decimal("72.50"), "Fès", edition_5_settings()) == Decimal("72.50")
    assert priority_score(Decimal("72.50"), "Marrakech", edition_5_settings()) == Decimal("72.50")
