"""What the PDF and the workbook share: titles, the facts under the title, and the rows of the
headline, support and units tables prepared from a :class:`~sapa.web.views.UnitView`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from sapa.web.labels import format_value, label

if TYPE_CHECKING:
    from sapa.web.views import UnitView

Translate = Callable[[str], str]


def report_title(level: str, _: Translate) -> str:
    """The title of a unit's report in the interface language."""
    if level == "region":
        return _("Region report")
    if level == "district":
        return _("District report")
    if level == "school":
        return _("School report card")
    return _("National indicators")


def level_name(level: str, _: Translate) -> str:
    """The name of a level of the hierarchy, as a label in front of a unit's name."""
    if level == "region":
        return _("Region")
    if level == "district":
        return _("District")
    if level == "school":
        return _("School")
    return _("Kazakhstan")


def children_title(level: str, _: Translate) -> str:
    """The heading of the units one level below ``level``."""
    if level == "region":
        return _("Districts")
    if level == "district":
        return _("Schools")
    return _("Regions")


def missing(value: Any) -> bool:
    """Whether a cell holds no value (None, NaN or pandas' NA)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def number(value: Any) -> float | None:
    """A cell as a float, or None when empty."""
    return None if missing(value) else float(value)


def flag(value: Any) -> bool:
    """A boolean cell (empty counts as false)."""
    return False if missing(value) else bool(value)


def facts(view: UnitView, produced: dt.date, _: Translate) -> list[tuple[str, str]]:
    """The lines under a report's title: the unit, its parents, the run and the date."""
    unit = view.unit
    lines = [(level_name(unit["level"], _), f"{view.name} ({unit['code']})")]
    lines += [(level_name(level, _), f"{name} ({code})") for level, code, name in view.parents]
    lines += [(_("Assessment run"), view.run), (_("Date produced"), produced.isoformat())]
    return lines


@dataclass(frozen=True)
class HeadlineRow:
    """One indicator of the headline table, as numbers and as display texts."""

    code: str
    label: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    suppressed: bool
    region: float | None
    nation: float | None
    shown: str
    interval: str
    region_shown: str
    nation_shown: str


def headline_rows(view: UnitView) -> list[HeadlineRow]:
    """The headline table of the view, in its order; a suppressed value is empty."""
    rows = []
    for code, row in view.headline.iterrows():
        suppressed = flag(row.get("suppressed"))
        n = number(row.get("n"))
        rows.append(
            HeadlineRow(
                code=str(code),
                label=str(row["label"]),
                value=None if suppressed else number(row.get("value")),
                ci_low=None if suppressed else number(row.get("ci_low")),
                ci_high=None if suppressed else number(row.get("ci_high")),
                n=None if n is None else round(n),
                suppressed=suppressed,
                region=number(row.get("region")),
                nation=number(row.get("nation")),
                shown=str(row.get("shown", "")),
                interval="" if suppressed else str(row.get("interval", "")),
                region_shown=str(row.get("region_shown", "")),
                nation_shown=str(row.get("nation_shown", "")),
            )
        )
    return rows


def has_region_column(view: UnitView) -> bool:
    """Whether the headline compares with the unit's region (district and school reports)."""
    return "region" in view.headline.columns


@dataclass(frozen=True)
class FlagRow:
    """One "needs support" flag: the school, the reason and the evidence behind it."""

    unit: str
    name: str
    reason: str
    reason_text: str
    evidence: str


def flag_rows(view: UnitView, school_names: Mapping[str, str] | None) -> list[FlagRow]:
    """The view's flags with the schools' names (a school's own report names itself)."""
    names = dict(school_names or {})
    if view.unit["level"] == "school":
        names.setdefault(view.unit["code"], view.name)
    return [
        FlagRow(
            unit=str(row["unit"]),
            name=names.get(str(row["unit"]), str(row["unit"])),
            reason=str(row["reason"]),
            reason_text=str(row.get("reason_text", row["reason"])),
            evidence=str(row["evidence"]),
        )
        for _i, row in view.flags.iterrows()
    ]


@dataclass(frozen=True)
class ChildCell:
    """One indicator of one unit one level down."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    shown: str
    interval: str


@dataclass(frozen=True)
class ChildRow:
    """A unit one level down with its indicators (in the order of ``view.child_indicators``)."""

    code: str
    name: str
    cells: list[ChildCell]


def child_rows(view: UnitView, indicators: list[str]) -> list[ChildRow]:
    """The units one level down with their values and intervals."""
    rows = []
    for _i, row in view.children.iterrows():
        cells = []
        for indicator in indicators:
            value = number(row.get(f"{indicator}:value"))
            low = number(row.get(f"{indicator}:ci_low"))
            high = number(row.get(f"{indicator}:ci_high"))
            interval = (
                ""
                if low is None or high is None
                else f"{format_value(indicator, low)} – {format_value(indicator, high)}"
            )
            cells.append(ChildCell(value, low, high, format_value(indicator, value), interval))
        rows.append(ChildRow(code=str(row["code"]), name=str(row["name"]), cells=cells))
    return rows


def indicator_labels(indicators: list[str], _: Translate) -> list[str]:
    """The indicators' names in the interface language."""
    return [label(code, _) for code in indicators]
