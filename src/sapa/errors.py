"""The one exception hierarchy of Sapa.

Every error the library raises on purpose derives from :class:`SapaError`, so a caller can catch
Sapa's errors without catching programming mistakes::

    SapaError
    ├── DataValidationError        input data is wrong (file, row, column and reason are attached)
    ├── ModelSpecError             an estimator or run was configured wrongly
    │   └── InvalidParameterError  one constructor argument is out of its allowed set or range
    ├── NotFittedError             a result was asked of an estimator before ``fit``
    ├── BackendUnavailableError    an optional compute backend or extra is not installed
    ├── AccessDeniedError          the user's role or region scope does not cover the request
    └── StoreError                 the database is missing, unreachable or at the wrong schema

Warnings::

    SapaWarning
    ├── ConvergenceWarning         an iterative estimator stopped before its tolerance was met
    └── BoundaryWarning            an estimate lies at or beyond a plausible boundary (named items)

Messages are English and follow one template, for example
"The 'n_quad' parameter of IRTModel must be an int in the range [5, 201]. Got 3 instead."
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessDeniedError",
    "BackendUnavailableError",
    "BoundaryWarning",
    "ConvergenceWarning",
    "DataValidationError",
    "InvalidParameterError",
    "ModelSpecError",
    "NotFittedError",
    "Problem",
    "SapaError",
    "SapaWarning",
    "StoreError",
]


class SapaError(Exception):
    """Base class of every error Sapa raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a piece of input was refused, located as precisely as the input allows.

    ``row`` is the 1-based data row as a person counts it in a spreadsheet (the header is row 1,
    so the first data row is row 2); ``None`` when the problem concerns the whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.reason}"


class DataValidationError(SapaError):
    """Input data was refused; ``problems`` lists every reason found, each with its location."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="<input>", row=None, column=None, reason=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:20])
        more = len(self.problems) - 20
        if more > 0:
            shown += f"\n  … and {more} more"
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the input:\n{shown}")


class ModelSpecError(SapaError):
    """An estimator, model or run was specified inconsistently."""


class InvalidParameterError(ModelSpecError, ValueError):
    """A constructor argument is outside its allowed set or range."""


class NotFittedError(SapaError, AttributeError):
    """A fitted attribute or result was requested before ``fit`` was called."""


class BackendUnavailableError(SapaError, ImportError):
    """An optional backend or extra is missing; the message names what to install."""


class AccessDeniedError(SapaError, PermissionError):
    """The current user's role or region scope does not allow the request."""


class StoreError(SapaError):
    """The database is missing, unreachable or not at the expected schema revision."""


class SapaWarning(UserWarning):
    """Base class of Sapa's warnings."""


class ConvergenceWarning(SapaWarning):
    """An iterative estimator stopped short of its tolerance; the message gives the numbers."""


class BoundaryWarning(SapaWarning):
    """An estimate sits at or beyond a plausible boundary; the message names the items concerned."""
