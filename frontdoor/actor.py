"""Who acts: a person or partner system, authenticated by its door, with its roles."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Door = Literal["cli", "gateway", "console"]


class Actor(BaseModel):
    """An authenticated sender: its id (a staff login, a gateway client id), its roles (some scoped,
    e.g. `region-council:02`), and the door it came through."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(min_length=1, max_length=100)
    door: Door
    roles: frozenset[str] = frozenset()

    def label(self) -> str:
        return f"{self.id} via {self.door}"
