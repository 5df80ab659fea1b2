"""A message in its recipient's language: subject, plain text and HTML (right to left in Arabic),
from the message catalogs in outbound/locale (one subject and one body per kind) and the one
formatter of amounts and dates (infra/formats.py)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.messages import Kind
from infra import formats

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("fr", "ar", "en")
env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
)


@cache
def catalog(language: str) -> Translations:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f, locale=language)
    mo = BytesIO()
    write_mo(mo, po)
    mo.seek(0)
    return Translations(mo)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


def reference(message_id: str) -> str:
    """What the recipient sees of a message's id (the Message-ID, the webhook's idempotency key):
    stable per message, and it says nothing of the applicant (an application's id holds their
    registration number, which a blind reviewer must not learn)."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:32]


class _Known(dict[str, str]):
    """Parameters of a message; one the event did not give reads as a dash, never as an error."""

    def __missing__(self, key: str) -> str:
        return "—"


def _words(params: dict[str, str], language: str) -> dict[str, str]:
    out = dict(params)
    for key in ("award", "amount"):
        if out.get(key):
            out[key] = formats.money(out[key], language)
    if out.get("deadline"):
        out["deadline"] = formats.day(datetime.fromisoformat(out["deadline"]), language)
    return out


def render(message_id: str, kind: str, language: str, params: dict[str, str]) -> Rendered:
    language = language if language in LANGUAGES else "fr"
    t = catalog(language)
    words = _words(params, language) | {"message_ref": reference(message_id)}
    subject = t.gettext(f"subject:{Kind(kind).value}").format_map(_Known(words))
    body = t.gettext(f"body:{kind}").format_map(_Known(words))
    lines = [t.gettext("greeting"), body, t.gettext("signature"), t.gettext("automatic").format_map(_Known(words))]
    html = env.get_template("message.html").render(
        language=language, direction="rtl" if language in formats.RTL else "ltr", subject=subject, lines=lines
    )
    return Rendered(subject=subject, text="\n\n".join(lines) + "\n", html=html, language=language)
