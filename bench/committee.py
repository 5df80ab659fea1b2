"""Times the committee over an edition of N applications (default 10,000) in the database.

The applications are written as the workflows would leave them at the committee (submitted,
reviewed, scored), then the committee's activity runs as in production: candidates from the
database, ranking and envelope filling, the proposal stored. Prints and writes the figures.

    python -m bench.committee [-n 10000] [--database-url sqlite:///var/bench-committee.db]
"""

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import track

from activities.edition import EditionActivities
from domain.db.edition_repository import EditionRepository
from domain.db.session import make_engine, migrate
from domain.edition import edition_5_settings
from domain.models import Stage
from domain.scoring import application_score, weighted_score
from scenarios.editions import generate

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/committee.db"
    engine = make_engine(url)
    migrate(engine)
    repo = EditionRepository(engine)
    settings = edition_5_settings().model_copy(update={"edition": 99})
    now = datetime.now(UTC)
    repo.open_edition(settings, "bench", "bench", now)

    apps = generate(settings, args.n, zone_share=0.12, cooperative_share=0.5, seed=99)
    t0 = time.perf_counter()
    for a in track(apps, description=f"writing {args.n} reviewed applications"):
        app_id = a.submission.application_id
        repo.record_submission(app_id, app_id, a.submission, "bench", now)
        scores = []
        for i, grid in enumerate(a.reviews):
            from domain.models import Review

            review = Review(reviewer_id=f"r{i}", scores=grid)
            score = weighted_score(grid, settings.review_grid)
            repo.record_review(app_id, review, score, now)
            scores.append(score)
        repo.set_score(app_id, application_score(scores))
        repo.set_stage(app_id, 1, Stage.COMMITTEE.value, now)
    setup = time.perf_counter() - t0

    activities = EditionActivities(repo, client=None)  # the committee needs no Temporal client
    t0 = time.perf_counter()
    candidates = repo.candidates(settings.edition, Stage.COMMITTEE)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = activities.propose_selection(settings, now)
    t_committee = time.perf_counter() - t0
    t0 = time.perf_counter()
    committed = repo.committed(settings.edition)
    t_committed = time.perf_counter() - t0

    result = {
        "applications": args.n,
        "database": engine.dialect.name,
        "candidates": len(candidates),
        "selected": summary.selected,
        "waitlisted": summary.waitlisted,
        "rejected": summary.rejected,
        "seconds_to_load_candidates": round(t_load, 3),
        "seconds_for_the_committee_activity": round(t_committee, 3),
        "seconds_to_compute_commitments": round(t_committed, 3),
        "applications_ranked_per_second": round(len(candidates) / t_committee, 1),
        "seconds_to_write_the_applications": round(setup, 1),
        "committed": {k: str(v) for k, v in committed.items()},
        "measured_at": now.isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "committee.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
