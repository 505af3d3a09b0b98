"""``docs/workflows.md`` is generated from the workflow definitions and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sapa.workflows import WORKFLOWS
from sapa.workflows.docs import render_workflows

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


def test_committed_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render_workflows(), (
        "docs/workflows.md is stale: run `python -m sapa.workflows.docs > docs/workflows.md`"
    )


def test_module_prints_the_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sapa.workflows.docs"], capture_output=True, check=True, text=True
    )
    assert result.stdout == render_workflows()


def test_every_workflow_state_and_step_is_documented() -> None:
    text = render_workflows()
    for workflow in WORKFLOWS.values():
        section = text.split(f"(`{workflow.name}`)\n", 1)[1].split("\n## ", 1)[0]
        for state in workflow.states:
            assert f"`{state}`" in section, (workflow.name, state)
        for step in workflow.steps:
            assert f"(`{step.action}`)" in section, (workflow.name, step.action)
    assert "| Record the qualification test (`record_test`) | `applied` |" in text
    assert "`score_percent` (number 0–100)" in text
    assert "Cancel (`cancel`) | `issued`, `in_progress` | `cancelled` | ministry |" in text
