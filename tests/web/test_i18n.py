"""Every message of the interface, the workflows' states, steps and fields included, has a
Kazakh and a Russian translation that keeps its placeholders; labels of indicators are built
from translated parts."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from sapa import workflows
from sapa.web import labels
from sapa.web.i18n import catalogue, gettext_for

WEB = Path(labels.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def interface_messages() -> set[str]:
    """Messages passed to ``_()`` in the web package and its templates, and the label parts."""
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB), METHODS, keywords={"_": None}, comment_tags=()
        )
        if isinstance(message, str)
    }
    reports = WEB.parent / "reports"
    if reports.is_dir():
        found |= {
            message
            for _f, _l, message, _c, _x in extract_from_dir(
                str(reports), METHODS, keywords={"_": None}, comment_tags=()
            )
            if isinstance(message, str)
        }
    tables = (
        labels.DOMAINS,
        labels.AREAS,
        labels.REASONS,
        labels.ROLES,
        labels.LOCALITIES,
        labels.SENSITIVITIES,
        labels._FAMILIES,
        labels._CATEGORIES,
    )
    for table in tables:
        found |= set(table.values())
    return found | workflows.messages()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    messages = interface_messages()
    assert len(messages) > 150
    translated = catalogue(language)
    missing = sorted(messages - set(translated))
    assert not missing, f"{len(missing)} messages lack a {language} translation: {missing[:20]}"
    for message in messages:
        assert _fields(translated[message]) == _fields(message), message


def test_kazakh_and_russian_are_really_different_languages() -> None:
    kazakh, russian = catalogue("kk"), catalogue("ru")
    kazakh_letters = re.compile("[әғқңөұүһі]")
    assert sum(bool(kazakh_letters.search(text)) for text in kazakh.values()) > 50
    assert not any(kazakh_letters.search(text) for text in russian.values())
    assert gettext_for("en")("Sign in") == "Sign in"
    assert gettext_for("xx")("Sign in") == kazakh["Sign in"]  # unknown → the default language


def test_indicator_labels_are_composed_in_each_language() -> None:
    english = labels.label("outcomes.mean.MLIT4", gettext_for("en"))
    assert english == "Mean score, Mathematical literacy, grade 4"
    russian = labels.label("outcomes.mean.MLIT4", gettext_for("ru"))
    assert "4" in russian and russian != english
    assert labels.label("teachers.share.pedagogue_master", gettext_for("en")).endswith(
        "pedagogue-master"
    )
    assert labels.label("no.such.indicator", gettext_for("en")) == "no.such.indicator"
    assert labels.format_value("teachers.share.pedagogue_master", 0.0231) == "2.3%"
    assert labels.format_value("outcomes.mean.MLIT4", 512.44) == "512"
    assert labels.format_value("outcomes.mean.MLIT4", None) == "–"
