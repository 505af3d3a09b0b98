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
from sapa.workflows.attestation import ATTESTATION, attestations_due
from sapa.workflows.incident import INCIDENT
from sapa.workflows.instruction import INSTRUCTION

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
    "find_case",
    "history",
    "open_case",
]

WORKFLOWS: dict[str, Workflow] = {
    workflow.name: workflow for workflow in (ATTESTATION, INCIDENT, INSTRUCTION)
}
"""Every workflow by name, in the order the interface lists them."""
