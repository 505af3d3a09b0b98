"""The backend seam: where E-steps run and how their statistics are summed.

A :class:`Backend` places a calibration's responses where it computes (:meth:`Backend.bind`)
and returns a :class:`BoundResponses`. Each EM cycle then asks the bound responses for the
summed :class:`~sapa.irt._estep.SufficientStats` at the current parameters; the M-step and
everything else in ``IRTModel.fit`` stay on the caller's side and do not depend on the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar

import numpy as np

from sapa.irt._data import CalibrationData
from sapa.irt._estep import Quadrature, SufficientStats, accumulate
from sapa.irt._paramtable import ParameterSpec
from sapa.irt._stderr import crossprod_information
from sapa.irt.models import ItemBank

__all__ = ["BACKEND_NAMES", "Backend", "BoundResponses", "NumpyBackend", "resolve_backend"]

#: Names ``IRTModel(backend=...)`` accepts; each maps to a backend with default settings.
BACKEND_NAMES = frozenset({"numpy", "torch", "dask"})


class BoundResponses(ABC):
    """Responses placed by a backend; sums E-step statistics over all persons on request.

    Use as a context manager, or call :meth:`close`, to release what the backend holds
    (device memory, partitions on workers, a cluster it started).
    """

    @abstractmethod
    def accumulate(self, bank: ItemBank, quadrature: Quadrature) -> SufficientStats:
        """The E-step at ``bank`` over every person, summed (what :func:`accumulate` returns
        for the whole in-memory matrix)."""

    @abstractmethod
    def crossprod_information(self, spec: ParameterSpec, quadrature: Quadrature) -> np.ndarray:
        """The cross-product information ``Σ_i w_i s_i s_iᵀ`` over every person, summed."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release what the backend holds for these responses."""

    def __enter__(self) -> BoundResponses:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Backend(ABC):
    """Where the E-steps of a calibration run.

    Subclasses set :attr:`name` and implement :meth:`bind`. :attr:`keeps_partitions` is true for
    a backend that can calibrate a :class:`~sapa.irt.backends.ResponseDataset` without the
    caller ever holding the whole matrix (it implements ``open_dataset``).
    """

    name: ClassVar[str]
    keeps_partitions: ClassVar[bool] = False

    @abstractmethod
    def bind(self, data: CalibrationData) -> BoundResponses:
        """Place validated in-memory responses where this backend computes."""

    def describe(self) -> str:
        """A short description for run records, e.g. ``"torch (cuda:0, float64)"``."""
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


class LocalResponses(BoundResponses):
    """In-memory responses summed block by block in this process (the numpy E-step)."""

    def __init__(self, data: CalibrationData) -> None:
        self.data = data

    def accumulate(self, bank: ItemBank, quadrature: Quadrature) -> SufficientStats:
        data = self.data
        return accumulate(data.responses, data.weights, bank, quadrature, data.groups)

    def crossprod_information(self, spec: ParameterSpec, quadrature: Quadrature) -> np.ndarray:
        return crossprod_information(spec, self.data, quadrature)


class NumpyBackend(Backend):
    """The default: numpy E-steps over blocks of about 4,000 persons, in this process.

    Peak memory is the int8 response matrix plus a fixed work area of a few MiB.
    """

    name = "numpy"

    def bind(self, data: CalibrationData) -> BoundResponses:
        return LocalResponses(data)


def resolve_backend(backend: str | Backend) -> Backend:
    """A :class:`Backend` from a name in :data:`BACKEND_NAMES` (default settings) or itself.

    Raises
    ------
    BackendUnavailableError
        ``"torch"`` or ``"dask"`` without its optional extra installed.
    """
    if isinstance(backend, Backend):
        return backend
    if backend == "torch":
        from sapa.irt.backends._torch import TorchBackend

        return TorchBackend()
    if backend == "dask":
        from sapa.irt.backends._dask import DaskBackend

        return DaskBackend()
    return NumpyBackend()
