"""Moroccan bank account numbers (RIB): the one place they are validated and masked."""

import re

_RIB = re.compile(r"[0-9]{24}")  # ASCII only: \d would accept Arabic-Indic digits


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
    return rib


def mask_rib(rib: str) -> str:
    """What may appear in logs and listings: the bank code and the last four digits."""
    return f"{rib[:3]}{'*' * 17}{rib[-4:]}" if len(rib) == 24 else "*" * len(rib)
