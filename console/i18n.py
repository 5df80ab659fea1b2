"""Words and numbers people read in the console, in French (default), Arabic and English.

Words come from the message catalogs in console/locale/<lang>/LC_MESSAGES/messages.po (gettext,
read with Babel at start; tests/test_console_i18n.py fails on a message missing from one).
Numbers, MAD amounts and dates go through one formatter (Babel, Moroccan locales: Western digits
as the administration writes them, the Gregorian calendar), so the console, emails and documents
write them alike. Arabic pages are laid out right to left.
"""

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from domain.calendar import PROGRAMME_TZ

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"fr": "fr_MA", "ar": "ar_MA", "en": "en"}  # console language -> Babel locale
DEFAULT = "fr"
RTL = {"ar"}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


@cache
def translations(language: str) -> Translations:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=LANGUAGES[language])
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


class Words:
    """The words and formats of one language, handed to every template as `t`."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)
        self.locale = LANGUAGES[self.language]
        self.direction = "rtl" if self.language in RTL else "ltr"
        self._t = translations(self.language)

    def __call__(self, message: str, **params: object) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def money(self, amount: Decimal | int | None) -> str:
        return "—" if amount is None else format_currency(Decimal(amount), "MAD", locale=self.locale)

    def number(self, value: Decimal | int | None) -> str:
        return "—" if value is None else format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return format_datetime(value.astimezone(PROGRAMME_TZ), "medium", locale=self.locale)
        return format_date(value, "medium", locale=self.locale)
