"""The bank-account vault of these settings: the domain database's `bank_accounts`, sealed with
the payload keys (codec/at_rest.py). Built by every process that holds or reads a RIB: the front
doors (CLI, gateway, console) and the worker's payment activity."""

from sqlalchemy import Engine

from codec.at_rest import AtRest
from codec.keys import ensure_dev_key
from domain.db.bank_accounts import BankAccounts
from domain.db.session import make_engine
from infra.live_settings import LiveSettings
from infra.settings import Settings
from infra.temporal_connection import live_key_ring


def bank_accounts(settings: Settings, engine: Engine | None = None) -> BankAccounts:
    ensure_dev_key(settings)
    ring = live_key_ring(LiveSettings(settings))
    ring()  # fail now, at start, rather than at the first account
    return BankAccounts(engine or make_engine(settings.database_url), AtRest(ring))
