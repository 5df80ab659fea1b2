"""Envelope commitments in the domain database, on SQLite and PostgreSQL: what the committee reserves,
what the ministry covers, what a closed application gives back; and, on PostgreSQL, two processes
covering at the same moment never overspend together."""

import multiprocessing
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.committee import Placement
from domain.db.edition_repository import EditionRepository
from domain.db.session import make_engine, migrate
from domain.db.tables import AwardRow
from domain.edition import CoverShortfall, PartnerRegion
from domain.models import Decision
from domain.reference import MINISTRY, LegalForm
from simulation.factories import make_submission, settings_with

T0 = datetime(2024, 11, 4, 9, 0, tzinfo=UTC)
COOP = dict(legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")


def edition(number: int, ministry: str, **kw):
    return settings_with(
        edition=number,
        partners=(PartnerRegion(region_code="02", envelope=Decimal("200000.00")),),
        ministry_envelope=Decimal(ministry),
        priority_envelope=Decimal(0),
        **kw,
    )


def submit(repo, settings, reg: str, **kw) -> str:
    sub = make_submission(reg, edition=settings.edition, **kw)
    repo.record_submission(sub.application_id, sub.application_id, sub, "officer", T0)
    return sub.application_id


def selected(app_id: str, funders: dict[str, str]) -> Placement:
    amounts = {f: Decimal(v) for f, v in funders.items()}
    return Placement(
        application_id=app_id,
        decision=Decision.SELECTED,
        rank=1,
        score=Decimal(80),
        award=sum(amounts.values()),
        funders=amounts,
        draws=amounts,
    )


def place(repo: EditionRepository, settings, placements: list[Placement], round_: int = 0) -> None:
    repo.open_edition(settings, f"edition-{settings.edition}", "officer", T0)
    repo.commit_round(settings, round_, T0, lambda _left: placements)
    for p in placements:
        repo.set_award(p.application_id, dict(p.funders))


def lines(repo: EditionRepository, settings) -> dict:
    return {x.envelope: (x.committed, x.paid, x.left) for x in repo.envelope_ledger(settings)}


def test_the_ministry_covers_a_declined_cofunding_only_within_its_envelope(repo):
    repo = EditionRepository(repo.engine)
    settings = edition(31, "80000.00")
    a = submit(repo, settings, "ENV-A")
    b = submit(repo, settings, "ENV-B", **COOP)
    place(repo, settings, [selected(a, {MINISTRY: "49000.00"}), selected(b, {"region-02": "40000.00"})])
    assert lines(repo, settings)[MINISTRY] == (Decimal("49000.00"), Decimal(0), Decimal("31000.00"))

    cover = repo.cover_cofunding(b, settings, "region-02", Decimal(0), T0)
    assert (cover.outcome, cover.covered, cover.funders) == (
        "reduced",
        Decimal("31000.00"),
        {MINISTRY: Decimal("31000.00")},
    )
    assert "31000.00 MAD left of the 40000.00 MAD" in cover.reason
    assert repo.cover_cofunding(b, settings, "region-02", Decimal(0), T0 + timedelta(hours=1)) == cover  # a retry
    got = lines(repo, settings)
    assert got[MINISTRY] == (Decimal("80000.00"), Decimal(0), Decimal("0.00"))
    assert got["region-02"][0] == Decimal("0.00")
    app = repo.get_application(b)
    assert {x["funder"]: x["amount"] for x in app["awards"]} == {MINISTRY: Decimal("31000.00")}
    assert [d["outcome"] for d in app["decisions"] if d["kind"] == "cofunding_cover"] == ["reduced"]

    # A withdraws before any payment: its award is released (marked so) and its money is free again.
    repo.close(a, "withdrawn", None, T0 + timedelta(days=3))
    assert lines(repo, settings)[MINISTRY] == (Decimal("31000.00"), Decimal(0), Decimal("49000.00"))
    with repo._tx() as s:
        released = s.scalars(select(AwardRow.released_at).where(AwardRow.application_id == a)).all()
    assert released and all(r is not None for r in released)


def test_short_of_money_the_edition_may_send_the_project_back_to_the_waitlist(repo):
    repo = EditionRepository(repo.engine)
    settings = edition(32, "60000.00", cover_shortfall=CoverShortfall.WAITLIST)
    a = submit(repo, settings, "ENV-C")
    b = submit(repo, settings, "ENV-D", **COOP)
    place(repo, settings, [selected(a, {MINISTRY: "49000.00"}), selected(b, {"region-02": "40000.00"})])
    cover = repo.cover_cofunding(b, settings, "region-02", Decimal("10000.00"), T0)
    assert (cover.outcome, cover.funders) == ("waitlist", {})
    assert "back to the waitlist" in cover.reason
    # Nothing was covered: the award is untouched until the workflow releases it.
    assert lines(repo, settings)[MINISTRY][0] == Decimal("49000.00")
    repo.set_award(b, {})
    assert lines(repo, settings)["region-02"][0] == Decimal("0.00")


def test_a_terminated_grant_keeps_only_what_was_paid_committed(repo):
    repo = EditionRepository(repo.engine)
    settings = edition(33, "100000.00")
    a = submit(repo, settings, "ENV-E")
    place(repo, settings, [selected(a, {MINISTRY: "40000.00"})])
    from domain.models import PaymentOrder

    key = f"{a}:T1:ministry"
    repo.create_payment_order(
        PaymentOrder(key=key, application_id=a, tranche=1, funder=MINISTRY, amount=Decimal("24000.00")), "0" * 24, T0
    )
    repo.record_payment(key, 1, "ref-1", T0)
    assert lines(repo, settings)[MINISTRY] == (Decimal("40000.00"), Decimal("24000.00"), Decimal("60000.00"))
    repo.close(a, "terminated", Decimal("24000.00"), T0 + timedelta(days=90))
    assert lines(repo, settings)[MINISTRY] == (Decimal("24000.00"), Decimal("24000.00"), Decimal("76000.00"))


def test_a_decision_the_application_never_applied_gives_its_money_back(repo):
    repo = EditionRepository(repo.engine)
    settings = edition(34, "100000.00")
    a = submit(repo, settings, "ENV-F")
    repo.open_edition(settings, "edition-34", "officer", T0)
    repo.close(a, "withdrawn", None, T0)  # withdrawn before the promotion round reached it
    repo.commit_round(settings, 1, T0, lambda _left: [selected(a, {MINISTRY: "40000.00"})])
    assert lines(repo, settings)[MINISTRY][0] == Decimal("40000.00")
    repo.mark_sent(a, 1, T0, "refused: the application is closed (withdrawn)", applied=False)
    assert lines(repo, settings)[MINISTRY][0] == Decimal("0.00")


# --- two processes at the same moment (PostgreSQL: SQLite's single writer would hide the race) ------


def _cover_at_once(url: str, settings_json: str, app_id: str, barrier) -> str:
    from domain.edition import EditionSettings

    repo = EditionRepository(make_engine(url))
    barrier.wait()
    cover = repo.cover_cofunding(
        app_id, EditionSettings.model_validate_json(settings_json), "region-02", Decimal(0), datetime.now(UTC)
    )
    repo.engine.dispose()
    return str(cover.covered)


def test_two_workers_covering_at_the_same_moment_cannot_overspend_together(postgresql_db_url):
    url = postgresql_db_url.render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    repo = EditionRepository(engine)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        for round_ in range(6):  # each round a fresh edition: 40,000 left, two covers of 30,000 asked at once
            settings = edition(40 + round_, "89000.00")
            a = submit(repo, settings, f"RACE-{round_}-A")
            coops = [submit(repo, settings, f"RACE-{round_}-{x}", **COOP) for x in "BC"]
            place(
                repo,
                settings,
                [selected(a, {MINISTRY: "49000.00"})] + [selected(c, {"region-02": "30000.00"}) for c in coops],
            )
            barrier = manager.Barrier(2)
            covered = pool.starmap(_cover_at_once, [(url, settings.model_dump_json(), c, barrier) for c in coops])
            assert sorted(Decimal(c) for c in covered) == [Decimal("10000.00"), Decimal("30000.00")]
            ministry = lines(repo, settings)[MINISTRY]
            assert ministry[0] == Decimal("89000.00") and ministry[2] == Decimal("0.00")
    engine.dispose()


def test_how_long_the_oldest_new_application_of_an_open_call_waits_for_its_first_check(repo):
    """What an import's pace reads (infra/backlog.py): the oldest application still `submitted`."""
    editions = EditionRepository(repo.engine)
    settings = edition(31, "1000000.00")
    editions.open_edition(settings, "edition-31", "officer", T0)
    assert editions.oldest_unchecked(T0) == 0.0  # none submitted
    first = submit(repo, settings, "ASSO-WAIT1")
    sub = make_submission("ASSO-WAIT2", edition=31)
    repo.record_submission(sub.application_id, sub.application_id, sub, "officer", T0 + timedelta(seconds=10))
    assert editions.oldest_unchecked(T0 + timedelta(seconds=60)) == 60.0
    repo.set_stage(first, 1, "eligibility", T0 + timedelta(seconds=61))  # its first step ran
    assert editions.oldest_unchecked(T0 + timedelta(seconds=70)) == 60.0  # the second, since T0 + 10 s
    editions.close_call(31, T0 + timedelta(seconds=80))
    assert editions.oldest_unchecked(T0 + timedelta(seconds=90)) == 0.0  # a closed call is not importing
