"""The names front doors use (workflows/names.py) are the workflows' own: a renamed handler would
break every history and every caller, so the two lists must agree exactly."""

from temporalio.workflow import _Definition

from workflows import names
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow


def _defn(cls) -> _Definition:
    return _Definition.must_from_class(cls)


def test_the_names_are_the_workflows_own():
    app, edition = _defn(ApplicationWorkflow), _defn(EditionWorkflow)
    assert (app.name, edition.name) == (names.APPLICATION_WORKFLOW, names.EDITION_WORKFLOW)
    assert set(app.updates) == {u.value for u in names.ApplicationUpdate}
    assert set(edition.updates) == {u.value for u in names.EditionUpdate}
    assert set(edition.signals) == {s.value for s in names.EditionSignal} and not app.signals
    assert set(app.queries) == set(edition.queries) == {names.GET_STATUS}
