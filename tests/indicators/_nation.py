"""A tiny synthetic nation shared by the indicator tests, built once per test process.

The nation (``scale="tiny"``, ≈ 80 schools, ≈ 39,000 pupils) is generated into a temporary
folder on first use and read back exactly as stored: one DataFrame per entity in file layout,
the national files and every region's files concatenated. Tests must not modify the tables.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from sapa.indicators._table import NATION, Units
from sapa.synth import generate_nation

SEED = 20250531
"""Seed of the shared nation."""


@dataclass(frozen=True)
class Nation:
    """The stored tables of a synthetic nation (by entity name) and its output folder."""

    tables: dict[str, pd.DataFrame]
    out: Path

    @property
    def units(self) -> Units:
        """The school hierarchy of the nation."""
        return Units(
            self.tables["organization"], self.tables["settlement"], self.tables["district"]
        )

    @property
    def schools_truth(self) -> pd.DataFrame:
        """``truth/schools.csv``: each school's true effects (``code``, ``quality``, …)."""
        return pd.read_csv(self.out / "truth" / "schools.csv")


def read_tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every entity of a nation written as Parquet, national and regional files concatenated."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for path in sorted((out / "nation").glob("*.parquet")):
        parts.setdefault(path.stem, []).append(pd.read_parquet(path))
    for path in sorted((out / "regions").glob("*/*.parquet")):
        parts.setdefault(path.stem, []).append(pd.read_parquet(path))
    return {entity: pd.concat(frames, ignore_index=True) for entity, frames in parts.items()}


@cache
def tiny_nation() -> Nation:
    """The shared tiny nation (generated on the first call of the process, ≈ 10 s)."""
    root = Path(tempfile.mkdtemp(prefix="sapa-indicators-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    out = root / "nation"
    generate_nation(out, scale="tiny", seed=SEED)
    return Nation(tables=read_tables(out), out=out)


def expected_units(units: Units) -> dict[str, set[str]]:
    """Every unit of each level of the hierarchy."""
    return {
        "school": set(units.frame.index),
        "district": set(units.frame["district"]),
        "region": set(units.frame["region"]),
        "nation": {NATION},
    }


def column(
    table: pd.DataFrame, indicator: str, level: str, name: str, subgroup: str = "all"
) -> pd.Series:
    """One column of an indicator's rows at one level, indexed by unit."""
    rows = table[
        (table["indicator"] == indicator)
        & (table["level"] == level)
        & (table["subgroup"] == subgroup)
    ]
    return rows.set_index("unit")[name]


def values(table: pd.DataFrame, indicator: str, level: str, subgroup: str = "all") -> pd.Series:
    """An indicator's values at one level, indexed by unit."""
    return column(table, indicator, level, "value", subgroup)
