"""Reading CSV, XLSX and Parquet files into :class:`RawTable` (cells not yet validated).

Encodings of CSV files
----------------------
UTF-8 is expected; a UTF-8 byte-order mark (what Excel writes for "CSV UTF-8") is accepted and
dropped. A file that is not valid UTF-8 but is decisively Windows-1251 Cyrillic text (Excel's
"CSV" on a Russian-language Windows) is decoded as Windows-1251 and the import reports a notice.
The test is a heuristic on the bytes above 0x7F: at least 95 % of them must be Cyrillic letters in
Windows-1251 and most of those letters lower-case, as in any running text. KOI8-R, where the
lower- and upper-case halves are swapped, fails the second test. Kazakh-specific letters
(Ә Ғ Қ Ң Ө Ұ Ү Һ) do not exist in Windows-1251, so such files usually have already lost them;
save as UTF-8 instead. Anything else is refused with the byte offset and line of the first byte
that is not UTF-8.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sapa.errors import DataValidationError, Problem
from sapa.ingest._schema import entity_schemas

__all__ = ["FORMATS", "RawTable", "collect_files", "decode_csv", "read_table"]

FORMATS = ("csv", "xlsx", "parquet")
"""File formats read and written, by file suffix."""

_CP1251_LOWER = frozenset(range(0xE0, 0x100)) | {0xB8, 0xBA, 0xBF, 0xB3, 0xA2}
_CP1251_UPPER = frozenset(range(0xC0, 0xE0)) | {0xA8, 0xAA, 0xAF, 0xB2, 0xA1}


@dataclass
class RawTable:
    """Cells of one file, as read, before validation.

    Attributes
    ----------
    source : str
        The file as the user named it; every problem refers to it.
    entity : str
        Table name of the entity the file holds.
    header : list of str
        Column names of the first row.
    rows : list of (int, list)
        Each data row with its spreadsheet row number (the header is row 1).
    notices : list of str
        Things the user should know that did not stop the import (a legacy encoding decoded).
    """

    source: str
    entity: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]
    notices: list[str] = field(default_factory=list)


def _looks_like_cp1251(data: bytes) -> bool:
    high = [byte for byte in data if byte >= 0x80]
    lower = sum(byte in _CP1251_LOWER for byte in high)
    upper = sum(byte in _CP1251_UPPER for byte in high)
    return bool(high) and lower + upper >= 0.95 * len(high) and lower > upper


def decode_csv(data: bytes, source: str) -> tuple[str, list[str]]:
    """Text of a CSV file's bytes and the notices about its encoding.

    Raises
    ------
    DataValidationError
        The bytes are neither UTF-8 nor decisively Windows-1251 text (see the module docstring).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise DataValidationError(
            Problem(source, None, None, "the file is UTF-16 or binary; save it as CSV UTF-8")
        )
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        if _looks_like_cp1251(data):
            try:
                text = data.decode("cp1251")
            except UnicodeDecodeError:
                pass
            else:
                notice = f"{source}: not UTF-8; decoded as Windows-1251 (Cyrillic) text"
                return text, [notice]
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataValidationError(
            Problem(
                source,
                line,
                None,
                f"byte 0x{data[exc.start]:02X} at offset {exc.start} (line {line}) is not "
                "UTF-8 and the file is not Windows-1251 Cyrillic text; save it as CSV UTF-8",
            )
        ) from exc


def _read_csv(path: Path, source: str) -> tuple[list[Any], list[tuple[int, list[Any]]], list[str]]:
    text, notices = decode_csv(path.read_bytes(), source)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DataValidationError(
            Problem(source, None, None, f"not readable as CSV ({exc})")
        ) from exc
    if not records:
        return [], [], notices
    numbered = [(index + 2, list(record)) for index, record in enumerate(records[1:])]
    return records[0], numbered, notices


def _read_xlsx(
    path: Path, source: str, entity: str
) -> tuple[list[Any], list[tuple[int, list[Any]]], list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataValidationError(
            Problem(source, None, None, f"not a readable XLSX workbook ({exc})")
        ) from exc
    try:
        sheet = workbook[entity] if entity in workbook.sheetnames else workbook.worksheets[0]
        rows = [list(values) for values in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not rows:
        return [], [], []
    header = list(rows[0])
    while header and header[-1] is None:
        header.pop()
    numbered = [(index + 2, row) for index, row in enumerate(rows[1:])]
    return header, numbered, []


def _read_parquet(
    path: Path, source: str
) -> tuple[list[Any], list[tuple[int, list[Any]]], list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(
            Problem(source, None, None, f"not a readable Parquet file ({exc})")
        ) from exc
    columns = [column.to_pylist() for column in table.columns]
    numbered = [(index + 2, list(cells)) for index, cells in enumerate(zip(*columns, strict=True))]
    return list(table.column_names), numbered, []


def _blank(row: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def read_table(path: str | Path, entity: str | None = None) -> RawTable:
    """Read one CSV, XLSX or Parquet file.

    Parameters
    ----------
    path : str or Path
        The file; its suffix decides the format.
    entity : str, optional
        Table name of the entity the file holds; by default the file's stem (``region.csv``).
        An XLSX workbook is read from the sheet of that name, else from its first sheet.

    Raises
    ------
    DataValidationError
        Unknown format or entity, an unreadable file or an encoding that is not accepted.
    """
    path = Path(path)
    source = str(path)
    schemas = entity_schemas()
    name = entity or path.stem.lower()
    if name not in schemas:
        known = ", ".join(schemas)
        how = "" if entity else " (the file name must be the entity's name, or give the entity)"
        raise DataValidationError(
            Problem(source, None, None, f"unknown entity {name!r}{how}; known: {known}")
        )
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise DataValidationError(
            Problem(
                source, None, None, f"unknown format {suffix!r}; use one of {', '.join(FORMATS)}"
            )
        )
    if not path.is_file():
        raise DataValidationError(Problem(source, None, None, "no such file"))
    if suffix == "csv":
        header, rows, notices = _read_csv(path, source)
    elif suffix == "xlsx":
        header, rows, notices = _read_xlsx(path, source, name)
    else:
        header, rows, notices = _read_parquet(path, source)
    return RawTable(
        source=source,
        entity=name,
        header=["" if cell is None else str(cell).strip() for cell in header],
        rows=[(number, cells) for number, cells in rows if not _blank(cells)],
        notices=notices,
    )


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, with each directory replaced by its CSV, XLSX and Parquet files."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower().lstrip(".") in FORMATS)
            )
        else:
            files.append(path)
    return files
