"""Words and numbers people read in the console, in French (default), Arabic and English.

Words come from the message catalogs in console/locale/<lang>/LC_MESSAGES/messages.po (gettext,
read with Babel at start; tests/console/test_console.py fails on a message missing from one).
Numbers, MAD amounts and dates go through one formatter (infra/formats.py: Babel, Moroccan locales,
Western digits as the administration writes them, the Gregorian calendar), so the console, the
messages and the documents write them alike. Arabic pages are laid out right to left.

The workflows' refusals and what an application waits for come as codes with parameters
(domain/refusals.py); they are translated from a catalog of their own, refusals.po beside
messages.po (msgid the code, msgstr the sentence with the same {named} parameters), by
`Words.refusal` and `Words.waiting`, which fall back on the workflow's English words for a code
the catalog does not have.
"""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from domain.reference import province_name, regions
from domain.refusals import DATE_PARAMS, MONEY_PARAMS, PHASE_PARAMS, STAGE_PARAMS
from infra import formats

LOCALE_DIR = Path(__file__).parent / "locale"
REFUSALS_DOMAIN = "refusals"  # the workflows' refusals and waits, by code (domain/refusals.py)
LANGUAGES = formats.LOCALES  # console language -> Babel locale
DEFAULT = "fr"
RTL = formats.RTL


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


@cache
def translations(language: str, domain: str = "messages") -> Translations:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
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
        self._refusals = translations(self.language, REFUSALS_DOMAIN)

    def __call__(self, message: str, **params: object) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def refusal(self, result: object) -> str:
        """A refusal (a front door's Result) in this language: its code's sentence with its parameters,
        or the workflow's English reason when it has no code this catalog knows."""
        reason = str(getattr(result, "reason", "") or "")
        return self.coded(getattr(result, "refusal", None), getattr(result, "params", {}), reason)

    def waiting(self, status: object) -> str:
        """What an application waits for (an ApplicationStatus), in this language."""
        text = str(getattr(status, "waiting_for", "") or "")
        return self.coded(getattr(status, "waiting_code", None), getattr(status, "waiting_params", {}), text)

    def coded(self, code: str | None, params: Mapping[str, str], fallback: str) -> str:
        """The catalog's sentence for `code` with `params` put in, or `fallback`."""
        if not code:
            return fallback
        sentence = self._refusals.gettext(code)
        if sentence == code:
            return fallback
        try:
            return sentence.format(**{k: self._param(k, v) for k, v in params.items()})
        except (KeyError, IndexError, ValueError):
            return fallback

    def _param(self, name: str, value: str) -> str:
        """A parameter as this language writes it: stages and phases named, amounts and dates formatted."""
        if name in STAGE_PARAMS:
            return self._refusals.gettext(" or ").join(self(f"stage:{v}") for v in value.split(" or "))
        if name in PHASE_PARAMS:
            return self(f"phase:{value}")
        try:
            if name in MONEY_PARAMS:
                return self.money(Decimal(value))
            if name in DATE_PARAMS:
                return self.date(date.fromisoformat(value))
        except (InvalidOperation, ValueError):
            pass
        return value

    def region(self, code: str) -> str:
        """A Region's name as this language writes it (the reference data's Arabic or French name;
        English uses the French one, as the programme's documents do), or its code when unknown."""
        region = regions().get(code)
        if region is None:
            return code
        return str(region["name_ar"] if self.language == "ar" else region["name_fr"])

    def envelope(self, key: str) -> str:
        """An envelope or funder as people name it: the ministry's national or priority-zone
        envelope, a partner Region's by the Region's name (`region-07`), else the key itself."""
        if key in ("ministry", "ministry-priority"):
            return self(f"envelope:{key}")
        if key.startswith("region-"):
            return self("Region {region} envelope", region=self.region(key.removeprefix("region-")))
        return key

    def province(self, name: str) -> str:
        """A province's name as this language writes it (HCP's Arabic name; the reference's otherwise)."""
        return province_name(name, self.language)

    # The one formatter (infra/formats.py), shared with the messages and documents.
    def money(self, amount: Decimal | int | None) -> str:
        return formats.money(amount, self.language)

    def number(self, value: Decimal | int | None) -> str:
        return formats.number(value, self.language)

    def date(self, value: date | datetime | None) -> str:
        return formats.when(value, self.language)
