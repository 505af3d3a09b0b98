"""Compute backends of the IRT engine: where E-steps run and how their statistics are summed.

The E-step of marginal maximum likelihood returns statistics that add over persons
(:class:`~sapa.irt._estep.SufficientStats`: expected counts per item × category × node, counts
per group × node, the log-likelihood). A backend decides only where the E-steps of a cycle run
and how the partial statistics are summed; the M-step runs on the sums in the calling process.
Every backend gives the numpy backend's estimates to 1e-6.

* :class:`NumpyBackend` (``backend="numpy"``, the default): blocks of persons in this process.
* :class:`TorchBackend` (``backend="torch"``, extra ``sapa[gpu]``): device-resident int8
  responses and a GEMM-based E-step, on CUDA when present and on the CPU otherwise.
* :class:`DaskBackend` (``backend="dask"``, extra ``sapa[dist]``): partitions held by the
  workers of a Dask cluster; each cycle is a map over the partitions and a sum. With a
  :class:`ResponseDataset` the workers read the Parquet partitions themselves.

Examples
--------
>>> from sapa.irt import IRTModel
>>> from sapa.irt.backends import NumpyBackend
>>> IRTModel(backend=NumpyBackend()).backend.describe()
'numpy'
"""

from sapa.irt.backends._base import (
    BACKEND_NAMES,
    Backend,
    BoundResponses,
    NumpyBackend,
    resolve_backend,
)
from sapa.irt.backends._dask import DaskBackend
from sapa.irt.backends._dataset import ResponseDataset
from sapa.irt.backends._torch import TorchBackend

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BoundResponses",
    "DaskBackend",
    "NumpyBackend",
    "ResponseDataset",
    "TorchBackend",
    "resolve_backend",
]
