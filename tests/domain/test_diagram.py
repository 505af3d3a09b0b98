"""docs/data-model.md is generated from the metadata and kept in step with it."""

from __future__ import annotations

import re
from pathlib import Path

from sapa.domain import ENTITY_MODULES, entities
from sapa.domain import leadership as leadership_module
from sapa.domain import workforce as workforce_module
from sapa.domain.diagram import er_diagram, render_markdown
from sapa.domain.leadership import LeadershipSelection
from sapa.domain.workforce import YoungSpecialistSupport

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def test_committed_document_matches_the_generator() -> None:
    """If this fails: python -m sapa.domain.diagram > docs/data-model.md"""
    assert DOC.read_text(encoding="utf-8") == render_markdown()


def test_every_entity_and_reference_is_drawn_once() -> None:
    diagrams = "\n".join(er_diagram(module) for module in ENTITY_MODULES)
    declared = re.findall(r"^    (\w+) \{$", diagrams, flags=re.MULTILINE)
    assert sorted(declared) == sorted(entity.__name__ for entity in entities())
    relations = re.findall(r"^    \w+ [|}][|o]--[|o][|{] \w+ : ", diagrams, flags=re.MULTILINE)
    assert len(relations) == sum(len(entity.__table__.foreign_keys) for entity in entities())


def test_cardinalities_follow_nullability_and_uniqueness() -> None:
    leadership = er_diagram(leadership_module)
    assert 'LeadershipCandidate ||--o| LeadershipSelection : "leader_candidate_id"' in leadership
    assert 'LeadershipCandidate |o--o{ HeadAppointment : "leader_candidate_id"' in leadership
    workforce = er_diagram(workforce_module)
    assert 'Teacher |o--o{ YoungSpecialistSupport : "mentor_id"' in workforce
    assert 'Teacher ||--o{ YoungSpecialistSupport : "teacher_id"' in workforce
    assert LeadershipSelection.__natural_key__ == ("leader_candidate_id",)
    assert YoungSpecialistSupport.__table__.columns["mentor_id"].nullable


def test_natural_keys_are_listed_as_file_columns() -> None:
    text = render_markdown()
    assert "| CategoryAssignment | `category_assignment` | `teacher_code`, `valid_from` |" in text
