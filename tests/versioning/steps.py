"""The activities of the versioned test workflow: each names the step it ran. Distinct activity
types, as in real code: the replayer compares a command with the history by type, not by argument."""

from temporalio import activity


@activity.defn
def intake(application_id: str) -> str:
    return "intake"


@activity.defn
def bank_check(application_id: str) -> str:
    return "bank-check"


@activity.defn
def notice(application_id: str) -> str:
    return "notice"


@activity.defn
def pay(application_id: str) -> str:
    return "pay"


ALL = [intake, bank_check, notice, pay]
