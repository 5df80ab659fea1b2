"""The table in activities/policies.py says what the code does, for every activity the worker runs."""

import re
from datetime import timedelta

import activities.policies as policies
from activities.policies import POLICIES, policy_for
from domain.db.repository import Repository
from domain.db.session import make_engine
from worker import activities_for


def table() -> dict[str, list[str]]:
    rows = {}
    for line in (policies.__doc__ or "").splitlines():
        m = re.match(r"^\| `(\w+)` \|(.*)\|$", line.strip())
        if m:
            rows[m[1]] = [c.strip() for c in m[2].split("|")]
    return rows


def spoken(d: timedelta | None) -> str:
    if d is None:
        return "—"
    s = int(d.total_seconds())
    for unit, n in (("day", 86400), ("h", 3600), ("min", 60)):
        if s % n == 0 and s >= n:
            return f"{s // n} {unit}"
    return f"{s} s"


def test_every_activity_the_worker_runs_has_its_row_and_the_row_is_true():
    repo = Repository(make_engine("sqlite://"))
    names = {getattr(fn, "__temporal_activity_definition").name for fn in activities_for(None, repo)}  # type: ignore[arg-type]
    rows = table()
    assert set(rows) == names
    by_policy = {id(p): n for n, p in vars(policies).items() if isinstance(p, policies.ActivityPolicy)}
    for name, (policy, start, schedule, heartbeat, retries, refusals) in rows.items():
        p = policy_for(name)
        assert by_policy[id(p)] == policy, name
        assert (start, schedule, heartbeat) == (
            spoken(p.start_to_close),
            spoken(p.schedule_to_close),
            spoken(p.heartbeat),
        ), name
        r = p.retry
        first, factor, longest, attempts = [x.strip() for x in retries.split(",")]
        assert (first, factor, longest) == (
            spoken(r.initial_interval),
            f"×{r.backoff_coefficient:g}",
            spoken(r.maximum_interval),
        ), name
        assert attempts == (
            "until schedule-to-close" if r.maximum_attempts == 0 else f"{r.maximum_attempts} attempts"
        ), name
        for refusal in (x.strip() for x in refusals.split(",") if x.strip() != "—"):
            assert refusal in (r.non_retryable_error_types or []), (name, refusal)
    assert set(POLICIES) <= names
