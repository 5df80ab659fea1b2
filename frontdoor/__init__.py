"""The one way a front door (the ops CLI, the integration gateway, the coming web console) acts on a
workflow: `send_update` sends an input as an authenticated `Actor` and answers with one `Result`,
whatever happened (accepted, refused by the workflow's rule with the field it names, no such
workflow, Temporal unavailable, no answer in time). Each door only presents the result. No RIB
passes the door: `held` puts each in the vault and sends its reference instead."""

from frontdoor.actor import Actor, Door
from frontdoor.bank_accounts import held, held_all
from frontdoor.send import Result, ResultCode, refusal_reason, send_update

__all__ = ["Actor", "Door", "Result", "ResultCode", "held", "held_all", "refusal_reason", "send_update"]
