"""Moroccan bank account numbers (RIB): the one place they are validated and masked, and the
reference that travels in their place.

A RIB is held encrypted in the domain database (domain/db/bank_accounts.py); workflows, their
histories, the Web UI and the audit trail see only its reference, `rib-<bank code>-<last four
digits>-<token>`: enough for a person to recognise the account, nothing to pay into it.
"""

import re

_RIB = re.compile(r"[0-9]{24}")  # ASCII only: \d would accept Arabic-Indic digits
_REF = re.compile(r"rib-([0-9]{3})-([0-9]{4})-([0-9a-f]{16})")


def rib_key(first_22_digits: str) -> str:
    """The two-digit key that makes the 24-digit number divisible by 97."""
    return f"{97 - (int(first_22_digits) * 100) % 97:02d}"


def check_rib(value: str) -> str:
    """Return the RIB without spaces, or raise ValueError saying what is wrong."""
    rib = re.sub(r"[\s-]", "", value)
    if not _RIB.fullmatch(rib):
        raise ValueError("a RIB has exactly 24 digits")
    if int(rib) % 97 != 0:
        raise ValueError("RIB key does not match (the number is not divisible by 97)")
    # 24 zeros, or a zero bank, locality or account, pass the key; no bank, branch or account is 0.
    for name, part in (("bank code", rib[:3]), ("locality code", rib[3:6]), ("account number", rib[6:22])):
        if not part.strip("0"):
            raise ValueError(f"a RIB's {name} is never all zeros")
    return rib


def rib_ref(rib: str, token: str) -> str:
    """The reference of a RIB held in the vault under `token` (16 hex digits)."""
    return f"rib-{rib[:3]}-{rib[-4:]}-{token}"


def is_rib_ref(value: str) -> bool:
    return _REF.fullmatch(value) is not None


def check_bank_account(value: str) -> str:
    """A vault reference as it is, or a RIB checked by check_rib (raises ValueError)."""
    return value if is_rib_ref(value) else check_rib(value)


def mask_rib(rib: str) -> str:
    """What may appear in logs and listings: the bank code and the last four digits (of a RIB or
    of a reference, which show the same)."""
    if m := _REF.fullmatch(rib):
        return f"{m[1]}{'*' * 17}{m[2]}"
    return f"{rib[:3]}{'*' * 17}{rib[-4:]}" if len(rib) == 24 else "*" * len(rib)
