"""The one formatter of numbers, MAD amounts and dates people read, per language: Babel with the
Moroccan locales (Western digits as the administration writes them, the Gregorian calendar,
times in the programme's time zone). The console, the messages and the documents format alike.
"""

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from domain.calendar import PROGRAMME_TZ

LOCALES = {"fr": "fr_MA", "ar": "ar_MA", "en": "en"}  # language -> Babel locale
RTL = {"ar"}


def locale_of(language: str) -> str:
    return LOCALES.get(language, LOCALES["fr"])


def money(amount: Decimal | int | str | None, language: str) -> str:
    return "—" if amount is None else format_currency(Decimal(amount), "MAD", locale=locale_of(language))


def number(value: Decimal | int | None, language: str) -> str:
    return "—" if value is None else format_decimal(value, locale=locale_of(language))


def percent(share: Decimal | None, language: str) -> str:
    """A share (0.4167) as people read it, to the unit (42 %)."""
    return "—" if share is None else format_percent(share, locale=locale_of(language))


def when(value: date | datetime | None, language: str) -> str:
    """A date, or a moment in the programme's time zone."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value.astimezone(PROGRAMME_TZ), "medium", locale=locale_of(language))
    return format_date(value, "medium", locale=locale_of(language))


def day(value: datetime, language: str) -> str:
    """The programme day a moment falls on (deadlines are days)."""
    return format_date(value.astimezone(PROGRAMME_TZ).date(), "long", locale=locale_of(language))
