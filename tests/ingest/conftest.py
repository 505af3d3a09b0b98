"""Fixtures of the import/export tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import GEOGRAPHY, write_files


@pytest.fixture
def geography_dir(tmp_path: Path) -> Path:
    """A directory with region.csv, district.csv and settlement.csv in the export format."""
    return write_files(tmp_path / "geography", GEOGRAPHY)
