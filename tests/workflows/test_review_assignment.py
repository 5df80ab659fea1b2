"""Reviewer assignment: the pure rule, the repository (SQLite and PostgreSQL), the workflow on the
time-skipping server (automatic, officers, recusal, a pool that runs short)."""

from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.db.repository import ReviewerRefused
from domain.edition import ReviewAssignment
from domain.models import Stage
from domain.reference import Sector
from domain.reviewers import Recusal, ReviewerAssignment, ReviewerProfile, choose_reviewers
from simulation.driver import Driver
from simulation.factories import make_review, make_submission, settings_with
from workflows.application import ApplicationWorkflow

AT = datetime(2025, 3, 1, tzinfo=UTC)
HANDICRAFTS, AGRICULTURE = Sector.HANDICRAFTS, Sector.SOLIDARITY_AGRICULTURE


def profile(rid: str, *sectors: Sector, org: str | None = None, links: tuple[str, ...] = ()) -> ReviewerProfile:
    return ReviewerProfile(reviewer_id=rid, sectors=sectors, organisation=org, declared_links=links)


# --- the rule --------------------------------------------------------------------------------


def test_experts_first_then_the_lightest_load_never_a_conflict():
    applicant = make_submission("ASSO-RULE", declared_links=("ORG-LINKED",)).applicant
    pool = [
        profile("zineb", HANDICRAFTS),
        profile("amal", HANDICRAFTS),
        profile("brahim", AGRICULTURE),
        profile("chama"),
        profile("linked", HANDICRAFTS, links=("ASSO-RULE",)),  # declared a link with the applicant
        profile("member", HANDICRAFTS, org="ASSO-RULE"),  # belongs to the applicant
        profile("org", HANDICRAFTS, org="ORG-LINKED"),  # the applicant declared a link with their organisation
    ]
    assert choose_reviewers(pool, applicant, HANDICRAFTS, 2, {}) == ["amal", "zineb"]
    # Among experts the lighter load goes first; non-experts only when the experts run out.
    assert choose_reviewers(pool, applicant, HANDICRAFTS, 3, {"amal": 4, "zineb": 1}) == ["zineb", "amal", "brahim"]
    assert choose_reviewers(pool, applicant, HANDICRAFTS, 9, {}, excluded={"amal"}) == ["zineb", "brahim", "chama"]
    assert choose_reviewers(pool, applicant, AGRICULTURE, 1, {"brahim": 50}) == ["brahim"]


# --- the repository --------------------------------------------------------------------------


def _submitted(repo, reg: str, **kw) -> str:
    sub = make_submission(reg, **kw)
    repo.record_submission(sub.application_id, sub.application_id, sub, "officer", AT)
    return sub.application_id


def test_assignment_balances_load_answers_a_retry_the_same_and_refuses_a_conflict(repo):
    for p in (profile("amal", HANDICRAFTS), profile("zineb", HANDICRAFTS), profile("brahim", AGRICULTURE)):
        repo.set_reviewer(p, AT)
    first = _submitted(repo, "ASSO-R1")
    second = _submitted(repo, "ASSO-R2")
    assert repo.assign_reviewers(first, 1, 1, (), "edition", AT) == ["amal"]
    assert repo.assign_reviewers(first, 1, 1, (), "edition", AT) == ["amal"]  # a retried activity: the same
    assert repo.assign_reviewers(second, 1, 2, (), "edition", AT) == ["zineb", "amal"]  # zineb had no load
    assert {a["application_id"] for a in repo.assignments_of("amal")} == {first, second}

    linked = _submitted(repo, "ASSO-R3")
    repo.set_reviewer(profile("brahim", AGRICULTURE, links=("ASSO-R3",)), AT)
    with pytest.raises(ReviewerRefused, match="reviewers: conflict of interest: reviewer brahim declared a link"):
        repo.assign_reviewers(linked, 1, 1, ("brahim",), "officer-nadia", AT)
    with pytest.raises(ReviewerRefused, match="reviewers: nobody is not an active reviewer"):
        repo.assign_reviewers(linked, 2, 1, ("nobody",), "officer-nadia", AT)
    assert repo.assignments(linked) == []  # nothing written by a refusal

    repo.recuse_reviewer(first, "amal", "a cousin works there", "amal", 1, AT)
    assert [(a["reviewer_id"], a["state"]) for a in repo.assignments(first)] == [("amal", "recused")]
    # Recused rows no longer count as load; the recusal and each assignment are on the audit chain.
    decisions = {(d["kind"], d["seq"]) for d in repo.get_application(first)["decisions"]}
    assert {("review_assignment", 1), ("recusal", 1)} <= decisions
    repo.set_reviewer(profile("zineb", HANDICRAFTS), AT, active=False)
    assert set(repo.reviewer_pool()) == {"amal", "brahim"}


# --- the workflow ----------------------------------------------------------------------------


@pytest.fixture
async def run(ts_env, lifecycle_queue, sqlite_repo):
    """Drivers of editions assigning reviewers one way or another, on the lifecycle worker."""
    drivers: list[Driver] = []

    def driver(mode: ReviewAssignment) -> Driver:
        drivers.append(Driver(ts_env, lifecycle_queue, settings_with(review_assignment=mode)))
        return drivers[-1]

    yield driver, sqlite_repo
    for d in drivers:
        await d.cleanup()


async def refused(h, update, inp) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(update, inp)
    return e.value.cause.message


async def test_automatic_edition_assigns_experts_and_only_they_review(run):
    make, repo = run
    for p in (profile("amal", HANDICRAFTS), profile("zineb", HANDICRAFTS), profile("brahim", AGRICULTURE)):
        repo.set_reviewer(p, AT)
    repo.set_reviewer(profile("linked", HANDICRAFTS, links=("ASSO-AUTO",)), AT)
    d = make(ReviewAssignment.AUTOMATIC)
    h = await d.start(make_submission("ASSO-AUTO"))
    s = await d.reach(h, Stage.REVIEW, "2 reviews")
    assert s.reviewers == ["amal", "zineb"]  # the sector's experts; never the linked one

    assert "brahim is not assigned" in await refused(h, ApplicationWorkflow.submit_review, make_review("brahim"))
    answer = await h.execute_update(
        ApplicationWorkflow.recuse, Recusal(reviewer_id="zineb", reason="unavailable", recused_by="zineb")
    )
    assert answer.message == "zineb recused; replaced by brahim"
    assert "zineb is not assigned" in await refused(h, ApplicationWorkflow.submit_review, make_review("zineb"))
    assert (await d.status(h)).reviewers == ["amal", "brahim"]
    await d.review_all(h, score=8)
    s = await d.reach(h, Stage.COMMITTEE)
    assert s.score == 80
    states = {a["reviewer_id"]: a["state"] for a in repo.assignments(h.id)}
    assert states == {"amal": "reviewed", "zineb": "recused", "brahim": "reviewed"}


async def test_officers_assign_and_a_refusal_changes_nothing(run):
    make, repo = run
    for p in (profile("amal", HANDICRAFTS), profile("zineb"), profile("linked", links=("ASSO-OFF",))):
        repo.set_reviewer(p, AT)
    d = make(ReviewAssignment.OFFICERS)
    h = await d.start(make_submission("ASSO-OFF"))
    s = await d.reach(h, Stage.REVIEW, "2 reviews")
    assert s.reviewers == []  # nobody until an officer assigns
    reason = await refused(
        h, ApplicationWorkflow.assign_reviewers, ReviewerAssignment(reviewers=("linked",), assigned_by="nadia")
    )
    assert reason.startswith("reviewers: conflict of interest: reviewer linked declared a link")
    reason = await refused(
        h, ApplicationWorkflow.assign_reviewers, ReviewerAssignment(reviewers=("a", "b", "c"), assigned_by="nadia")
    )
    assert reason == "reviewers: 3 named for 2 free seat(s)"
    assert (await d.status(h)).reviewers == [] and repo.assignments(h.id) == []

    await h.execute_update(
        ApplicationWorkflow.assign_reviewers, ReviewerAssignment(reviewers=("zineb",), assigned_by="nadia")
    )
    answer = await h.execute_update(ApplicationWorkflow.assign_reviewers, ReviewerAssignment(assigned_by="nadia"))
    assert answer.message == "reviewers assigned: amal"  # the rule fills the free seat
    assert (await d.status(h)).reviewers == ["zineb", "amal"]
    reason = await refused(h, ApplicationWorkflow.assign_reviewers, ReviewerAssignment(assigned_by="nadia"))
    assert reason == "reviewers: the 2 reviewers are assigned"
    assigned_by = {a["reviewer_id"]: a["assigned_by"] for a in repo.assignments(h.id)}
    assert assigned_by == {"zineb": "nadia", "amal": "nadia"}


async def test_a_recusal_with_nobody_left_escalates_to_the_officers(run):
    make, repo = run
    repo.set_reviewer(profile("amal", HANDICRAFTS), AT)
    d = make(ReviewAssignment.AUTOMATIC)
    h = await d.start(make_submission("ASSO-SHORT"))
    s = await d.reach(h, Stage.REVIEW, "2 reviews")
    assert s.reviewers == ["amal"]
    assert any("1 review seat(s) found no reviewer" in e for e in s.escalations)
    answer = await h.execute_update(
        ApplicationWorkflow.recuse, Recusal(reviewer_id="amal", reason="conflict found late", recused_by="amal")
    )
    assert answer.message == "amal recused; no reviewer free of conflict: an officer assigns one"
    assert "amal was already asked" in await refused(
        h, ApplicationWorkflow.assign_reviewers, ReviewerAssignment(reviewers=("amal",), assigned_by="nadia")
    )


async def test_an_open_edition_refuses_assignment(run):
    make, _ = run
    d = make(ReviewAssignment.OPEN)
    h = await d.start(make_submission("ASSO-OPEN"))
    await d.reach(h, Stage.REVIEW)
    reason = await refused(h, ApplicationWorkflow.assign_reviewers, ReviewerAssignment(assigned_by="nadia"))
    assert reason.startswith("review_assignment:")
    await h.execute_update(ApplicationWorkflow.submit_review, make_review("anyone"))
    assert (await d.status(h)).reviews == 1
