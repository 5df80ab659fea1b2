"""structlog for every process: console for people, JSON for machines, and no secret in clear.

Every line goes through one chain: structlog's own events and the standard library's records
(temporalio, uvicorn, SQLAlchemy, Alembic) are rendered by the same ProcessorFormatter on the
root logger, after `mask_sensitive` has masked, wherever they appear (message, any field, nested
values, exception text): bank accounts (RIB), national identity card numbers (CIN), phone
numbers, bearer tokens, HMAC signatures, base64 keys, and every secret value the configuration
holds (register_secrets). Code logs masked values already; this is the defence in depth.
"""

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO, Any

import structlog

from domain.rib import mask_rib

MASK = "[masked]"

# Fields whose value is sensitive whatever it looks like (lower-cased names, '-' as '_').
SENSITIVE_FIELDS = frozenset(
    {
        "bank_account",
        "rib",
        "iban",
        "account",
        "national_id",
        "cin",
        "cnie",
        "phone",
        "telephone",
        "mobile",
        "api_key",
        "api_keys",
        "x_api_key",
        "secret",
        "secrets",
        "hmac_secret",
        "hmac_secrets",
        "token",
        "tokens",
        "access_token",
        "password",
        "authorization",
        "signature",
        "x_signature",
        "cookie",
        "set_cookie",
        "codec_keys",
        "codec_key",
        "codec_server_tokens",
        "webhook_secrets",
        "private_key",
        "temporal_api_key",
    }
)
_RIB_FIELDS = frozenset({"bank_account", "rib", "account"})

# 24 digits, possibly grouped with spaces or dashes (as written on a RIB).
_RIB = re.compile(r"(?<!\d)\d(?:[ -]?\d){23}(?!\d)")
# Moroccan phone numbers (+212 / 00212 / 0, then 5-7 and 8 digits) and any other "+" international one.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)212[ .-]?|0)[5-7](?:[ .-]?\d){8}(?!\d)|(?<![\w+])\+\d{1,3}(?:[ .-]?\d){6,12}(?!\d)"
)
# National identity card (CNIE): one or two capital letters and 5 or 6 digits, e.g. BE123456.
_CIN = re.compile(r"\b([A-Z]{1,2})\d{5,6}\b")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_HMAC = re.compile(r"(?i)\b(sha256=)[0-9a-f]{16,}")
_B64_KEY = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=")  # base64 of 32 bytes: an AES-256 key

_known_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_pattern: re.Pattern | None = None


def register_secrets(values: Iterable[str]) -> None:
    """Mask these exact values wherever they appear (configured keys, tokens, HMAC secrets)."""
    global _secret_pattern
    with _secrets_lock:
        new = {v for v in values if v and len(v) >= 6} - _known_secrets
        if not new:
            return
        _known_secrets.update(new)
        # Longest first, so a secret containing another is masked whole.
        _secret_pattern = re.compile("|".join(re.escape(v) for v in sorted(_known_secrets, key=len, reverse=True)))


def mask_text(text: str) -> str:
    if _secret_pattern is not None:
        text = _secret_pattern.sub(MASK, text)
    text = _RIB.sub(lambda m: mask_rib(re.sub(r"[ -]", "", m[0])), text)
    text = _PHONE.sub("[phone]", text)
    text = _CIN.sub(lambda m: f"{m[1]}******", text)
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _HMAC.sub(lambda m: f"{m[1]}{MASK}", text)
    return _B64_KEY.sub(MASK, text)


def _mask_field(name: str, value: Any) -> Any:
    if value is None or value == "" or isinstance(value, bool):
        return value
    if name in _RIB_FIELDS and isinstance(value, str):
        digits = re.sub(r"[ -]", "", value)
        return mask_rib(digits) if digits.isdigit() else mask_text(value)  # already masked stays so
    return MASK


def mask_value(value: Any, name: str = "") -> Any:
    """A copy of `value` with every sensitive part masked (recursing into dicts, lists, tuples)."""
    if name and name.lower().replace("-", "_") in SENSITIVE_FIELDS:
        return _mask_field(name.lower().replace("-", "_"), value)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value(v) for v in value]
    return value


def mask_sensitive(_: Any, __: str, event: dict) -> dict:
    """The structlog processor: every field of the event, by name and by content."""
    for k, v in list(event.items()):
        if k in ("_record", "_from_structlog"):  # ProcessorFormatter's bookkeeping
            continue
        event[k] = mask_value(v, k)
    return event


def configure_logging(
    fmt: str = "console", level: str = "INFO", stream: IO[str] | None = None, cache_loggers: bool = True
) -> None:
    """Route structlog and the standard library through the masking chain to `stream` (stdout).
    `cache_loggers=False` lets a later reconfiguration (tests) reach loggers already used."""
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # exception text is masked too
            mask_sensitive,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    handler._moazara = True  # type: ignore[attr-defined]  # ours: replaced, not duplicated, on reconfiguration
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_moazara", False)]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=cache_loggers,
    )
