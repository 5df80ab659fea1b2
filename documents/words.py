"""The documents' words in French, Arabic and English, by key, from their message catalogs:
documents/locale/<language>/LC_MESSAGES/documents.po (gettext's format, as the console's and the
messages' catalogs; msgid the key, msgstr the words with their {named} parameters).

A key a catalog lacks is an error where a document uses it, never the key printed in its place;
tests/documents/test_documents.py fails when a catalog lacks a key another has, or leaves one empty.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("fr", "ar", "en")


@cache
def catalog(language: str) -> dict[str, str]:
    """The language's words by key."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "documents.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f, locale=language) if m.id}


def words(language: str) -> Callable[..., str]:
    """`w(key, **params)`: the words of `key` in `language`, with its parameters put in."""
    said = catalog(language)

    def w(key: str, **params: object) -> str:
        return said[key].format(**params)

    return w
