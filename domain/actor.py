"""Who acts: a person or partner system, authenticated by the door it came through, with its roles.

A front door (frontdoor/) sends every input as an Actor, carried beside the input in an update
header (ACTOR_HEADER); workflow validators read it (workflows/actor.py) to check who may do what —
four eyes on the committee's confirmation, for one — against the authenticated sender rather than
a name typed into the input."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from domain.text import ONE_LINE

ACTOR_HEADER = "moazara-actor"
REFUSED = "Refused"  # the failure type of every business refusal of an input: not retryable

Door = Literal["cli", "gateway", "console"]


class Actor(BaseModel):
    """An authenticated sender: its id (a staff login, a gateway client id), its roles (some scoped,
    e.g. `region-council:02`), and the door it came through."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), ONE_LINE]
    door: Door
    roles: frozenset[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9:_-]{0,59}$")]] = frozenset()

    def label(self) -> str:
        return f"{self.id} via {self.door}"
