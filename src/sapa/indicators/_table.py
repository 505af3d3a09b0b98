"""The one tidy form every indicator takes, and aggregation over the school hierarchy.

Every indicator function returns a DataFrame with the columns of :data:`COLUMNS`, one row per
indicator, unit and subgroup; the pipeline stores these rows as
:class:`~sapa.domain.quality.IndicatorValue`. Units form the hierarchy school → district →
region → nation (``KZ``). Published cells resting on fewer than :data:`MIN_CELL` cases are
suppressed: the value and its uncertainty are withheld, the count is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sapa.errors import DataValidationError, Problem

__all__ = [
    "ALL",
    "as_dates",
    "check_tables",
    "per_school",
    "ratio_of_counts",
    "COLUMNS",
    "LEVELS",
    "MIN_CELL",
    "NATION",
    "Units",
    "indicator_table",
    "ratio_by_level",
    "suppress",
]

COLUMNS = (
    "indicator",
    "level",
    "unit",
    "subgroup",
    "value",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "suppressed",
)
"""Columns of an indicator table, in order."""

LEVELS = ("school", "district", "region", "nation")
"""Levels of the hierarchy, from the smallest unit up."""

NATION = "KZ"
"""Unit code of the nation."""

ALL = "all"
"""Subgroup label of a whole unit."""

MIN_CELL = 10
"""Default publication threshold: cells with fewer cases are suppressed."""


class Units:
    """The hierarchy: for each school its district and region.

    Built from the ``organization``, ``settlement`` and ``district`` tables in file layout
    (``code``, ``settlement_code``; ``code``, ``district_code``; ``code``, ``region_code``).
    """

    def __init__(
        self, organization: pd.DataFrame, settlement: pd.DataFrame, district: pd.DataFrame
    ):
        district_of = settlement.set_index("code")["district_code"]
        region_of = district.set_index("code")["region_code"]
        schools = organization[["code", "settlement_code"]].rename(columns={"code": "school"})
        schools["district"] = schools["settlement_code"].map(district_of)
        schools["region"] = schools["district"].map(region_of)
        schools["nation"] = NATION
        self.frame = schools.set_index("school")[["district", "region", "nation"]]

    def all(self, level: str) -> pd.Index:
        """Every unit of ``level`` in the hierarchy, sorted."""
        if level == "school":
            return self.frame.index.sort_values()
        if level == "nation":
            return pd.Index([NATION])
        return pd.Index(self.frame[level].unique()).sort_values()

    def of(self, schools: pd.Series | Sequence[str], level: str) -> np.ndarray:
        """The unit code at ``level`` of each school in ``schools``."""
        codes = pd.Index(schools)
        if level == "school":
            return codes.to_numpy()
        return self.frame.loc[codes, level].to_numpy()


def indicator_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` completed to an indicator table: missing optional columns are added (``se`` and
    the interval NaN, ``subgroup`` :data:`ALL`, ``suppressed`` False) and columns ordered."""
    table = rows.copy()
    for column, default in (
        ("subgroup", ALL),
        ("se", np.nan),
        ("ci_low", np.nan),
        ("ci_high", np.nan),
        ("suppressed", False),
    ):
        if column not in table:
            table[column] = default
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise ValueError(f"indicator rows lack column(s) {', '.join(missing)}")
    table = table[list(COLUMNS)].astype(
        {
            "value": float,
            "se": float,
            "ci_low": float,
            "ci_high": float,
            "n": np.int64,
            "suppressed": bool,
        }
    )
    return table.reset_index(drop=True)


def ratio_by_level(
    frame: pd.DataFrame,
    *,
    indicator: str,
    numerator: str,
    denominator: str,
    units: Units,
    school: str = "school",
    levels: Sequence[str] = LEVELS,
) -> pd.DataFrame:
    """Σ numerator / Σ denominator per unit at each level (``n`` = Σ denominator).

    ``frame`` has one row per school (or finer) with a ``school`` column of school codes and
    the two count columns; a unit with a zero denominator gets NaN.
    """
    parts = []
    for level in levels:
        unit = units.of(frame[school], level)
        sums = frame.groupby(unit)[[numerator, denominator]].sum()
        value = sums[numerator] / sums[denominator].where(sums[denominator] > 0)
        parts.append(
            pd.DataFrame(
                {
                    "indicator": indicator,
                    "level": level,
                    "unit": sums.index,
                    "value": value.to_numpy(),
                    "n": sums[denominator].round().astype(np.int64).to_numpy(),
                }
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))


def suppress(table: pd.DataFrame, min_n: int = MIN_CELL) -> pd.DataFrame:
    """Withhold the value and uncertainty of rows with ``n < min_n`` (``suppressed`` True)."""
    table = table.copy()
    small = table["n"] < min_n
    table.loc[small, ["value", "se", "ci_low", "ci_high"]] = np.nan
    table["suppressed"] = table["suppressed"] | small
    return table


def check_tables(tables: Mapping[str, pd.DataFrame], required: Mapping[str, Sequence[str]]) -> None:
    """Raise one :class:`DataValidationError` naming every missing table and column."""
    problems = []
    for entity, columns in required.items():
        if entity not in tables:
            problems.append(Problem(entity, None, None, "table is missing"))
            continue
        missing = [c for c in columns if c not in tables[entity].columns]
        problems += [Problem(entity, None, c, "column is missing") for c in missing]
    if problems:
        raise DataValidationError(problems)


def as_dates(values: pd.Series) -> pd.Series:
    """File-layout dates (``datetime.date``, ISO text or empty) as datetimes, NaT when empty."""
    return pd.Series(pd.to_datetime(values.to_numpy(dtype=object)), index=values.index)


def per_school(school_codes: pd.Series, schools: pd.Index) -> np.ndarray:
    """Number of rows of each school (0 for schools without any)."""
    return school_codes.value_counts().reindex(schools, fill_value=0).to_numpy(np.int64)


def ratio_of_counts(
    counts: pd.DataFrame,
    indicator: str,
    numerator: str,
    denominator: str,
    units: Units,
    *,
    levels: Sequence[str] = LEVELS,
) -> pd.DataFrame:
    """``Σ numerator / Σ denominator`` of per-school counts (indexed by school) at each level."""
    frame = counts[[numerator, denominator]].rename_axis("school").reset_index()
    return ratio_by_level(
        frame,
        indicator=indicator,
        numerator=numerator,
        denominator=denominator,
        units=units,
        levels=levels,
    )
