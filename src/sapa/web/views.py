"""What a unit's page and report show, assembled once from the data-access layer.

A :class:`UnitView` holds, for the nation, a region, a district or a school and one run: the
headline indicators with their intervals beside the national (and regional) values, the units
one level down, the "needs support" flags with reasons, and the rank intervals of the schools.
The dashboard pages render it as HTML and :mod:`sapa.reports` as PDF and XLSX, so a report
says exactly what the page says.

Views are kept in a small in-process cache: a run's results never change (a run is named by
the digest of what it read, and re-running identical inputs rewrites identical rows), so a
view is a function of the database, the run, the unit, the language and the viewer's scope,
which together are its key. The scope is part of the key, so a view is only ever reused for
an account that sees exactly the same records.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, TypeVar

import pandas as pd

from sapa.web.access import DataAccess, NotFound
from sapa.web.labels import AREAS, REASONS, format_value, label, percent_like

__all__ = ["HEADLINE", "LEVEL_BELOW", "AreaView", "UnitView", "area_view", "unit_name", "unit_view"]

Translate = Callable[[str], str]
V = TypeVar("V")

_CACHE_SIZE = 512
_cache: OrderedDict[tuple[object, ...], object] = OrderedDict()
_cache_lock = Lock()


def _cached(access: DataAccess, key: tuple[object, ...], build: Callable[[], V]) -> V:
    """``build()``'s result, kept per database and scope of the viewer (least recently used
    entries are dropped beyond :data:`_CACHE_SIZE`)."""
    p = access.principal
    full = (
        str(access.connection.engine.url),
        p.role,
        p.region,
        p.district,
        p.school,
        p.teacher,
        *key,
    )
    with _cache_lock:
        if full in _cache:
            _cache.move_to_end(full)
            return _cache[full]  # type: ignore[return-value]
    value = build()
    with _cache_lock:
        _cache[full] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


HEADLINE = (
    "outcomes.mean.MLIT4",
    "outcomes.mean.READ4",
    "outcomes.mean.SLIT4",
    "outcomes.mean.MLIT9",
    "outcomes.mean.READ9",
    "outcomes.mean.SLIT9",
    "outcomes.at_or_above_1.MLIT9",
    "value_added.MLIT9",
    "value_added.READ9",
    "growth.median_sgp.MLIT9",
    "outcomes.mean.MLIT.vs_similar",
    "teachers.share.pedagogue_master",
    "teachers.share.pedagogue_expert",
    "teachers.qualification_pass_rate",
    "teachers.attestation_overdue",
    "teachers.pupil_teacher_ratio",
    "teachers.vacancy_rate",
    "conditions.places_ratio",
    "conditions.overcrowded",
    "welfare.meal_coverage",
    "welfare.incidents_per_1000",
    "welfare.parent_satisfaction",
    "composite.index",
    "composite.rank",
)
"""Indicators of the first table of every unit page and report, in this order."""

LEVEL_BELOW = {"nation": "region", "region": "district", "district": "school"}
CHILD_INDICATORS = ("composite.index", "outcomes.mean.MLIT4", "outcomes.mean.MLIT9")
"""Shown for the units one level down, where computed (the quality index is a school index)."""


def unit_name(unit: dict[str, Any], language: str, _: Translate) -> str:
    """A unit's name in the interface language (schools have one official name)."""
    if unit["level"] == "nation":
        return _("Kazakhstan")
    if unit["level"] == "school":
        return str(unit["name"])
    return str(unit.get(f"name_{language}") or unit["code"])


@dataclass
class UnitView:
    """Everything a unit page or report shows for one run (see the module notes)."""

    run: str
    unit: dict[str, Any]
    name: str
    headline: pd.DataFrame
    children: pd.DataFrame
    child_indicators: list[str]
    flags: pd.DataFrame
    ranks: pd.DataFrame
    parents: list[tuple[str, str, str]] = field(default_factory=list)
    school_names: dict[str, str] = field(default_factory=dict)


def _compare(values: pd.DataFrame, unit: dict[str, Any]) -> pd.DataFrame:
    """One row per indicator: the unit's value beside the nation's and its region's."""
    mine = values[(values["level"] == unit["level"]) & (values["unit"] == unit["code"])]
    table = mine.set_index("indicator")[["value", "ci_low", "ci_high", "n", "suppressed"]]
    nation = values[values["level"] == "nation"].set_index("indicator")["value"]
    table = table.join(nation.rename("nation"), how="outer")
    if unit["level"] in ("district", "school"):
        region = values[(values["level"] == "region") & (values["unit"] == unit["region"])]
        table = table.join(region.set_index("indicator")["value"].rename("region"), how="left")
    return table


def _compared_values(
    access: DataAccess, run: str, unit: dict[str, Any], **selection: Any
) -> pd.DataFrame:
    """The selected indicators of the unit, of its region and of the nation (a code can name
    units of two levels, e.g. a city that is both a region and a district, hence the levels)."""
    units = ["KZ", unit["code"]] + ([unit["region"]] if "region" in unit else [])
    values = access.indicators(run, units=units, **selection)
    return values[
        (values["level"] == "nation")
        | ((values["level"] == unit["level"]) & (values["unit"] == unit["code"]))
        | ((values["level"] == "region") & (values["unit"] == unit.get("region")))
    ]


def _headline(access: DataAccess, run: str, unit: dict[str, Any], _: Translate) -> pd.DataFrame:
    table = _compare(_compared_values(access, run, unit, indicators=list(HEADLINE)), unit)
    order = [code for code in HEADLINE if code in table.index]
    return _labelled(table.loc[order], _)


def _labelled(table: pd.DataFrame, _: Translate) -> pd.DataFrame:
    """Adds the indicator's name and display texts of the value, interval and comparisons.

    Intervals of shares are shown within [0, 100%] (a normal-approximation interval of a share
    near 0 or 1 can cross the bound; the stored values keep it as computed)."""
    table = table.copy()
    codes = list(table.index)
    shares = [percent_like(code) for code in codes]
    table["ci_low"] = [
        max(v, 0.0) if s and pd.notna(v) else v
        for v, s in zip(table["ci_low"], shares, strict=True)
    ]
    table["ci_high"] = [
        min(v, 1.0) if s and pd.notna(v) else v
        for v, s in zip(table["ci_high"], shares, strict=True)
    ]
    table.insert(0, "label", [label(code, _) for code in codes])
    table["shown"] = [format_value(c, v) for c, v in zip(codes, table.get("value"), strict=True)]
    table["interval"] = [
        "" if pd.isna(low) or pd.isna(high) else f"{format_value(c, low)} – {format_value(c, high)}"
        for c, low, high in zip(codes, table["ci_low"], table["ci_high"], strict=True)
    ]
    for column in ("nation", "region"):
        if column in table:
            table[f"{column}_shown"] = [
                format_value(c, v) for c, v in zip(codes, table[column], strict=True)
            ]
    return table


def unit_view(
    access: DataAccess, run: str, level: str, code: str, language: str, _: Translate
) -> UnitView:
    """The view of one unit; raises :class:`sapa.web.access.NotFound` outside the scope."""
    unit = access.unit(level, code)  # the scope check is never cached
    return _cached(
        access,
        ("unit", run, level, code, language),
        lambda: _build_unit_view(access, run, unit, language, _),
    )


def _build_unit_view(
    access: DataAccess, run: str, unit: dict[str, Any], language: str, _: Translate
) -> UnitView:
    level, code = unit["level"], unit["code"]
    parents = []
    for parent_level in ("region", "district"):
        if parent_level in unit and level != parent_level:
            try:
                parent = access.unit(parent_level, unit[parent_level])
            except NotFound:
                continue
            parents.append((parent_level, parent["code"], unit_name(parent, language, _)))
    child_level = LEVEL_BELOW.get(level)
    children = pd.DataFrame()
    if child_level:
        children = _children(access, run, unit, child_level, language)
    shown = [
        c
        for c in CHILD_INDICATORS
        if f"{c}:value" in children and children[f"{c}:value"].notna().any()
    ]
    # The national page shows the regions, not every school: no flags or ranks of all schools.
    if level in ("region", "district"):
        schools = access.schools(**{level: code})
        names = dict(zip(schools["code"], schools["name"], strict=True))
    else:
        names = {code: str(unit["name"])} if level == "school" else {}
    school_units = list(names)
    flags = access.flags(run, level="school" if level != "school" else None, units=school_units)
    if level == "school":
        flags = flags[flags["unit"] == code]
    flags = flags.assign(reason_text=[_(REASONS.get(r, r)) for r in flags["reason"]])
    ranks = pd.DataFrame()
    if level != "school":
        ranks = access.indicators(
            run, indicators=["composite.rank"], level="school", units=school_units
        )
        ranks = ranks.dropna(subset=["value"]).sort_values("value")
    return UnitView(
        run=run,
        unit=unit,
        name=unit_name(unit, language, _),
        headline=_headline(access, run, unit, _),
        children=children,
        child_indicators=shown,
        flags=flags,
        ranks=ranks,
        parents=parents,
        school_names=names,
    )


def _units_below(
    access: DataAccess, unit: dict[str, Any], level: str, language: str
) -> pd.DataFrame:
    """Codes and names (in the interface language) of the visible units of ``level`` inside
    ``unit``, which is one level up."""
    if level == "region":
        units = access.regions()
    elif level == "district":
        units = access.districts(unit["code"])
    else:
        return access.schools(district=unit["code"])[["code", "name"]]
    return units.assign(name=units[f"name_{language}"])[["code", "name"]]


def _children(
    access: DataAccess, run: str, unit: dict[str, Any], level: str, language: str
) -> pd.DataFrame:
    """The units one level down with their names and the child indicators with intervals."""
    units = _units_below(access, unit, level, language)
    if units.empty:
        return units
    values = access.indicators(
        run,
        indicators=list(CHILD_INDICATORS),
        level=level,
        units=list(units["code"]),
    )
    wide = values.pivot_table(
        index="unit",
        columns="indicator",
        values=["value", "ci_low", "ci_high"],
        aggfunc="first",
        dropna=False,
    )
    wide.columns = [f"{indicator}:{stat}" for stat, indicator in wide.columns]
    return units[["code", "name"]].merge(wide, left_on="code", right_index=True, how="left")


@dataclass
class AreaView:
    """One area's indicators (teachers, infrastructure, welfare, leadership) for a unit."""

    area: str
    title: str
    table: pd.DataFrame
    children: pd.DataFrame


def area_view(
    access: DataAccess, run: str, area: str, unit: dict[str, Any], language: str, _: Translate
) -> AreaView:
    """Every indicator of ``area`` for the unit beside the nation (and region), and for the
    units one level down (``unit`` comes from :meth:`DataAccess.unit`, the scope check)."""
    return _cached(
        access,
        ("area", run, area, unit["level"], unit["code"], language),
        lambda: _build_area_view(access, run, area, unit, language, _),
    )


def _build_area_view(
    access: DataAccess, run: str, area: str, unit: dict[str, Any], language: str, _: Translate
) -> AreaView:
    values = _compared_values(access, run, unit, prefix=f"{area}.")
    table = _labelled(_compare(values, unit), _)
    child_level = LEVEL_BELOW.get(unit["level"])
    children = pd.DataFrame()
    if child_level:
        kids = _units_below(access, unit, child_level, language)
        kid_values = access.indicators(
            run, prefix=f"{area}.", level=child_level, units=list(kids["code"])
        )
        if not kid_values.empty:
            children = kid_values.pivot_table(
                index="unit", columns="indicator", values="value", aggfunc="first"
            )
            names = dict(zip(kids["code"], kids["name"], strict=True))
            children.insert(0, "name", [names.get(c, c) for c in children.index])
    return AreaView(area=area, title=_(AREAS[area]), table=table, children=children)
