"""The interface in Kazakh, Russian and English.

Messages are written in English in the code and templates; the gettext catalogues under
``locale/kk/`` and ``locale/ru/`` (one ``.po`` file per part of the interface, edited with any
PO editor and read with Babel) give the Kazakh and Russian texts. A message missing from a
catalogue shows in English, and the test suite fails if any message used by the templates or
the code lacks a translation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "catalogue", "gettext_for"]

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
_LOCALE = Path(__file__).parent / "locale"


@cache
def catalogue(language: str) -> dict[str, str]:
    """Message → translation for ``language`` (empty for English, the source language)."""
    messages: dict[str, str] = {}
    for path in sorted((_LOCALE / language).glob("*.po")) if language != "en" else []:
        with open(path, "rb") as stream:
            catalog = read_po(stream, locale=language)
        messages |= {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and message.string and not message.fuzzy
        }
    return messages


def gettext_for(language: str) -> Callable[[str], str]:
    """The translation function of a language (unknown languages fall back to the default)."""
    messages = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    return lambda text: messages.get(text, text)
