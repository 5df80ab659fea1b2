"""The kills of a chaos run, drawn from its seed: which process, in which phase of the edition,
at what point of that phase's work, and for how long the server stays down.

A kill's moment is a point in the edition's work, not a clock time: "when 37% of the reviews have
been answered". The same seed therefore kills at the same points of the same edition on a fast or
a slow machine, and a failure can be replayed with its seed.
"""

import math
import random
from collections import Counter
from dataclasses import dataclass

# The edition's phases, in order, and how the kills are spread over them. Submissions, reviews and
# signatures are many short calls; the committee is a few long activities (ranking, confirmation);
# decisions are one long activity sending an update to every application.
SUBMISSIONS, REVIEWS, COMMITTEE, DECISIONS, AGREEMENTS, PAYMENTS = (
    "submissions",
    "reviews",
    "committee",
    "decisions",
    "agreements",
    "payments",
)
PHASES = (SUBMISSIONS, REVIEWS, COMMITTEE, DECISIONS, AGREEMENTS, PAYMENTS)
WEIGHTS = (0.2, 0.25, 0.1, 0.15, 0.15, 0.15)

WORKER, SERVER = "worker", "server"
SERVER_SHARE = 0.4  # of the kills, the dev server's; the rest the worker's
LONG_OUTAGE_SHARE = 0.25  # of the server's kills, an outage longer than the client's own retries
SHORT_OUTAGE = (0.5, 3.0)  # seconds the server stays down
LONG_OUTAGE = (15.0, 17.0)  # longer than the Temporal client's retries of a call (about 10 s)
PAUSE = (0.5, 3.0)  # seconds after a recovery before the next kill may come


@dataclass(frozen=True)
class Kill:
    n: int  # 1, 2 … in the plan: by phase, then by point
    phase: str
    at: float  # the share of the phase's work done when it comes, 0 <= at < 1
    target: str  # WORKER or SERVER
    down: float  # seconds the server stays down before it restarts (0 for the worker: replaced at once)
    pause: float  # seconds after the previous kill's recovery before this one may come

    @property
    def long(self) -> bool:
        return self.target == SERVER and self.down >= LONG_OUTAGE[0]

    def step(self, total: int) -> int:
        """The number of the phase's steps done when it comes."""
        return math.floor(self.at * total)

    def describe(self) -> str:
        what = f"server SIGKILL, down {self.down:.1f} s" if self.target == SERVER else "worker SIGKILL, a new one"
        return f"{what}, at {self.at:.0%} of the {self.phase}"


def draw(seed: int, kills: int) -> list[Kill]:
    """`kills` kills from `seed`, by phase and point."""
    rng = random.Random(seed)
    drawn = []
    for _ in range(kills):
        phase = rng.choices(PHASES, WEIGHTS)[0]
        at = rng.random()
        server = rng.random() < SERVER_SHARE
        down = rng.uniform(*(LONG_OUTAGE if rng.random() < LONG_OUTAGE_SHARE else SHORT_OUTAGE)) if server else 0.0
        drawn.append(
            (PHASES.index(phase), at, SERVER if server else WORKER, round(down, 1), round(rng.uniform(*PAUSE), 1))
        )
    drawn.sort()
    return [Kill(n, PHASES[p], at, target, down, pause) for n, (p, at, target, down, pause) in enumerate(drawn, 1)]


def summary(kills: list[Kill]) -> str:
    """E.g. "100 kills: 61 of the worker, 39 of the server (9 longer than the client's retries); 20 in
    the submissions, …"."""
    by_phase = Counter(k.phase for k in kills)
    server = [k for k in kills if k.target == SERVER]
    phases = ", ".join(f"{by_phase[p]} in the {p}" for p in PHASES if by_phase[p])
    return (
        f"{len(kills)} kills: {len(kills) - len(server)} of the worker, {len(server)} of the server "
        f"({sum(k.long for k in server)} longer than the client's retries)" + (f"; {phases}" if phases else "")
    )
