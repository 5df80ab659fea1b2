"""The vault of bank accounts: a RIB goes in once, at the door; its reference goes everywhere else.

The front doors (CLI, gateway, console) `hold` each RIB they receive and send workflows only the
reference (domain/rib.py); the payment activity `open`s it when it hands an order to the payment
system. The RIB is encrypted at rest by a `Sealer` (codec/at_rest.py: AES-256-GCM with the
payload keys, so a key rotation covers both), bound to its reference.

The reference is derived from the RIB with a keyed hash (`Sealer.token`), so holding the same RIB
again (a retried import, the same account at signature) finds the same row and writes nothing.
"""

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.db.people_tables import BankAccountRow
from domain.db.session import IMMEDIATE, writer_lock
from domain.rib import check_rib, is_rib_ref, rib_ref


class Sealer(Protocol):
    def token(self, value: bytes) -> str:
        """16 hex digits: a keyed hash of `value` (the same value, the same token)."""
        ...

    def seal(self, plain: bytes, bound_to: bytes) -> tuple[str, bytes]:
        """(key id, ciphertext) of `plain`, authenticated with `bound_to`."""
        ...

    def open(self, key_id: str, sealed: bytes, bound_to: bytes) -> bytes:
        """The plain value; raises ValueError when it cannot be opened."""
        ...


class UnknownBankAccount(LookupError):
    """A reference with no account in the vault (or one that cannot be opened)."""


class BankAccounts:
    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self.engine, self.sealer = engine, sealer
        # Writes begin IMMEDIATE on SQLite and queue on the writers' lock, as the repository's do: a
        # read-then-write transaction would otherwise be refused at once ("database is locked").
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    def hold(self, rib: str, held_by: str) -> str:
        """The reference of this RIB (checked, spaces removed), held in the vault."""
        return self.hold_many([rib], held_by)[0]

    def hold_many(self, ribs: list[str], held_by: str) -> list[str]:
        """The references of these RIBs in order; one transaction, nothing written twice."""
        clean = [check_rib(r) for r in ribs]
        refs = [rib_ref(r, self.sealer.token(r.encode())) for r in clean]
        with writer_lock(self.engine), Session(self._writer) as s, s.begin():
            known = set(s.scalars(select(BankAccountRow.ref).where(BankAccountRow.ref.in_(set(refs)))))
            now = datetime.now(UTC)
            for ref, rib in dict(zip(refs, clean, strict=True)).items():
                if ref not in known:
                    key_id, sealed = self.sealer.seal(rib.encode(), ref.encode())
                    s.add(BankAccountRow(ref=ref, key_id=key_id, sealed=sealed, held_by=held_by, created_at=now))
        return refs

    def open(self, account: str) -> str:
        """The RIB of a reference; a RIB given as it is (histories from before the vault)."""
        if not is_rib_ref(account):
            return check_rib(account)
        with Session(self.engine) as s:
            row = s.get(BankAccountRow, account)
        if row is None:
            raise UnknownBankAccount(f"bank_account: no account {account} in the vault")
        try:
            return self.sealer.open(row.key_id, row.sealed, account.encode()).decode()
        except ValueError as e:
            raise UnknownBankAccount(f"bank_account: {account} cannot be opened: {e}") from None
