"""Helpers of the import/export tests: small geography files and whole-database snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from sapa.domain import Base

REGION_CSV = """\
code,kind,name_en,name_kk,name_ru,centre_en,centre_kk,centre_ru
KZ-71,city,Astana,Астана,Астана,Astana,Астана,Астана
KZ-75,city,Almaty,Алматы,Алматы,Almaty,Алматы,Алматы
"""

DISTRICT_CSV = """\
code,region_code,name_en,name_kk,name_ru
D-7101,KZ-71,Almaty District,Алматы ауданы,Алматинский район
D-7102,KZ-71,Yesil District,Есіл ауданы,Есильский район
D-7501,KZ-75,Medeu District,Медеу ауданы,Медеуский район
"""

SETTLEMENT_CSV = """\
code,district_code,name,locality,population
S-001,D-7101,Astana,urban,1350000
S-002,D-7501,Almaty,urban,2200000
S-003,D-7501,Talgar,rural,
"""

GEOGRAPHY = {"region": REGION_CSV, "district": DISTRICT_CSV, "settlement": SETTLEMENT_CSV}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (ids included), to prove that nothing at all changed."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def write_files(directory: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    """Write ``{entity: csv text}`` as ``<directory>/<entity>.csv``; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.csv").write_bytes(text.encode(encoding))
    return directory
