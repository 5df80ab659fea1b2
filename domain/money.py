"""Money is Decimal MAD with two decimals; rounding (half-even) happens only at the edges."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

CENT = Decimal("0.01")


def mad(value: Decimal | int | str) -> Decimal:
    """Round an amount to centimes, half-even. Call it where an amount leaves a computation."""
    q = Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return abs(q) if q == 0 else q  # never "-0.00"


# A non-negative amount of dirhams with at most two decimals. Pydantic refuses floats
# that do not fit, more decimals, and absurd magnitudes (max 12 integer digits).
# Its JSON Schema states those rules (the gateway's OpenAPI document: a client generating amounts
# from it finds none refused that the schema allows).
MAD_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 999_999_999_999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"},
    ],
    "description": "MAD: at most 12 digits before the decimal point and 2 after, not negative",
}
MAD = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    AfterValidator(mad),
    WithJsonSchema(MAD_SCHEMA),
]
# A fraction between 0 and 1 (shares of an award, of a cost).
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4, allow_inf_nan=False)]


def split(total: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """Split `total` by `shares` so that the parts are rounded to centimes and add up exactly.

    The rounding remainder goes to the last part: no centime is created or lost.
    """
    parts = [mad(total * s) for s in shares[:-1]]
    parts.append(mad(total) - sum(parts, Decimal(0)))
    return parts
