"""The workflows' refusals and waits as codes with parameters (domain/refusals.py), translated at
the console's edge from their own catalogs (console/locale/<lang>/LC_MESSAGES/refusals.po)."""

import string

import pytest
from babel.messages.pofile import read_po

from console.i18n import LANGUAGES, LOCALE_DIR, REFUSALS_DOMAIN, Words
from domain.refusals import REFUSALS, WAITS, Refusal, english, from_details, waiting
from frontdoor.send import Result, ResultCode
from workflows.application.state import APPROVAL_DUE, FIX_DUE, PAYMENTS_DUE, RESEND_DUE


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_refusal_and_wait_has_a_translation_with_the_same_parameters(language):
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{REFUSALS_DOMAIN}.po").open("rb") as f:
        catalog = read_po(f)
    english_texts = {code: kind.text for code, kind in REFUSALS.items()} | WAITS
    missing = sorted(c for c in [*english_texts, " or "] if c not in catalog or not catalog[c].string)
    assert not missing, f"{language}: no translation for {missing}"
    wrong = sorted(c for c, text in english_texts.items() if _names(catalog[c].string) != _names(text))
    assert not wrong, f"{language}: parameters differ from the English for {wrong}"


def test_a_refusal_is_a_value_error_in_the_words_the_workflows_always_used():
    cases = {
        Refusal("stage.wrong", stage="review", expected="committee or waitlisted"): (
            "stage: the application is in stage review, not committee or waitlisted"
        ),
        Refusal(
            "review.already_reviewed", reviewer="rev-1"
        ): "reviewer_id: rev-1 has already reviewed this application",
        Refusal("payment.unknown_order", order_key="A:T1:ministry"): "order_key: unknown payment order 'A:T1:ministry'",
        Refusal("date.out_of_range", field="signed_on", day="2030-01-01", earliest="2023-01-01", today="2024-02-01"): (
            "signed_on: 2030-01-01 is outside 2023-01-01 to today (2024-02-01)"
        ),
        Refusal("termination.not_funded"): (
            "reason: only a funded grant (agreement signed) can be terminated; withdraw or cancel instead"
        ),
    }
    for refusal, words in cases.items():
        assert isinstance(refusal, ValueError) and str(refusal) == words
        assert from_details([refusal.details()]) == (refusal.code, refusal.params)
    assert english("review.all_in", {"k": "3"}) == "reviewer_id: the 3 reviews are already in"
    with pytest.raises(KeyError):
        Refusal("no.such.code")


def test_waits_keep_their_english_text():
    assert (PAYMENTS_DUE, RESEND_DUE) == (
        "payment system: tranche executed",
        "ops: retry the payment orders the payment system did not take",
    )
    assert FIX_DUE == "ops: fix the bank details of a rejected payment"
    assert APPROVAL_DUE == "finance: a second person approves the new bank details"
    assert waiting("waiting.report.escalated", period=2, final=4).text == (
        "progress report 2 of 4 (escalated, next tranche suspended)"
    )


def _result(reason: str, refusal: str | None = None, **params: str) -> Result:
    return Result(code=ResultCode.REFUSED, workflow_id="w", actor="a", reason=reason, refusal=refusal, params=params)


def test_the_console_translates_a_refusal_with_its_parameters_and_falls_back_on_the_english():
    wrong = _result("stage: …", "stage.wrong", stage="review", expected="committee or waitlisted")
    assert Words("fr").refusal(wrong) == "la demande est à l'étape « Évaluation », et non « Comité ou Liste d'attente »"
    assert Words("ar").refusal(wrong) == "الطلب في مرحلة «التقييم» وليس في مرحلة «اللجنة أو لائحة الانتظار»"
    award = _result("award: …", "award.exceeds_ceiling", award="60000.00", ceiling="49000.00")
    fr = Words("fr")
    assert fr.refusal(award) == (
        f"le montant accordé de {fr.money(60000)} dépasse le montant demandé ou le plafond de {fr.money(49000)}"
    )
    assert Words("ar").refusal(award).startswith("المبلغ الممنوح")
    assert Words("ar").refusal(_result("old words", "unknown.code")) == "old words"
    assert Words("fr").refusal(_result("no code")) == "no code"
    assert Words("fr").refusal(_result("missing param", "review.not_assigned")) == "missing param"


def test_a_conflict_of_interest_is_refused_with_its_own_code():
    from domain.scoring import conflict_of_interest, conflict_refusal
    from simulation.factories import make_review, make_submission

    applicant = make_submission("CONFLICT-1").applicant
    review = make_review("r1", organisation=applicant.registration_number)
    refusal = conflict_refusal(review, applicant)
    assert refusal is not None and refusal.code == "review.conflict.own_organisation"
    assert refusal.params == {"reviewer": "r1", "applicant": applicant.registration_number}
    assert str(refusal) == f"reviewer_id: conflict of interest: {conflict_of_interest(review, applicant)}"
    assert conflict_refusal(make_review("r2"), applicant) is None
