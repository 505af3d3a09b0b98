"""Atomic writing: a failed write leaves the previous file and no temporary behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from sapa._files import atomic_destination


def test_success_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.csv"
    with atomic_destination(target) as temporary:
        temporary.write_text("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["table.csv"]


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_destination(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
