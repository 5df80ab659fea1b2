"""Bank accounts stop at the door: every RIB in an input is held in the vault
(domain/db/bank_accounts.py) and replaced by its reference before the input goes to a workflow,
so no history, Web UI page or audit export holds one (only the bank code and last digits show).

The fields are found by name (`bank_account`, wherever it sits in the input: a submission's
applicant, a batch's submissions, an agreement, fixed bank details), so an input model that gains
one is covered without a change here; a test lists them (tests/frontdoor/test_bank_accounts.py).
"""

from typing import Any, TypeVar

from pydantic import BaseModel

from domain.db.bank_accounts import BankAccounts
from domain.rib import is_rib_ref

FIELD = "bank_account"
M = TypeVar("M", bound=BaseModel)


def _ribs(value: Any) -> list[str]:
    if isinstance(value, BaseModel):
        found = []
        for name in type(value).model_fields:
            v = getattr(value, name)
            if name == FIELD and isinstance(v, str) and not is_rib_ref(v):
                found.append(v)
            else:
                found += _ribs(v)
        return found
    if isinstance(value, list | tuple):
        return [r for v in value for r in _ribs(v)]
    return []


def _replaced(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            v = getattr(value, name)
            if name == FIELD and isinstance(v, str) and v in refs:
                changes[name] = refs[v]
            elif isinstance(v, BaseModel | list | tuple):
                new = _replaced(v, refs)
                if new is not v:
                    changes[name] = new
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, list | tuple):
        items = [_replaced(v, refs) for v in value]
        return type(value)(items) if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def held(payload: M, vault: BankAccounts | None, held_by: str) -> M:
    """`payload` with each RIB replaced by its vault reference.
    Raises ValueError("bank_account: …") when it holds a RIB and there is no vault."""
    return held_all([payload], vault, held_by)[0]


def held_all(payloads: list[M], vault: BankAccounts | None, held_by: str) -> list[M]:
    """`held` for many inputs (an import), their RIBs held in one transaction."""
    ribs = _ribs(payloads)
    if not ribs:
        return payloads
    if vault is None:
        raise ValueError(f"{FIELD}: this door has no vault to hold bank accounts in")
    refs = dict(zip(ribs, vault.hold_many(ribs, held_by), strict=True))
    return [_replaced(p, refs) for p in payloads]
