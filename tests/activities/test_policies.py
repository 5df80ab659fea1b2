"""The tables in activities/policies.py say what the code does, for every activity the worker runs."""

import re
from datetime import timedelta

import activities.policies as policies
from activities.policies import POLICIES, policy_for
from domain.db.repository import Repository
from domain.db.session import make_engine
from worker import activities_for


def table(first: str) -> dict[str, list[str]]:
    """The rows of the docstring's table whose first column is `first`: row key -> its other cells."""
    lines = (policies.__doc__ or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        key, *cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[key] = cells
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`(\w+)`", cell)


def spoken(d: timedelta | None) -> str:
    if d is None:
        return "—"
    s = int(d.total_seconds())
    for unit, n in (("day", 86400), ("h", 3600), ("min", 60)):
        if s % n == 0 and s >= n:
            return f"{s // n} {unit}"
    return f"{s} s"


def test_every_activity_the_worker_runs_is_in_its_policys_row_and_the_row_is_true():
    repo = Repository(make_engine("sqlite://"))
    registered = {getattr(fn, "__temporal_activity_definition").name for fn in activities_for(None, repo)}  # type: ignore[arg-type]
    rows = table("policy")
    listed = [name for _, (activities, *_) in rows.items() for name in names(activities)]
    assert sorted(listed) == sorted(registered)  # each once
    for policy_name, (activities, start, schedule, heartbeat, retries) in rows.items():
        p = getattr(policies, policy_name)
        assert isinstance(p, policies.ActivityPolicy), policy_name
        assert all(policy_for(name) is p for name in names(activities)), policy_name
        assert (start, schedule, heartbeat) == (
            spoken(p.start_to_close),
            spoken(p.schedule_to_close),
            spoken(p.heartbeat),
        ), policy_name
        r = p.retry
        first, factor, longest, attempts = [x.strip() for x in retries.split(",")]
        assert (first, factor, longest) == (
            spoken(r.initial_interval),
            f"×{r.backoff_coefficient:g}",
            spoken(r.maximum_interval),
        ), policy_name
        assert attempts == (
            "until schedule-to-close" if r.maximum_attempts == 0 else f"{r.maximum_attempts} attempts"
        ), policy_name
    assert set(POLICIES) <= registered


def test_each_refusal_in_the_table_is_never_retried_by_its_activitys_policy():
    rows = table("activity")
    assert rows
    for activities, (refusal,) in rows.items():
        for name in names(activities):
            assert refusal in (policy_for(name).retry.non_retryable_error_types or []), (name, refusal)
