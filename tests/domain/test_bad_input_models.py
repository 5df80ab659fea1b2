"""Property tests: every input model refuses malformed, missing, out-of-range, wrong-type, huge and
hostile values with a reason naming the field, and never fails any other way.

Each example takes a valid input and replaces one field (nested ones too) with a hostile value
(tests/hostile.py: a value of any class of the doors' shared table, or a stray one), removes a
required field, or adds an unknown one. The model either refuses it with a pydantic
ValidationError (read here as ops read it: `field: message` through cli.inputs.field_errors, with
no input value echoed), or accepts a value that keeps the model's promises (amounts non-negative
Decimal with two decimals, text within its bounds, JSON round trip unchanged). Any other exception
(TypeError, decimal.InvalidOperation, RecursionError …) fails the test.
"""

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cli.inputs import field_errors
from domain.edition import PartnerRegion, Tranche, TrancheRelease, edition_4_settings
from domain.edition_messages import CloseCall, SelectionConfirmed, SubmissionBatch
from domain.models import (
    AgreementSigned,
    ApplicationInput,
    BankDetailsApproved,
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    Decision,
    Document,
    DocumentsCompleted,
    Indicators,
    PaymentResult,
    PaymentRetry,
    ProgressReport,
    ReportReview,
    SiteVisit,
    Termination,
    Withdrawal,
)
from domain.reference import MINISTRY, DocumentKind
from domain.reviewers import Recusal, ReviewerAssignment
from domain.rib import check_rib, rib_key
from domain.text import BIDI_CONTROLS
from simulation.factories import make_review, make_submission
from tests.hostile import HOSTILE, RIB, wrong_key_rib

SUBMISSION = make_submission("ASSO-PROP")

# One valid instance of every input model, as JSON (what a file, the gateway or a client sends).
VALID: dict[type[BaseModel], dict[str, Any]] = {
    m.__class__: m.model_dump(mode="json")
    for m in [
        SUBMISSION,
        SUBMISSION.applicant,
        SUBMISSION.project,
        Document(kind=DocumentKind.BUDGET, reference="dms/1"),
        ApplicationInput(settings=edition_4_settings(), submission=SUBMISSION, submitted_by="ops"),
        DocumentsCompleted(documents=(Document(kind=DocumentKind.BUDGET, reference="dms/1"),)),
        make_review("r1", 7, organisation="ORG-1"),
        ReviewerAssignment(reviewers=("amal", "zineb"), assigned_by="officer"),
        Recusal(reviewer_id="amal", reason="a cousin works there", recused_by="amal"),
        CommitteeDecision(
            decision=Decision.SELECTED,
            award=Decimal("40000.00"),
            funders={MINISTRY: Decimal("40000.00")},
            rank=3,
            decided_by="committee",
        ),
        CoFundingDecision(region_code="02", approved=True, amount=Decimal("10000.00"), decided_by="council"),
        AgreementSigned(signed_by="officer", signed_on=date(2024, 2, 1), bank_account=RIB),
        PaymentResult(order_key="moazara-4-A:T1:ministry", attempt=1, executed=True, reference="VIR-1"),
        PaymentRetry(requested_by="officer", reason="back up"),
        BankDetailsFixed(bank_account=RIB, fixed_by="officer"),
        BankDetailsApproved(approved_by="finance-2", approved=False, reason="not the applicant's account"),
        Indicators(
            jobs_created=1, beneficiaries=10, women=5, youth=2, revenue=Decimal("100.00"), spend=Decimal("50.00")
        ),
        ProgressReport(period=1, indicators=Indicators(beneficiaries=10, women=5), narrative="ok"),
        ReportReview(period=1, approved=True, decided_by="officer"),
        SiteVisit(visited_on=date(2024, 5, 2), visitor="inspector", findings="fine"),
        Withdrawal(requested_by="applicant", reason="moved"),
        Cancellation(cancelled_by="officer", reason="duplicate"),
        Termination(terminated_by="officer", reason="fraud", amount_to_recover=Decimal("100.00")),
        edition_4_settings(),
        PartnerRegion(region_code="02", envelope=Decimal("49000.00")),
        Tranche(share=Decimal("0.60"), release=TrancheRelease.SIGNATURE),
        SubmissionBatch(submissions=[SUBMISSION, make_submission("ASSO-PROP-2")]),
        CloseCall(closed_by="officer", reason="envelope spent"),
        SelectionConfirmed(confirmed_by="director"),
    ]
}
MODELS = list(VALID)


def leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every field path of a JSON document, nested objects and list items included (depth ≤ 3)."""
    out = [prefix] if prefix else []
    if len(prefix) >= 3:
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out += leaf_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:2]):
            out += leaf_paths(v, (*prefix, i))
    return out


def replaced(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    items = list(data)
    items[head] = replaced(items[head], rest, value)
    return items


def removed(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def keeps_its_promises(model: BaseModel) -> None:
    """An accepted input: money as Decimal with two decimals, bounded; a lossless JSON round trip."""
    dumped = model.model_dump(mode="json")
    assert type(model).model_validate(dumped) == model

    def walk(v: Any) -> None:
        if isinstance(v, BaseModel):
            for f in type(v).model_fields:
                walk(getattr(v, f))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, Decimal):
            assert v.is_finite() and abs(v) < 10**13, v
        elif isinstance(v, str):
            assert len(v) <= 2_000, len(v)
            assert v == unicodedata.normalize("NFC", v), v  # text is stored normalised (domain/text.py)
            assert not any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t" for c in v), v
            assert not any(ord(c) in BIDI_CONTROLS for c in v), v
        elif isinstance(v, float):
            raise AssertionError(f"a float in an accepted input: {v!r}")

    walk(model)


def refused_with_reasons(err: ValidationError, hostile: Any, path: tuple) -> None:
    errors = field_errors(err)
    assert errors and all(e.message for e in errors)
    text = "; ".join(map(str, errors))
    assert len(text) < 5_000  # a reason, not an echo of a huge input
    # A bank account given is never echoed back in a reason.
    if path and path[-1] == "bank_account" and isinstance(hostile, str) and len(hostile.strip()) >= 6:
        assert hostile.strip() not in text


def check(model: type[BaseModel], data: Any, hostile: Any = None, path: tuple = ()) -> None:
    try:
        accepted = model.model_validate(data)
    except ValidationError as e:
        refused_with_reasons(e, hostile, path)
        return
    keeps_its_promises(accepted)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_the_valid_example_of_each_model_is_valid(model):
    keeps_its_promises(model.model_validate(VALID[model]))


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
@PROPERTY
@given(data=st.data(), hostile=HOSTILE)
def test_any_field_replaced_by_a_hostile_value_is_refused_with_a_reason_or_stays_sound(model, data, hostile):
    base = VALID[model]
    path = data.draw(st.sampled_from(leaf_paths(base)), label="field")
    check(model, replaced(base, path, hostile), hostile, path)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_each_required_field_missing_is_named(model):
    base = VALID[model]
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        with pytest.raises(ValidationError) as e:
            model.model_validate(removed(base, name))
        assert name in {x.field.split(".")[0] for x in field_errors(e.value)}, (name, field_errors(e.value))


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
@PROPERTY
@given(name=st.text(min_size=1, max_size=30), value=HOSTILE)
def test_an_unknown_field_is_refused_and_named(model, name, value):
    base = VALID[model]
    if name in base:
        return
    with pytest.raises(ValidationError) as e:
        model.model_validate({**base, name: value})
    if name.strip() and name.isprintable():  # a blank or unprintable name cannot be shown, only refused
        assert any(x.field == name or x.field.endswith(name) for x in field_errors(e.value)), field_errors(e.value)


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**22 - 1), spaced=st.booleans())
def test_a_rib_is_accepted_exactly_when_its_key_matches_and_no_part_is_zero(seed, spaced):
    first_22 = f"{seed:022d}"
    good = first_22 + rib_key(first_22)
    as_typed = f"{good[:3]} {good[3:6]} {good[6:22]} {good[22:]}" if spaced else good
    if not all(part.strip("0") for part in (good[:3], good[3:6], good[6:22])):  # no bank, branch or account
        with pytest.raises(ValueError, match="never all zeros"):
            check_rib(as_typed)
    else:
        assert check_rib(as_typed) == good
        assert BankDetailsFixed(bank_account=as_typed, fixed_by="ops").bank_account == good
    bad = wrong_key_rib(seed)
    with pytest.raises(ValidationError) as e:
        BankDetailsFixed(bank_account=bad, fixed_by="ops")
    [error] = field_errors(e.value)
    assert error.field == "bank_account" and "key" in error.message and bad not in error.message


@PROPERTY
@given(
    amount=st.one_of(
        # Bounded: unbounded decimal strategies with fixed places overflow the decimal context.
        st.decimals(
            min_value=Decimal("-1e15"), max_value=Decimal("-0.01"), allow_nan=False, allow_infinity=False, places=2
        ),
        st.decimals(
            min_value=Decimal("1e12"), max_value=Decimal("1e20"), allow_nan=False, allow_infinity=False, places=2
        ),
        st.decimals(
            min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False, places=3
        ).filter(lambda d: d != d.quantize(Decimal("0.01"))),
        st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), "1e309", "40 000", "40,000.00"]),
    )
)
def test_negative_absurd_or_sub_centime_amounts_are_refused_naming_the_amount(amount):
    for model, field in ((Termination, "amount_to_recover"), (CoFundingDecision, "amount"), (Indicators, "revenue")):
        data = {**VALID[model], field: str(amount) if isinstance(amount, Decimal) else amount}
        with pytest.raises(ValidationError) as e:
            model.model_validate(data)
        assert field in {x.field for x in field_errors(e.value)}, (model, amount)
