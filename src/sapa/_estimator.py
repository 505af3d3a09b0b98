"""The one behaviour every Sapa estimator shares: fitted attributes exist only after ``fit``."""

from __future__ import annotations

from typing import Any

from sapa.errors import NotFittedError


class Estimator:
    """Base of the sklearn-style estimators (constructor stores arguments, ``fit`` sets
    attributes ending in ``_``): asking for a fitted attribute before ``fit`` raises
    :class:`~sapa.errors.NotFittedError` instead of a bare ``AttributeError``."""

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' before "
                f"using '{name}'."
            )
        raise AttributeError(name)
