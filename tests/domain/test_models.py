from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cli.inputs import field_errors
from domain.edition import EditionSettings, Tranche, TrancheRelease, edition_4_settings
from domain.models import Applicant, CommitteeDecision, Decision, Project
from domain.reference import LegalForm, Sector, province_region
from domain.rib import check_rib, mask_rib, rib_key
from simulation.factories import make_submission, settings_with, valid_rib
from tests.hostile import HUGE, MARKUP


def applicant(**overrides) -> Applicant:
    fields = dict(
        registration_number="ASSO-0001",
        name="Association Tifawin",
        legal_form=LegalForm.ASSOCIATION,
        region_code="07",
        province="Al Haouz",
        rural=True,
    )
    return Applicant(**{**fields, **overrides})


def project(**overrides) -> Project:
    fields = dict(
        title="Atelier de tissage",
        sector=Sector.HANDICRAFTS,
        total_cost=Decimal("50000.00"),
        requested_amount=Decimal("40000.00"),
        own_contribution=Decimal("10000.00"),
        duration_months=24,
    )
    return Project(**{**fields, **overrides})


# --- RIB ----------------------------------------------------------------------------------


def test_valid_rib_is_accepted_with_spaces_removed():
    rib = valid_rib(123456)
    assert len(rib) == 24 and int(rib) % 97 == 0
    spaced = f"{rib[:3]} {rib[3:6]} {rib[6:22]} {rib[22:]}"
    assert check_rib(spaced) == rib
    assert applicant(bank_account=spaced).bank_account == rib


def test_rib_key_makes_the_number_divisible_by_97():
    first_22 = "0077800000000000123456"
    assert int(first_22 + rib_key(first_22)) % 97 == 0


def test_rib_with_wrong_key_is_refused():
    rib = valid_rib(123456)
    wrong = rib[:22] + f"{(int(rib[22:]) + 1) % 100:02d}"
    with pytest.raises(ValueError, match="key"):
        check_rib(wrong)
    with pytest.raises(ValidationError, match="key"):
        applicant(bank_account=wrong)


def test_a_rib_whose_bank_locality_or_account_is_all_zeros_is_refused_though_its_key_matches():
    for first_22, part in (
        ("0" * 22, "bank code"),
        ("007000" + "1" * 16, "locality code"),
        ("007780" + "0" * 16, "account number"),
    ):
        rib = first_22 + rib_key(first_22)
        assert int(rib) % 97 == 0  # the key alone lets it through
        with pytest.raises(ValueError, match=part):
            check_rib(rib)
        with pytest.raises(ValidationError, match="bank_account"):
            applicant(bank_account=rib)


def test_rib_with_23_digits_is_refused():
    with pytest.raises(ValueError, match="24 digits"):
        check_rib(valid_rib(123456)[:23])


def test_rib_in_arabic_indic_digits_is_refused():
    # The payment system takes ASCII digits; the same number in Arabic-Indic digits is refused.
    arabic = "".join(chr(0x0660 + int(c)) for c in valid_rib(123456))
    with pytest.raises(ValueError, match="24 digits"):
        check_rib(arabic)


def test_rib_is_masked_for_logs():
    rib = valid_rib(123456)
    masked = mask_rib(rib)
    assert masked.startswith("007") and masked.endswith(rib[-4:]) and rib[6:20] not in masked


# --- Applicant and project ---------------------------------------------------------------


def test_applicant_with_province_outside_its_region_is_refused():
    # Fès is in Fès-Meknès (03), not Marrakech-Safi (07).
    with pytest.raises(ValidationError) as e:
        applicant(region_code="07", province="Fès")
    [error] = field_errors(e.value)
    assert (error.field, error.message) == ("province", "in region 03, not in region 07")


def test_applicant_with_unknown_province_is_refused():
    with pytest.raises(ValidationError) as e:
        applicant(province="Atlantis")
    [error] = field_errors(e.value)
    assert error.field == "province" and "Atlantis" not in error.message


@settings(max_examples=60, deadline=None)
@given(
    province=st.one_of(
        MARKUP, HUGE.map(lambda s: s[:100]), st.text(min_size=4, max_size=100), st.sampled_from(["Fès", "Al Haouz"])
    )
)
def test_a_refused_province_is_named_and_never_echoed(province):
    """A province is refused naming the field and the rule, never repeating the text given (it may
    be up to 100 characters of anything)."""
    try:
        applicant(region_code="02", province=province)
    except ValidationError as e:
        errors = field_errors(e)
    else:
        assert province.strip() in province_region(), province
        return
    assert [x.field for x in errors] == ["province"], errors
    given_text = province.strip()
    assert len(given_text) < 4 or all(given_text not in x.message for x in errors), errors


def test_project_where_requested_plus_own_exceeds_total_is_refused():
    with pytest.raises(ValidationError, match="total_cost"):
        project(requested_amount=Decimal("45000.00"), own_contribution=Decimal("10000.00"))


def test_float_amount_with_three_decimals_is_refused():
    with pytest.raises(ValidationError, match="total_cost"):
        project(total_cost=50000.125)


def test_amount_with_two_decimals_is_accepted():
    assert project(total_cost="50000.50").total_cost == Decimal("50000.50")


def test_unknown_extra_field_is_refused():
    with pytest.raises(ValidationError, match="budget_line"):
        project(budget_line="equipment")


def test_factory_submission_is_valid_and_named_after_its_applicant():
    sub = make_submission("ASSO-0042")
    assert sub.application_id == "moazara-4-ASSO-0042"
    assert sub.project.requested_amount == Decimal("40000.00")
    assert check_rib(sub.applicant.bank_account) == sub.applicant.bank_account


# --- Committee decision ------------------------------------------------------------------


def test_selected_decision_whose_funders_do_not_add_up_is_refused():
    with pytest.raises(ValidationError, match="funders"):
        CommitteeDecision(
            decision=Decision.SELECTED,
            award=Decimal("45000.00"),
            funders={"ministry": Decimal("30000.00"), "region-03": Decimal("10000.00")},
            decided_by="committee",
        )


def test_selected_decision_with_matching_funders_is_accepted():
    d = CommitteeDecision(
        decision=Decision.SELECTED,
        award=Decimal("45000.00"),
        funders={"ministry": Decimal("35000.00"), "region-03": Decimal("10000.00")},
        decided_by="committee",
    )
    assert d.award == Decimal("45000.00")


def test_rejected_decision_with_an_award_is_refused():
    with pytest.raises(ValidationError, match="award"):
        CommitteeDecision(decision=Decision.REJECTED, award=Decimal("1000.00"), decided_by="committee")


# --- Edition settings --------------------------------------------------------------------


def test_tranches_not_adding_up_to_one_are_refused():
    with pytest.raises(ValidationError, match="tranches"):
        EditionSettings(
            edition=6,
            year=2025,
            call_opens=date(2025, 9, 15),
            call_closes=date(2025, 10, 15),
            tranches=(
                Tranche(share=Decimal("0.60"), release=TrancheRelease.SIGNATURE),
                Tranche(share=Decimal("0.30"), release=TrancheRelease.MIDTERM_REPORT),
            ),
        )


def test_edition_4_defaults_reproduce_the_public_facts():
    ed4 = edition_4_settings()
    assert ed4.ceilings[LegalForm.ASSOCIATION] == Decimal("49000.00")
    assert [p.region_code for p in ed4.partners] == ["02", "03"]
    assert [t.share for t in ed4.tranches] == [Decimal("0.60"), Decimal("0.40")]
    assert "Al Haouz" in ed4.priority_provinces


def test_settings_override_is_validated():
    with pytest.raises(ValidationError, match="min_duration_months"):
        settings_with(min_duration_months=30)
