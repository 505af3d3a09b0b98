"""Sapa: a national system for assessing the quality of education.

Sub-packages (see ``docs/architecture.md``): ``domain`` (data model), ``store`` (database and
columnar data), ``ingest`` (validated import/export), ``irt`` (psychometrics), ``cli``.
"""

from sapa.errors import (
    AccessDeniedError,
    BackendUnavailableError,
    ConvergenceWarning,
    DataValidationError,
    ModelSpecError,
    NotFittedError,
    SapaError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "BackendUnavailableError",
    "ConvergenceWarning",
    "DataValidationError",
    "ModelSpecError",
    "NotFittedError",
    "SapaError",
    "__version__",
]
