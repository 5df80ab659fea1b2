"""The bank-account vault of these settings: the domain database's `bank_accounts`, sealed with
the payload keys (codec/at_rest.py). Built by every process that holds or reads a RIB: the front
doors (CLI, gateway, console) and the worker's payment activity."""

from sqlalchemy import Engine

from codec.at_rest import AtRest
from domain.db.bank_accounts import BankAccounts
from domain.db.session import make_engine
from infra.payload_keys import live_keys
from infra.settings import Settings


def bank_accounts(settings: Settings, engine: Engine | None = None) -> BankAccounts:
    return BankAccounts(engine or make_engine(settings.database_url), AtRest(live_keys(settings)))
