"""Parquet response files: round trip, atomic replacement, hashes and refusal of bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from sapa.domain.assessment import (
    Administration,
    AdministrationMode,
    AssessmentProgramme,
    Population,
    ProgrammeKind,
    ResponseFile,
)
from sapa.errors import DataValidationError, StoreError
from sapa.store import session_scope
from sapa.store.columnar import (
    MISSING,
    PERSON_COLUMN,
    ResponseMatrix,
    ResponseWriter,
    file_sha256,
    read_responses,
    stack_responses,
    write_responses,
)


@pytest.fixture
def booklet_design() -> tuple[np.ndarray, list[str], list[str]]:
    """Six persons, four items, two booklets: items 1–2 on booklet A, 3–4 on B, item 2 shared."""
    rng = np.random.default_rng(20250401)
    values = rng.integers(0, 3, size=(6, 4)).astype(np.int8)
    values[:3, 2:] = MISSING
    values[3:, 0] = MISSING
    values[1, 1] = MISSING
    persons = [f"S{i:05d}" for i in range(6)]
    items = ["M4-001", "M4-002", "M4-003", "M4-004"]
    return values, persons, items


def test_round_trip_preserves_values_codes_and_missing(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    matrix = read_responses(info.path, expected_sha256=info.sha256)
    assert matrix.person_codes == tuple(persons)
    assert matrix.item_codes == tuple(items)
    assert matrix.values.dtype == np.int8
    np.testing.assert_array_equal(matrix.values, values)
    np.testing.assert_array_equal(matrix.observed, values != -1)
    assert (info.n_persons, info.n_items) == (6, 4)


def test_file_layout_is_person_code_then_int8_items(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    schema = pq.read_schema(info.path)
    assert schema.names == [PERSON_COLUMN, *items]
    assert {str(field.type) for field in schema if field.name != PERSON_COLUMN} == {"int8"}


def test_sha256_is_that_of_the_file_bytes(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert file_sha256(info.path) == info.sha256


def test_read_a_subset_of_items_in_the_order_asked(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    matrix = read_responses(info.path, items=["M4-004", "M4-002"])
    np.testing.assert_array_equal(matrix.values, values[:, [3, 1]])


def test_changed_file_is_refused(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    values[0, 0] = 2 if values[0, 0] != 2 else 1
    write_responses(info.path, values, person_codes=persons, item_codes=items)
    with pytest.raises(StoreError, match="was changed or replaced"):
        read_responses(info.path, expected_sha256=info.sha256)


def test_atomic_replace_leaves_no_temporary_files(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    target = tmp_path / "r.parquet"
    write_responses(target, values, person_codes=persons, item_codes=items)
    write_responses(target, values[:2], person_codes=persons[:2], item_codes=items)
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]
    assert read_responses(target).values.shape == (2, 4)


def test_failed_write_keeps_the_old_file(
    tmp_path: Path, booklet_design, monkeypatch: pytest.MonkeyPatch
) -> None:
    values, persons, items = booklet_design
    target = tmp_path / "r.parquet"
    before = write_responses(target, values, person_codes=persons, item_codes=items)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_responses(target, values[:1], person_codes=persons[:1], item_codes=items)
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]
    assert file_sha256(target) == before.sha256


@pytest.mark.parametrize(
    ("values", "persons", "items", "reason"),
    [
        (np.zeros((2, 2)), ["a", "b"], ["i1", "i2"], "must be integers"),
        (np.zeros((2, 3), dtype=int), ["a", "b"], ["i1", "i2"], "expected \\(2, 2\\)"),
        (np.array([[0, -2], [1, 1]]), ["a", "b"], ["i1", "i2"], "outside -1..127"),
        (np.array([[0, 200], [1, 1]]), ["a", "b"], ["i1", "i2"], "outside -1..127"),
        (np.zeros((2, 2), dtype=int), ["a", "a"], ["i1", "i2"], "duplicate person codes: 'a'"),
        (np.zeros((2, 2), dtype=int), ["a", ""], ["i1", "i2"], "non-empty"),
        (np.zeros((2, 2), dtype=int), ["a", "b"], ["i1", PERSON_COLUMN], "reserved"),
    ],
)
def test_bad_input_is_refused_with_a_reason(tmp_path, values, persons, items, reason) -> None:
    with pytest.raises(DataValidationError, match=reason):
        write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    assert list(tmp_path.iterdir()) == []


def test_unknown_items_and_foreign_files_are_refused(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    with pytest.raises(StoreError, match="no item column"):
        read_responses(info.path, items=["M4-999"])
    with pytest.raises(StoreError, match="does not exist"):
        read_responses(tmp_path / "absent.parquet")
    pq.write_table(pa.table({"x": [1.5]}), tmp_path / "other.parquet")
    with pytest.raises(StoreError, match="not a response file"):
        read_responses(tmp_path / "other.parquet")


def test_record_is_stored_in_the_database(tmp_path: Path, engine: Engine, booklet_design) -> None:
    values, persons, items = booklet_design
    info = write_responses(tmp_path / "r.parquet", values, person_codes=persons, item_codes=items)
    with session_scope(engine) as session:
        programme = AssessmentProgramme(
            code="MODO4",
            name="Grade 4 achievement monitoring",
            kind=ProgrammeKind.ACHIEVEMENT_MONITORING,
            population=Population.STUDENTS,
            grade=4,
        )
        session.add(programme)
        session.flush()
        administration = Administration(
            code="MODO4-2025",
            assessment_programme_id=programme.id,
            year=2025,
            starts_on=dt.date(2025, 4, 7),
            ends_on=dt.date(2025, 4, 25),
            mode=AdministrationMode.COMPUTER,
        )
        session.add(administration)
        session.flush()
        session.add(info.to_record("MODO4-2025-MATH", administration.id))
    with session_scope(engine) as session:
        stored = session.scalars(select(ResponseFile)).one()
        assert (stored.sha256, stored.n_persons, stored.n_items) == (info.sha256, 6, 4)
        assert read_responses(stored.path, expected_sha256=stored.sha256).values.shape == (6, 4)


def test_streamed_chunks_read_back_like_one_write(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    whole = write_responses(
        tmp_path / "whole.parquet", values, person_codes=persons, item_codes=items
    )
    with ResponseWriter(tmp_path / "streamed.parquet", items) as writer:
        for start, stop in ((0, 2), (2, 2), (2, 5), (5, 6)):
            writer.append(persons[start:stop], values[start:stop])
    streamed, expected = read_responses(writer.info.path), read_responses(whole.path)
    assert streamed.person_codes == expected.person_codes
    assert streamed.item_codes == expected.item_codes
    np.testing.assert_array_equal(streamed.values, expected.values)
    assert (writer.info.n_persons, writer.info.n_items) == (6, 4)
    assert writer.info.sha256 == file_sha256(writer.info.path)
    assert pq.read_schema(writer.info.path) == pq.read_schema(whole.path)
    assert pq.ParquetFile(writer.info.path).metadata.num_row_groups == 3


def test_one_chunk_gives_the_bytes_of_write_responses(tmp_path: Path, booklet_design) -> None:
    values, persons, items = booklet_design
    whole = write_responses(tmp_path / "a.parquet", values, person_codes=persons, item_codes=items)
    with ResponseWriter(tmp_path / "b.parquet", items) as writer:
        writer.append(persons, values)
    assert writer.info.sha256 == whole.sha256


@pytest.mark.parametrize(
    ("persons", "values", "reason"),
    [
        (["S00001"], np.zeros((1, 4), dtype=int), "duplicate person codes: 'S00001'"),
        (["X1"], np.full((1, 4), 200), "outside -1..127"),
        (["X1"], np.zeros((1, 3), dtype=int), "expected \\(1, 4\\)"),
    ],
)
def test_bad_chunk_discards_the_whole_file(
    tmp_path: Path, booklet_design, persons, values, reason
) -> None:
    good, codes, items = booklet_design
    target = tmp_path / "r.parquet"
    with pytest.raises(DataValidationError, match=reason), ResponseWriter(target, items) as writer:
        writer.append(codes[:3], good[:3])
        writer.append(persons, values)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="not written yet"):
        writer.info  # noqa: B018


def test_writer_refuses_bad_items_and_use_outside_its_block(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="duplicate item codes"):
        ResponseWriter(tmp_path / "r.parquet", ["i1", "i1"])
    writer = ResponseWriter(tmp_path / "r.parquet", ["i1"])
    with pytest.raises(StoreError, match="not open"):
        writer.append(["a"], np.zeros((1, 1), dtype=int))
    with writer:
        pass
    assert read_responses(writer.info.path).values.shape == (0, 1)
    with pytest.raises(StoreError, match="only once"), writer:
        pass
    assert list(tmp_path.iterdir()) == [tmp_path / "r.parquet"]


def test_stack_responses_unites_booklets_with_missing_cells() -> None:
    first = ResponseMatrix(("P1", "P2"), ("A", "B"), np.array([[1, 0], [0, 1]], dtype=np.int8))
    second = ResponseMatrix(("P3",), ("B", "C"), np.array([[1, 2]], dtype=np.int8))
    stacked = stack_responses([first, second])
    assert stacked.person_codes == ("P1", "P2", "P3")
    assert stacked.item_codes == ("A", "B", "C")
    assert stacked.values.tolist() == [[1, 0, MISSING], [0, 1, MISSING], [MISSING, 1, 2]]


def test_stack_responses_refuses_a_person_in_two_booklets() -> None:
    first = ResponseMatrix(("P1",), ("A",), np.array([[1]], dtype=np.int8))
    with pytest.raises(StoreError, match="P1"):
        stack_responses([first, first])
