"""Constructor-argument validation shared by every estimator (the scikit-learn pattern).

An estimator declares ``_parameter_constraints`` as a mapping from argument name to a constraint and
calls :func:`validate_params` at the start of ``fit``. A constraint is one of

* a ``set``/``frozenset`` of allowed values;
* :class:`Interval` for numbers;
* a type or tuple of types;
* a callable returning ``True`` for valid values, with a ``description`` attribute;
* a ``list`` of the above, any of which may match.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sapa.errors import InvalidParameterError


@dataclass(frozen=True)
class Interval:
    """A numeric range; ``kind`` is ``int`` or ``float``; bounds may be ``None`` (unbounded)."""

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        wanted = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, wanted):
            return False
        left_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        right_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return left_ok and right_ok

    def __str__(self) -> str:
        name = "an int" if self.kind is int else "a float"
        if self.low is None and self.high is None:
            return name
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{name} in the range {lb}{low}, {high}{rb}"


def _accepts(constraint: Any, value: Any) -> bool:
    if isinstance(constraint, set | frozenset):
        try:
            return value in constraint
        except TypeError:
            return False
    if isinstance(constraint, Interval):
        return constraint.accepts(value)
    if isinstance(constraint, type | tuple):
        return isinstance(value, constraint)
    if constraint is None:
        return value is None
    if callable(constraint):
        return bool(constraint(value))
    raise TypeError(f"Unknown constraint {constraint!r}")


def _describe(constraint: Any) -> str:
    if isinstance(constraint, set | frozenset):
        return "one of {" + ", ".join(repr(v) for v in sorted(constraint, key=repr)) + "}"
    if isinstance(constraint, Interval):
        return str(constraint)
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__}"
    if isinstance(constraint, tuple):
        return "an instance of " + " or ".join(t.__name__ for t in constraint)
    return getattr(constraint, "description", getattr(constraint, "__name__", repr(constraint)))


def validate_params(owner: str, constraints: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Check ``values`` against ``constraints``; raise :class:`InvalidParameterError` on the first
    violation with the message "The 'x' parameter of Owner must be … Got … instead."."""
    for name, constraint in constraints.items():
        value = values[name]
        options = constraint if isinstance(constraint, list) else [constraint]
        if any(_accepts(option, value) for option in options):
            continue
        described = " or ".join(_describe(option) for option in options)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be {described}. Got {value!r} instead."
        )


def described(description: str) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    """Attach a human description to a predicate used as a constraint."""

    def wrap(predicate: Callable[[Any], bool]) -> Callable[[Any], bool]:
        predicate.description = description  # type: ignore[attr-defined]
        return predicate

    return wrap
