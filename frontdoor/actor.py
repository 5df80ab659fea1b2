"""The authenticated sender every front door acts as (the model is the domain's: workflows check it)."""

from domain.actor import ACTOR_HEADER, Actor, Door

__all__ = ["ACTOR_HEADER", "Actor", "Door"]
