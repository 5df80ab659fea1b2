"""An update's activities go with the urgent Temporal priority (someone waits for them), the
background's with the default."""

from simulation.factories import make_submission
from workflows.run_activity import URGENT


async def test_a_committee_decision_is_recorded_urgently_and_the_stages_in_the_background(lifecycle):
    d, _ = lifecycle
    h = await d.start(make_submission("URGENT-1"))
    await d.review_all(h)
    await d.select(h)
    scheduled = [
        e.activity_task_scheduled_event_attributes
        async for e in h.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    by_name = {}
    for a in scheduled:
        by_name.setdefault(a.activity_type.name, set()).add(a.priority.priority_key)
    # record_decision is run by the `decide` update's handler (and by nothing else before it)
    assert by_name["record_decision"] == {URGENT.priority_key}
    assert by_name["record_review"] == {URGENT.priority_key}  # each review is an update too
    assert by_name["record_stage"] == {0}  # the main loop's: unset, the default priority
    assert by_name["record_submission"] == {0}
