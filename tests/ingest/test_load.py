"""Atomic, idempotent upsert: what an import writes, and that a refused one writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import GEOGRAPHY, snapshot, write_files
from sqlalchemy import Engine, select

from sapa.domain.geography import District, Region, Settlement
from sapa.errors import DataValidationError, StoreError
from sapa.ingest import CHUNK_SIZE, EntityCounts, import_files
from sapa.store import make_engine


def test_directory_loads_in_dependency_order(engine: Engine, geography_dir: Path) -> None:
    report = import_files(engine, [geography_dir])
    assert report.counts == {
        "region": EntityCounts(inserted=2),
        "district": EntityCounts(inserted=3),
        "settlement": EntityCounts(inserted=3),
    }
    with engine.connect() as connection:
        rows = connection.execute(
            select(Settlement.code, District.code, Region.code, Settlement.population)
            .join(District, Settlement.district_id == District.id)
            .join(Region, District.region_id == Region.id)
            .order_by(Settlement.code)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("S-001", "D-7101", "KZ-71", 1350000),
        ("S-002", "D-7501", "KZ-75", 2200000),
        ("S-003", "D-7501", "KZ-75", None),
    ]


def test_reimport_is_idempotent(engine: Engine, geography_dir: Path) -> None:
    import_files(engine, [geography_dir])
    before = snapshot(engine)
    report = import_files(engine, [geography_dir])
    assert snapshot(engine) == before
    assert {name: counts.unchanged for name, counts in report.counts.items()} == {
        "region": 2,
        "district": 3,
        "settlement": 3,
    }
    assert all(c.inserted == c.updated == 0 for c in report.counts.values())


def test_changed_values_update_in_place(
    engine: Engine, geography_dir: Path, tmp_path: Path
) -> None:
    import_files(engine, [geography_dir])
    before = _settlements(engine)
    changed = write_files(
        tmp_path / "changed",
        {
            "settlement": "code,district_code,name,locality,population\n"
            "S-003,D-7101,Talgar town,urban,50000\n"
            "S-004,D-7102,Kosshy,urban,\n"
        },
    )
    report = import_files(engine, [changed])
    assert report.counts["settlement"] == EntityCounts(inserted=1, updated=1, unchanged=0)
    after = _settlements(engine)
    assert after["S-003"]["id"] == before["S-003"]["id"], "an update keeps the row's identity"
    assert (after["S-003"]["name"], after["S-003"]["locality"]) == ("Talgar town", "urban")
    assert after["S-003"]["population"] == 50000
    assert after["S-003"]["district_id"] != before["S-003"]["district_id"]
    assert after["S-001"] == before["S-001"] and after["S-002"] == before["S-002"]
    assert after["S-004"]["population"] is None
    assert len(after) == 4


def _settlements(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(select(Settlement.__table__)).mappings().all()
    return {row["code"]: dict(row) for row in rows}


def test_dry_run_writes_nothing_but_counts(engine: Engine, geography_dir: Path) -> None:
    before = snapshot(engine)
    report = import_files(engine, [geography_dir], dry_run=True)
    assert report.dry_run
    assert report.counts["settlement"] == EntityCounts(inserted=3)
    assert snapshot(engine) == before


def test_refused_batch_writes_nothing(engine: Engine, geography_dir: Path) -> None:
    import_files(engine, [geography_dir])
    before = snapshot(engine)
    (geography_dir / "settlement.csv").write_text(
        GEOGRAPHY["settlement"] + "S-009,D-9999,Nowhere,rural,\n", encoding="utf-8"
    )
    (geography_dir / "region.csv").write_text(
        GEOGRAPHY["region"].replace(
            "Astana,Астана,Астана,Astana", "Nur-Sultan,Астана,Астана,Astana"
        ),
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError):
        import_files(engine, [geography_dir])
    assert snapshot(engine) == before


def test_database_refusal_rolls_back_everything(engine: Engine, tmp_path: Path) -> None:
    """A CHECK the validator cannot evaluate is refused by the database; the batch is undone."""
    organization = (
        "code,name,kind,school_type,ownership,instruction_language,settlement_code\n"
        "ORG-1,Kindergarten No. 1,preschool,gymnasium,state,kk,S-001\n"
    )
    files = write_files(tmp_path / "batch", {**GEOGRAPHY, "organization": organization})
    before = snapshot(engine)
    with pytest.raises(DataValidationError) as caught:
        import_files(engine, [files])
    (problem,) = caught.value.problems
    assert problem.file.endswith("organization.csv")
    assert "school_type_only_for_schools" in problem.reason
    assert snapshot(engine) == before


def test_bulk_import_spans_several_chunks(engine: Engine, geography_dir: Path) -> None:
    n_rows = 2 * CHUNK_SIZE + 17
    lines = ["code,district_code,name,locality,population"]
    lines += [f"V-{i:06d},D-7102,Village {i},rural,{i}" for i in range(n_rows)]
    (geography_dir / "settlement.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_files(engine, [geography_dir])
    assert report.counts["settlement"] == EntityCounts(inserted=n_rows)
    again = import_files(engine, [geography_dir])
    assert again.counts["settlement"] == EntityCounts(unchanged=n_rows)


def test_unreachable_database_is_a_store_error(tmp_path: Path, geography_dir: Path) -> None:
    missing_tables = make_engine(f"sqlite:///{tmp_path / 'not-migrated.sqlite'}")
    with pytest.raises(StoreError, match="sapa init"):
        import_files(missing_tables, [geography_dir])
    missing_tables.dispose()
