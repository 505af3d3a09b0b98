"""Readers: CSV encodings, separators, XLSX sheets, unreadable files."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from ingest_support import GEOGRAPHY, snapshot, write_files
from sqlalchemy import Engine, select

from sapa.domain.geography import District
from sapa.errors import DataValidationError
from sapa.ingest import import_files, read_table

DISTRICT_ROWS = [
    (2, ["D-7101", "KZ-71", "Almaty District", "Алматы ауданы", "Алматинский район"]),
    (3, ["D-7102", "KZ-71", "Yesil District", "Есіл ауданы", "Есильский район"]),
    (4, ["D-7501", "KZ-75", "Medeu District", "Медеу ауданы", "Медеуский район"]),
]


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain = write_files(tmp_path / "plain", {"district": GEOGRAPHY["district"]})
    bom = write_files(tmp_path / "bom", {"district": GEOGRAPHY["district"]}, "utf-8-sig")
    assert (bom / "district.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for directory in (plain, bom):
        table = read_table(directory / "district.csv")
        assert table.header[0] == "code"
        assert table.rows == DISTRICT_ROWS
        assert table.notices == []


RUSSIAN_DISTRICTS = (
    GEOGRAPHY["district"]
    .replace("Алматы ауданы", "Алматы")
    .replace("Есіл ауданы", "Есиль")
    .replace("Медеу ауданы", "Медеу")
)


def test_windows_1251_is_decoded_with_a_notice(tmp_path: Path) -> None:
    directory = write_files(tmp_path / "legacy", {"district": RUSSIAN_DISTRICTS}, "cp1251")
    table = read_table(directory / "district.csv")
    assert table.rows[0][1][4] == "Алматинский район"
    assert table.notices == [
        f"{directory / 'district.csv'}: not UTF-8; decoded as Windows-1251 (Cyrillic) text"
    ]


def test_koi8_is_refused_not_misread(tmp_path: Path) -> None:
    directory = write_files(tmp_path / "koi8", {"district": RUSSIAN_DISTRICTS}, "koi8_r")
    with pytest.raises(DataValidationError) as caught:
        read_table(directory / "district.csv")
    (problem,) = caught.value.problems
    assert problem.row == 2
    assert "is not UTF-8 and the file is not Windows-1251" in problem.reason


def test_undecodable_bytes_are_located(engine: Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "broken", {"region": GEOGRAPHY["region"]})
    data = (directory / "region.csv").read_bytes()
    offset = data.index("Алматы".encode())
    (directory / "region.csv").write_bytes(data[:offset] + b"\x00" + data[offset:])
    before = snapshot(engine)
    with pytest.raises(DataValidationError) as caught:
        import_files(engine, [directory])
    assert snapshot(engine) == before
    (problem,) = caught.value.problems
    assert problem.file.endswith("region.csv")
    assert "UTF-16 or binary" in problem.reason

    (directory / "region.csv").write_bytes(data[:offset] + b"\xff" + data[offset:])
    with pytest.raises(DataValidationError) as caught:
        import_files(engine, [directory])
    (problem,) = caught.value.problems
    assert problem.row == 3
    assert problem.reason.startswith(f"byte 0xFF at offset {offset} (line 3) is not UTF-8")


def test_semicolon_separated(tmp_path: Path) -> None:
    directory = write_files(
        tmp_path / "semi", {"district": GEOGRAPHY["district"].replace(",", ";")}
    )
    assert read_table(directory / "district.csv").rows == DISTRICT_ROWS


def test_xlsx_reads_the_sheet_named_like_the_entity(engine: Engine, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "notes"
    workbook.active.append(["not", "data"])
    sheet = workbook.create_sheet("district")
    sheet.append(GEOGRAPHY["district"].splitlines()[0].split(","))
    for _, cells in DISTRICT_ROWS:
        sheet.append(cells)
    sheet.append([None] * 5)
    path = tmp_path / "districts-2024.xlsx"
    workbook.save(path)

    table = read_table(path, entity="district")
    assert table.entity == "district" and table.rows == DISTRICT_ROWS

    import_files(engine, [write_files(tmp_path / "regions", {"region": GEOGRAPHY["region"]})])
    report = import_files(engine, [path], entity="district")
    assert report.counts["district"].inserted == 3
    with engine.connect() as connection:
        codes = connection.execute(select(District.code).order_by(District.code)).scalars()
        assert codes.all() == ["D-7101", "D-7102", "D-7501"]


@pytest.mark.parametrize(("suffix", "words"), [("xlsx", "XLSX"), ("parquet", "Parquet")])
def test_unreadable_workbooks_are_refused(tmp_path: Path, suffix: str, words: str) -> None:
    path = tmp_path / f"region.{suffix}"
    path.write_bytes(b"this is not a real file")
    with pytest.raises(DataValidationError, match=f"not a readable {words}"):
        read_table(path)


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "region.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(DataValidationError, match="unknown format 'json'"):
        read_table(path)
