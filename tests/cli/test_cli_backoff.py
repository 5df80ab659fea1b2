"""An edition told to wait (RESOURCE_EXHAUSTED: too many updates in flight) is asked again with backoff;
any other error is not retried."""

import pytest
from temporalio.service import RPCError, RPCStatusCode

from cli.actions import edition_update


class Busy:
    """An edition handle that is busy `times` times, then answers."""

    def __init__(self, times: int, status: RPCStatusCode = RPCStatusCode.RESOURCE_EXHAUSTED) -> None:
        self.times, self.status, self.calls = times, status, 0

    async def execute_update(self, name, arg, result_type=None):
        self.calls += 1
        if self.calls <= self.times:
            raise RPCError("too many updates in flight", self.status, b"")
        return f"{name} answered"


async def test_a_busy_edition_is_asked_again_until_it_answers():
    handle = Busy(2)
    assert await edition_update(handle, "submit", None, str) == "submit answered"
    assert handle.calls == 3


async def test_other_errors_and_the_last_attempt_are_raised():
    with pytest.raises(RPCError) as e:
        await edition_update(Busy(1, RPCStatusCode.NOT_FOUND), "submit", None, str)
    assert e.value.status == RPCStatusCode.NOT_FOUND
    handle = Busy(5)
    with pytest.raises(RPCError):
        await edition_update(handle, "submit", None, str, attempts=3)
    assert handle.calls == 3
