"""``docs/data-formats.md`` is generated from the data model and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sapa.domain import entities
from sapa.ingest import entity_schema
from sapa.ingest.docs import render_data_formats

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "data-formats.md"


def test_committed_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render_data_formats(), (
        "docs/data-formats.md is stale: run `python -m sapa.ingest.docs > docs/data-formats.md`"
    )


def test_module_prints_the_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sapa.ingest.docs"], capture_output=True, check=True, text=True
    )
    assert result.stdout == render_data_formats()


def test_every_entity_and_column_is_documented() -> None:
    text = render_data_formats()
    for entity in entities():
        schema = entity_schema(entity)
        section = text.split(f"\n## {schema.name}\n", 1)[1].split("\n## ", 1)[0]
        for spec in schema.fields:
            assert f"| `{spec.name}` |" in section, (schema.name, spec.name)
    district = text.split("\n## district\n", 1)[1].split("\n## ", 1)[0]
    row = "| `region_code` | code | yes | `code` of a region | Region the district belongs to. |"
    assert row in district
    settlement = text.split("\n## settlement\n", 1)[1].split("\n## ", 1)[0]
    assert "| `locality` | vocabulary | yes | `urban`, `rural` |" in settlement
    assert "Natural key: `code`." in settlement
    student = text.split("\n## student\n", 1)[1].split("\n## ", 1)[0]
    assert "| `low_income` | boolean | no (default `false`) |" in student
