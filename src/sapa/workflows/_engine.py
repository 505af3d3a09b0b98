"""The state machine every workflow is made of: fields, steps and the rules that check them.

A :class:`Workflow` is a set of states and :class:`Step` s. A step names the states it may start
from (none for the step that opens a case), the roles that may take it, the :class:`Field` s it
carries, an optional business rule (``check``) and derived values (``derive``), and the state it
leads to (fixed, or chosen from the values: a test passed or failed). :meth:`Workflow.take`
applies one step to a case's state and values without touching any database, so the same rules
serve the web application, the command line and the synthetic nation's histories, and an
invalid step is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sapa.domain.access import Role
from sapa.errors import AccessDeniedError, DataValidationError, Problem, SapaError

__all__ = [
    "Field",
    "Outcome",
    "Step",
    "StepRefused",
    "Workflow",
]

Values = Mapping[str, Any]
LARGEST = 10**15
"""No number a step carries is larger (in tenge, the largest amounts, by far)."""


class StepRefused(SapaError):
    """A step that the case's state or the workflow's rules do not allow (nothing is changed)."""


@dataclass(frozen=True)
class Field:
    """One value a step carries.

    ``kind`` is ``text``, ``int``, ``number``, ``date``, ``choice`` (one of ``choices``),
    ``bool`` or ``code`` (the code of a record of ``entity``, checked to exist by the caller that
    has the database). Numbers are checked against ``low`` and ``high``.
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    entity: str | None = None

    @staticmethod
    def choice_label(value: str) -> str:
        """The message shown for a choice (translated like every interface message)."""
        return value.replace("_", " ")

    def parse(self, raw: Any, where: str) -> Any:
        """The value converted to its kind; :class:`DataValidationError` naming the field."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise _invalid(where, self.name, "a value is required")
            return None
        text = str(raw).strip()
        try:
            if self.kind == "int":
                value: Any = int(text)
            elif self.kind == "number":
                value = float(text)
            elif self.kind == "date":
                value = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(text)
            elif self.kind == "bool":
                value = {"true": True, "false": False, "on": True, "off": False, "1": True}[
                    text.lower()
                ]
            else:
                value = text
        except (ValueError, KeyError) as exc:
            raise _invalid(where, self.name, f"{text!r} is not a valid {self.kind}") from exc
        if self.kind == "choice" and value not in self.choices:
            raise _invalid(where, self.name, f"{text!r} is not one of {', '.join(self.choices)}")
        if self.kind in ("int", "number"):
            if not math.isfinite(value) or abs(value) > LARGEST:
                raise _invalid(where, self.name, f"{text!r} is not a usable number")
            if self.low is not None and value < self.low:
                raise _invalid(where, self.name, f"{value} is below the minimum {self.low:g}")
            if self.high is not None and value > self.high:
                raise _invalid(where, self.name, f"{value} is above the maximum {self.high:g}")
        if self.kind == "text" and len(value) > 1000:
            raise _invalid(where, self.name, "is longer than 1,000 characters")
        return value


def _invalid(where: str, column: str, reason: str) -> DataValidationError:
    return DataValidationError(Problem(where, None, column, reason))


Rule = Callable[[Values, Values, dt.date], str | None]
"""``rule(case_values, step_values, today)`` → the reason the step is refused, or ``None``."""
Derive = Callable[[Values, Values, dt.date], dict[str, Any]]
"""``derive(case_values, step_values, today)`` → values the step adds (thresholds, amounts…).
A derived ``due_on`` (a date) sets the case's deadline, for deadlines a rule computes (working
days, a date the case already holds)."""
Target = str | Callable[[Values], str]
"""The state a step leads to, or a function of the case's values after the step that picks it."""


@dataclass(frozen=True)
class Step:
    """One step of a workflow (see the module notes)."""

    action: str
    label: str
    sources: tuple[str, ...]
    target: Target
    roles: frozenset[Role]
    fields: tuple[Field, ...] = ()
    check: Rule | None = None
    derive: Derive | None = None
    due_days: int | None = None
    """Days from the step to the next step's deadline; ``None`` leaves the deadline as it is,
    and a final state clears it."""
    effect: Callable[..., None] | None = None
    """What the step writes to the national records (:data:`sapa.workflows.Effect`); run by
    :func:`sapa.workflows.act` in the step's transaction, never by :meth:`Workflow.take`."""

    @property
    def opens(self) -> bool:
        return not self.sources


@dataclass(frozen=True)
class Outcome:
    """What a step does to a case: its new state, the values it adds, its deadline."""

    action: str
    from_state: str | None
    to_state: str
    changes: dict[str, Any]
    due_on: dt.date | None
    closed: bool


@dataclass(frozen=True)
class Workflow:
    """A kind of case: its states, final states and steps.

    ``subject`` says what a case is about and so how it is placed in the hierarchy:
    ``teacher``, ``organization`` or ``region`` (the opening step carries the subject's code as
    ``<subject>_code``). ``sensitivity`` follows the records' classes: ``personal`` (about a
    teacher: national accounts see counts only, unless ``national`` lets them take part),
    ``restricted`` (child-rights cases: region, district and school accounts only) or
    ``public``. ``prefix`` starts every case number.
    """

    name: str
    title: str
    description: str
    prefix: str
    subject: str
    sensitivity: str
    states: dict[str, str]
    final: frozenset[str]
    steps: tuple[Step, ...]
    caption: Callable[[Values], str]
    """The case's title from the opening step's values."""
    national: bool = False
    """Whether ministry and analyst accounts read the cases (they take steps in them)."""
    single_open: bool = False
    """At most one open case per subject (one attestation under way per teacher)."""
    derived: tuple[str, ...] = field(default=())
    """Names of values steps derive (shown on the case page beside the fields)."""

    def __post_init__(self) -> None:
        opening = [step for step in self.steps if step.opens]
        assert len(opening) == 1, f"{self.name}: exactly one step opens a case"
        for step in self.steps:
            unknown = set(step.sources) - set(self.states)
            assert not unknown, f"{self.name}.{step.action}: unknown states {unknown}"
            if isinstance(step.target, str):
                assert step.target in self.states, f"{self.name}.{step.action}: {step.target}"

    @property
    def opening(self) -> Step:
        return next(step for step in self.steps if step.opens)

    def step(self, action: str) -> Step:
        for step in self.steps:
            if step.action == action:
                return step
        raise StepRefused(
            f"The {self.name} workflow has no step {action!r}; its steps are "
            f"{', '.join(step.action for step in self.steps)}."
        )

    def available(self, state: str | None, role: Role | None = None) -> list[Step]:
        """Steps that may be taken from ``state`` (by ``role``, if given)."""
        return [
            step
            for step in self.steps
            if not step.opens and state in step.sources and (role is None or role in step.roles)
        ]

    def take(
        self,
        action: str,
        *,
        state: str | None,
        values: Values,
        given: Mapping[str, Any],
        role: Role,
        today: dt.date,
        due_on: dt.date | None = None,
        where: str = "<step>",
    ) -> Outcome:
        """Apply one step to a case in ``state`` with ``values`` and deadline ``due_on``
        (pure: nothing is written). A step's deadline is its ``due_on`` field or the ``due_on``
        it derives if it has one, else ``today`` plus its ``due_days``, else the case's deadline
        as it was.

        Raises :class:`StepRefused` if the step cannot start from the state or its rule
        refuses it, :class:`AccessDeniedError` if the role may not take it, and
        :class:`DataValidationError` naming the field if a value is missing or wrong. Values
        the step does not declare are refused too, so a typing mistake is not silently lost.
        """
        step = self.step(action)
        if step.opens != (state is None):
            if state is None:
                raise StepRefused(f"{action!r} is not how a {self.name} case is opened.")
            raise StepRefused(f"The case is already open; {action!r} opens a new one.")
        if state is not None and state not in step.sources:
            allowed = ", ".join(self.states[s] for s in step.sources)
            raise StepRefused(
                f"The case is {self.states.get(state, state)!r}: {step.label!r} can be taken "
                f"only when it is {allowed}."
            )
        if role not in step.roles:
            raise AccessDeniedError(
                f"{role.value} accounts may not take the step {step.label!r}; "
                f"it is for {', '.join(sorted(r.value for r in step.roles))} accounts."
            )
        declared = {f.name for f in step.fields} | {"note"}
        unknown = sorted(set(given) - declared)
        if unknown:
            raise _invalid(where, unknown[0], f"{step.label!r} has no field {unknown[0]!r}")
        parsed = {f.name: f.parse(given.get(f.name), where) for f in step.fields}
        parsed = {name: value for name, value in parsed.items() if value is not None}
        if step.check is not None:
            reason = step.check(values, parsed, today)
            if reason:
                raise StepRefused(reason)
        changes = dict(parsed)
        if step.derive is not None:
            changes |= step.derive(values, parsed, today)
        merged = {**values, **changes}
        to_state = step.target if isinstance(step.target, str) else step.target(merged)
        closed = to_state in self.final
        if step.due_days is not None:
            due_on = today + dt.timedelta(days=step.due_days)
        if "due_on" in changes:
            due_on = changes["due_on"]
        return Outcome(
            action=action,
            from_state=state,
            to_state=to_state,
            changes={k: _jsonable(v) for k, v in changes.items()},
            due_on=None if closed else due_on,
            closed=closed,
        )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
