"""Workflows: the steps behind the indicators, from a teacher's attestation to the ministry's
instructions to the regions.

Each workflow is a :class:`Workflow` (states, steps, who may take each, the values a step
carries and the rules it must meet), defined in its own module; :data:`WORKFLOWS` holds them by
name. :func:`open_case` and :func:`act` store cases and their history
(:mod:`sapa.domain.casework`) and write each step's effect on the national records in the
caller's transaction; a refused step (:class:`StepRefused`, :class:`~sapa.errors.AccessDeniedError`
or :class:`~sapa.errors.DataValidationError`) changes nothing.
"""

from __future__ import annotations

from sapa.workflows._cases import Actor, Case, Effect, act, find_case, history, open_case
from sapa.workflows._engine import Field, Outcome, Step, StepRefused, Workflow
from sapa.workflows.attestation import ATTESTATION, attestations_due, count_attestations_due
from sapa.workflows.construction import CONSTRUCTION
from sapa.workflows.contest import CONTEST
from sapa.workflows.council_meeting import COUNCIL_MEETING
from sapa.workflows.development import DEVELOPMENT, development_gaps
from sapa.workflows.equipment import EQUIPMENT
from sapa.workflows.honour import HONOUR
from sapa.workflows.incident import INCIDENT
from sapa.workflows.instruction import INSTRUCTION
from sapa.workflows.leadership import LEADERSHIP
from sapa.workflows.meals_inspection import MEALS_INSPECTION
from sapa.workflows.parent_appeal import PARENT_APPEAL
from sapa.workflows.young_specialist import YOUNG_SPECIALIST, match_vacancies

__all__ = [
    "WORKFLOWS",
    "Actor",
    "Case",
    "Effect",
    "Field",
    "Outcome",
    "Step",
    "StepRefused",
    "Workflow",
    "act",
    "attestations_due",
    "count_attestations_due",
    "development_gaps",
    "find_case",
    "history",
    "match_vacancies",
    "messages",
    "open_case",
]

WORKFLOWS: dict[str, Workflow] = {
    workflow.name: workflow
    for workflow in (
        ATTESTATION,
        DEVELOPMENT,
        CONTEST,
        HONOUR,
        YOUNG_SPECIALIST,
        LEADERSHIP,
        CONSTRUCTION,
        EQUIPMENT,
        INCIDENT,
        MEALS_INSPECTION,
        PARENT_APPEAL,
        COUNCIL_MEETING,
        INSTRUCTION,
    )
}
"""Every workflow by name, in the order the interface lists them."""


def messages() -> set[str]:
    """Every text of the workflows the interface shows (titles, states, steps, fields and
    choices): each must have a Kazakh and a Russian translation."""
    found: set[str] = set()
    for workflow in WORKFLOWS.values():
        found |= {workflow.title, workflow.description, *workflow.states.values()}
        for step in workflow.steps:
            found.add(step.label)
            for spec in step.fields:
                found.add(spec.label)
                found |= {spec.choice_label(choice) for choice in spec.choices}
    return found
