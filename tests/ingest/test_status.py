"""Row counts per entity and per region, checked against counts taken from the files directly."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine

from sapa.ingest import import_files, region_counts, region_path, row_counts

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def _column(entity: str, key: str, value: str) -> dict[str, str]:
    with (SAMPLE / f"{entity}.csv").open(encoding="utf-8", newline="") as handle:
        return {row[key]: row[value] for row in csv.DictReader(handle)}


def test_region_paths_follow_references() -> None:
    assert [spec.name for spec in region_path("district") or []] == ["region_code"]
    assert [spec.name for spec in region_path("organization") or []] == [
        "settlement_code",
        "district_code",
        "region_code",
    ]
    assert region_path("region") is None
    assert region_path("subject") is None


def test_counts_match_the_files(engine: Engine) -> None:
    import_files(engine, [SAMPLE])
    counts = row_counts(engine)
    for path in SAMPLE.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            assert counts[path.stem] == sum(1 for _ in csv.DictReader(handle)), path.stem

    district_region = _column("district", "code", "region_code")
    settlement_region = {
        code: district_region[district]
        for code, district in _column("settlement", "code", "district_code").items()
    }
    organizations = _column("organization", "code", "settlement_code")
    expected = Counter(settlement_region[s] for s in organizations.values())
    by_region = region_counts(engine)
    assert by_region["organization"] == dict(expected)
    assert by_region["settlement"] == dict(Counter(settlement_region.values()))
    assert "region" not in by_region and "subject" not in by_region


def test_progress_is_reported_per_entity(engine: Engine) -> None:
    calls: list[tuple[str, int, int]] = []
    import_files(engine, [SAMPLE / "region.csv"], progress=lambda *args: calls.append(args))
    assert calls[0] == ("region", 0, 20)
    assert calls[-1] == ("region", 20, 20)
