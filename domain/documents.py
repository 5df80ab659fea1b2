"""The documents an application's workflow issues and records, named by their SHA-256.

The funding agreement is issued by the workflow when the application enters the agreement stage
(kept in the document store under its SHA-256; a new content for the same application is a new
version), and the signature names the hash of the version it signs. A signed scan (PDF, PNG or
JPEG) may come with the signature: kept in the same store, linked to the version it signs. Each
paid tranche's payment advice is issued too. The `documents` table lists them all per
application (domain/db/document_tables.py).
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, StringConstraints

# A document's SHA-256, as the store names it: 64 hexadecimal digits (given in either case, kept lowercase).
Sha256 = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)
]

AGREEMENT = "agreement"
PAYMENT_ADVICE = "payment_advice"
SIGNED_SCAN = "signed_scan"
Kind = Literal["agreement", "payment_advice", "signed_scan"]

# A signed scan as the front doors take it: at most this size, a PDF or an image by its first bytes.
MAX_SCAN_BYTES = 10 * 1024 * 1024
SCAN_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
# Why a scan is refused (the console translates these sentences: its messages.po).
SCAN_EMPTY = "the scan is empty"
SCAN_TOO_LARGE = "the scan is larger than 10 MB"
SCAN_NOT_A_SCAN = "the scan is not a PDF, PNG or JPEG file"
SCAN_REFUSALS = (SCAN_EMPTY, SCAN_TOO_LARGE, SCAN_NOT_A_SCAN)


class IssuedDocument(BaseModel):
    """A document the workflow issued or recorded: its kind, hash and version (an agreement's
    version; a scan's: the agreement version it signs), language, and the order a payment advice
    is of."""

    kind: Kind
    sha256: Sha256
    version: int | None = None
    language: str | None = None
    order_key: str | None = None


def scan_type(content: bytes) -> str:
    """The content type of a signed scan, read from its first bytes (never from its name or from
    what the sender says); ValueError when it is empty, too large, or not a PDF, PNG or JPEG."""
    if not content:
        raise ValueError(SCAN_EMPTY)
    if len(content) > MAX_SCAN_BYTES:
        raise ValueError(SCAN_TOO_LARGE)
    for magic, kind in SCAN_TYPES.items():
        if content.startswith(magic):
            return kind
    raise ValueError(SCAN_NOT_A_SCAN)
