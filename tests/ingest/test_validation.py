"""Every class of bad input is reported with file, row, column and reason, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import GEOGRAPHY, snapshot, write_files
from sqlalchemy import Engine

from sapa.domain.identifiers import bin_problem, iin_problem
from sapa.errors import DataValidationError, Problem
from sapa.ingest import MAX_PROBLEMS, import_files

HEADER = "code,district_code,name,locality,population\n"

# (settlement.csv body after the header, expected problem as (row, column, words in reason))
BAD_SETTLEMENTS = {
    "wrong_int": ("S-010,D-7101,Kosshy,urban,12.5\n", (2, "population", "whole number")),
    "enum": ("S-010,D-7101,Kosshy,town,\n", (2, "locality", "allowed: urban, rural")),
    "not_null": ("S-010,D-7101,,urban,\n", (2, "name", "value is required")),
    "too_long": (f"S-010,D-7101,{'x' * 121},urban,\n", (2, "name", "at most 120")),
    "dangling": ("S-010,D-9999,Kosshy,urban,\n", (2, "district_code", "no district with code")),
    "duplicate_key": (
        "S-010,D-7101,Kosshy,urban,\nS-010,D-7102,Kosshy,urban,\n",
        (3, "code", "duplicate natural key (code=S-010); first at row 2"),
    ),
    "ragged_row": ("S-010,D-7101,Kosshy\n", (2, None, "3 cells; the header 5")),
}


@pytest.fixture
def loaded(engine: Engine, geography_dir: Path) -> Engine:
    import_files(engine, [geography_dir])
    return engine


def _refused(engine: Engine, directory: Path) -> list[Problem]:
    before = snapshot(engine)
    with pytest.raises(DataValidationError) as caught:
        import_files(engine, [directory])
    assert snapshot(engine) == before, "a refused import must leave every table unchanged"
    return caught.value.problems


@pytest.mark.parametrize("case", sorted(BAD_SETTLEMENTS))
def test_bad_cell_is_located(loaded: Engine, tmp_path: Path, case: str) -> None:
    body, (row, column, words) = BAD_SETTLEMENTS[case]
    directory = write_files(tmp_path / case, {"settlement": HEADER + body})
    (problem,) = _refused(loaded, directory)
    assert problem.file == str(directory / "settlement.csv")
    assert (problem.row, problem.column) == (row, column)
    assert words in problem.reason


def test_header_problems(loaded: Engine, tmp_path: Path) -> None:
    directory = write_files(
        tmp_path / "header",
        {"district": "code,region_id,name_en,name_en,colour\nD-1,1,A,A,red\n"},
    )
    problems = {(p.row, p.column): p.reason for p in _refused(loaded, directory)}
    assert problems[(1, "region_id")].endswith("use region_code")
    assert problems[(1, "name_en")] == "the column appears more than once"
    assert problems[(1, "colour")].startswith("unknown column for district; expected: code,")
    assert problems[(1, "region_code")] == "required column is missing"
    assert problems[(1, "name_kk")] == "required column is missing"


def test_ranges_and_identifiers_from_the_model(engine: Engine, tmp_path: Path) -> None:
    """CHECK ranges (``shifts`` 1–3), a two-column CHECK and the BIN check digit."""
    organization = (
        "code,name,kind,ownership,instruction_language,settlement_code,bin,shifts,"
        "opened_on,closed_on\n"
        "ORG-1,School 1,general_secondary,state,kk,S-001,123456789012,4,2001-09-01,1999-06-30\n"
    )
    directory = write_files(tmp_path / "batch", {**GEOGRAPHY, "organization": organization})
    problems = {p.column: p.reason for p in _refused(engine, directory)}
    assert problems["shifts"] == "must be ≥ 1 and ≤ 3; got 4"
    assert problems["bin"] == bin_problem("123456789012")
    assert problems["bin"] is not None
    assert problems["closed_on"] == "must be >= opened_on (2001-09-01); got 1999-06-30"


ORGANIZATION = (
    "code,name,kind,ownership,instruction_language,settlement_code\n"
    "ORG-1,School 1,general_secondary,state,kk,S-001\n"
)


def test_invalid_iin_gives_the_types_reason(engine: Engine, tmp_path: Path) -> None:
    bad_iin = "900101300011"
    student = (
        "code,iin,sex,birth_year,organization_code,grade,instruction_language\n"
        "P-1,050315500014,F,2005,ORG-1,9,kk\n"
        f"P-2,{bad_iin},M,2009,ORG-1,9,kk\n"
    )
    assert iin_problem("050315500014") is None
    directory = write_files(
        tmp_path / "batch", {**GEOGRAPHY, "organization": ORGANIZATION, "student": student}
    )
    (problem,) = _refused(engine, directory)
    assert (problem.row, problem.column) == (3, "iin")
    assert (
        problem.reason
        == iin_problem(bad_iin)
        == ("IIN 900101300011 fails the check digit (expected 7, found 1)")
    )


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("2024-02-30", "expected a date YYYY-MM-DD (or DD.MM.YYYY); got '2024-02-30'"),
        ("yesterday", "expected a date YYYY-MM-DD (or DD.MM.YYYY); got 'yesterday'"),
    ],
)
def test_wrong_dates(engine: Engine, tmp_path: Path, cell: str, reason: str) -> None:
    organization = (
        "code,name,kind,ownership,instruction_language,settlement_code,opened_on\n"
        f"ORG-1,School 1,general_secondary,state,kk,S-001,{cell}\n"
    )
    directory = write_files(tmp_path / "batch", {**GEOGRAPHY, "organization": organization})
    (problem,) = _refused(engine, directory)
    assert (problem.row, problem.column, problem.reason) == (2, "opened_on", reason)


def test_every_problem_is_reported_and_the_list_is_capped(engine: Engine, tmp_path: Path) -> None:
    rows = "".join(f"S-{i},D-7101,Village,hamlet,\n" for i in range(MAX_PROBLEMS + 5))
    directory = write_files(tmp_path / "many", {**GEOGRAPHY, "settlement": HEADER + rows})
    problems = _refused(engine, directory)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0].row == 2 and problems[MAX_PROBLEMS - 1].row == MAX_PROBLEMS + 1
    assert problems[-1].reason.startswith("5 more problems not listed")


def test_problems_in_several_files_are_reported_together(engine: Engine, tmp_path: Path) -> None:
    directory = write_files(
        tmp_path / "two",
        {
            "region": GEOGRAPHY["region"].replace("KZ-75,city", "KZ-75,megacity"),
            "settlement": HEADER + "S-1,D-0000,Village,rural,-\n",
        },
    )
    located = {(Path(p.file).name, p.row, p.column) for p in _refused(engine, directory)}
    assert located == {
        ("region.csv", 3, "kind"),
        ("settlement.csv", 2, "district_code"),
        ("settlement.csv", 2, "population"),
    }


def test_unknown_entity_names_the_known_ones(engine: Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "odd", {"regions": GEOGRAPHY["region"]})
    (problem,) = _refused(engine, directory)
    assert "unknown entity 'regions'" in problem.reason and "district" in problem.reason


def test_unique_identifier_already_owned_in_the_database(engine: Engine, tmp_path: Path) -> None:
    header = "code,iin,sex,birth_year,organization_code,grade,instruction_language\n"
    first = write_files(
        tmp_path / "first",
        {
            **GEOGRAPHY,
            "organization": ORGANIZATION,
            "student": header + "P-1,050315500014,F,2005,ORG-1,9,kk\n",
        },
    )
    import_files(engine, [first])
    clash = write_files(
        tmp_path / "clash", {"student": header + "P-2,050315500014,F,2005,ORG-1,9,kk\n"}
    )
    (problem,) = _refused(engine, clash)
    assert (problem.row, problem.column) == (2, "iin")
    assert problem.reason == (
        "iin=050315500014 already belongs to the student with code=P-1 in the database"
    )
    swap = write_files(
        tmp_path / "swap",
        {"student": header + "P-1,,F,2005,ORG-1,9,kk\n" + "P-2,050315500014,F,2005,ORG-1,9,kk\n"},
    )
    report = import_files(engine, [swap])
    assert report.counts["student"].inserted == 1 and report.counts["student"].updated == 1
