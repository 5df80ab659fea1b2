"""Values that are well-formed but wrong must not pass the rules and reach money (issue 14, item 13):
a request of nothing, a negative zero, more women than beneficiaries, a call a century away, an
agreement or a visit dated a century off. Each is refused naming its field."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from domain.models import Indicators, SiteVisit, Stage
from domain.money import mad
from simulation.driver import signature
from simulation.factories import make_submission, settings_with, valid_rib
from workflows.application import ApplicationWorkflow


def test_amounts_are_never_negative_zero_and_a_request_is_more_than_nothing():
    assert str(mad("-0")) == "0.00" and str(mad("-0.001")) == "0.00" and str(mad("12.345")) == "12.34"
    for requested in ("0", "-0", "0.00"):
        with pytest.raises(ValidationError) as e:
            make_submission("ZERO-1", requested=Decimal(requested))
        assert "requested_amount" in str(e.value)


def test_women_and_youth_are_counted_among_the_beneficiaries():
    with pytest.raises(ValidationError) as e:
        Indicators(beneficiaries=10, women=12)
    assert "women: 12 women among 10 beneficiaries" in str(e.value)
    with pytest.raises(ValidationError) as e:
        Indicators(beneficiaries=3, youth=4)
    assert "youth: 4 youth among 3 beneficiaries" in str(e.value)
    assert Indicators(beneficiaries=10, women=10, youth=3).women == 10


def test_a_call_a_century_away_or_a_century_long_is_refused():
    with pytest.raises(ValidationError) as e:
        settings_with(call_opens=date(2123, 9, 15), call_closes=date(2123, 10, 13))
    assert "call_opens" in str(e.value)
    with pytest.raises(ValidationError) as e:
        settings_with(call_opens=date(2023, 9, 15), call_closes=date(2123, 10, 13))
    assert "call_closes: a call lasts at most a year" in str(e.value)


async def test_an_agreement_or_a_visit_dated_a_century_off_is_refused(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("DATES-1"))
    await d.review_all(h)
    await d.select(h)
    issued = await d.reach(h, Stage.AGREEMENT)
    for day in (date(1924, 2, 1), date(2124, 2, 1)):
        with pytest.raises(WorkflowUpdateFailedError) as e:
            await h.execute_update(
                ApplicationWorkflow.sign_agreement,
                signature(issued, valid_rib(3), signed_by="officer", signed_on=day),
            )
        assert f"signed_on: {day} is outside 2022-01-01 to today" in str(e.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as e:
            await h.execute_update(
                ApplicationWorkflow.record_site_visit, SiteVisit(visited_on=day, visitor="inspector")
            )
        assert f"visited_on: {day} is outside" in str(e.value.cause)
    assert (await d.status(h)).stage == Stage.AGREEMENT  # nothing changed
    await d.sign(h)  # a date in the window is taken
    await d.reach(h, Stage.DISBURSEMENT)
