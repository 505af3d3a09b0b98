"""Reference data every Sapa database starts with: the 20 first-level regions."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Engine

from sapa.ingest._load import ImportReport, import_tables
from sapa.ingest._readers import read_table
from sapa.store import upgrade

REGIONS_FILE = "kz_regions.csv"
"""The 20 first-level regions shipped in ``sapa/data`` (column ``iso_code`` is the region code)."""


def initialise(engine: Engine) -> ImportReport:
    """Migrate the database to the newest schema and upsert the 20 regions (idempotent)."""
    upgrade(engine)
    with resources.as_file(resources.files("sapa") / "data" / REGIONS_FILE) as path:
        regions = read_table(path, entity="region")
    regions.header = ["code" if name == "iso_code" else name for name in regions.header]
    return import_tables(engine, [regions])
