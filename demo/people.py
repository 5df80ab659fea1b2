"""What the demo's simulated people decide about each application, drawn from the demo's seed.

Each decision has its own generator, seeded by (seed, application, what): the demo polls its
applications concurrently and the order its polls run in changes from run to run, so one shared
generator would hand each application a different review at each run. Drawn this way, what reaches
the committee depends on the seed alone, and tests/demo/test_demo_shape.py runs the committee's
pure function on the same reviews to find the run's 121 selected and 44 in the earthquake zone.
"""

import random

from domain.edition import Criterion
from domain.models import Stage

# Where the few applicants who give up do so: before the committee (their project never ranked),
# before signing the agreement, or during the project.
WITHDRAWAL_STAGES = (Stage.REVIEW, Stage.AGREEMENT, Stage.MONITORING)


def draw(seed: int, key: str, what: str) -> random.Random:
    """The generator of one decision (a string seed is hashed the same way in every process)."""
    return random.Random(f"{seed}:{key}:{what}")


def review_grids(seed: int, application_id: str, reviewers: int) -> list[dict[Criterion, int]]:
    """The scores (0-10 per criterion) of the application's reviewers, in the order they were
    assigned: a quality of the project, each reviewer's view of it within two points."""
    rng = draw(seed, application_id, "review")
    quality = rng.randint(3, 9)
    return [{c: max(0, min(10, quality + rng.randint(-2, 2))) for c in Criterion} for _ in range(reviewers)]


def completes_documents(seed: int, application_id: str) -> bool:
    """Whether an applicant missing a document sends it before the deadline (seven in ten do)."""
    return draw(seed, application_id, "documents").random() < 0.7


def withdraws_at(seed: int, application_id: str) -> Stage | None:
    """The stage at which the applicant withdraws (one in fifty), or None."""
    rng = draw(seed, application_id, "withdrawal")
    return rng.choice(WITHDRAWAL_STAGES) if rng.random() < 0.02 else None


def approves_cofunding(seed: int, application_id: str) -> bool:
    """Whether the Region Council approves its share (four in five do)."""
    return draw(seed, application_id, "cofunding").random() < 0.8


def signs_agreement(seed: int, application_id: str) -> bool:
    """Whether the applicant signs the funding agreement before its deadline."""
    return draw(seed, application_id, "agreement").random() < 0.96


def payment_executed(seed: int, order_key: str, attempt: int) -> bool:
    """Whether the payment system executes an order (a few first attempts bounce: an account closed)."""
    return attempt > 1 or draw(seed, order_key, "payment").random() > 0.06
