"""The PyTorch backend: device-resident responses and a GEMM-based E-step per chunk of persons.

The responses are copied to the device once, as int8 (one byte per person and item). Each E-step
then runs on the device, chunk by chunk, with the same algebra as the numpy E-step
(:func:`~sapa.irt._estep.likelihood_rows`):

1. the chunk's design: category indicators ``1(x = k)`` for ``k ≥ 1`` side by side, the
   observed mask when a response is missing, and a column of ones (kept on the device between
   cycles on CUDA when it fits, see ``cache_design``);
2. ``log L + log π = design·rows + bias``: one GEMM (for Rasch/2PL items a GEMV for the
   weighted scores ``Σ_j a_j x_ij``, ``Σ_j d_j x_ij`` and a rank-2 update instead);
3. the posterior by one fused ``softmax`` over the nodes, and each person's marginal
   log-likelihood as ``log_joint − log post`` at the middle node (no second pass over the
   nodes × persons array; ``logsumexp`` only for a person whose posterior there underflows);
4. ``postᵀ·design``: one GEMM giving every expected count ``r_jkq`` and, from the ones column,
   the posterior mass at each node.

Only the summed statistics (items × categories × nodes, a few hundred KiB) come back to the host,
where the M-step runs. See ``docs/scaling.md`` for the cost model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sapa._validation import validate_params
from sapa.errors import BackendUnavailableError
from sapa.irt._data import CalibrationData
from sapa.irt._estep import Quadrature, SufficientStats, _Kernel, likelihood_rows
from sapa.irt._paramtable import ParameterSpec
from sapa.irt._stderr import crossprod_information
from sapa.irt.backends._base import Backend, BoundResponses
from sapa.irt.models import ItemBank

__all__ = ["TorchBackend", "TorchResponses"]

_INSTALL = "The torch backend needs PyTorch: pip install 'sapa[gpu]'"
#: Work cells (persons × max(design width, nodes)) of one chunk on a GPU: 2**26 float64 cells
#: are 512 MiB, enough to keep the device busy with few kernel launches per cycle.
_GPU_CHUNK_CELLS = 1 << 26
#: Work cells of one chunk on the CPU: 8 MiB of float64, 8,192 persons for 100 items (measured
#: faster, with torch's per-call costs, than numpy's 2**18-cell blocks or 4× larger chunks).
_CPU_CHUNK_CELLS = 1 << 20
#: Share of the device's free memory the cached design may take.
_CACHE_SHARE = 0.5


def _require_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError(_INSTALL) from exc
    return torch


class TorchBackend(Backend):
    """E-steps with PyTorch, on a CUDA device when there is one and on the CPU otherwise.

    Parameters
    ----------
    device : str, optional
        A torch device (``"cuda"``, ``"cuda:1"``, ``"cpu"``); default ``"cuda"`` when
        ``torch.cuda.is_available()``, else ``"cpu"``.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the E-step. float64 gives the numpy backend's estimates to 1e-6;
        float32 does not (measured: ``BENCHMARKS.md``) and is offered for exploration only.
    chunk_persons : int, optional
        Persons per chunk; default ``2**20`` work cells on the CPU (8,192 persons for 100
        items) and ``2**26`` on a GPU.
    cache_design : bool, optional
        Keep each chunk's indicator design on the device between EM cycles instead of
        rebuilding it from the int8 responses every cycle. Default: on CUDA when the design
        takes at most half the free device memory; never on the CPU.

    Raises
    ------
    BackendUnavailableError
        PyTorch is not installed, or a CUDA device was asked for and none is available.
    InvalidParameterError
        ``dtype`` or ``chunk_persons`` is out of range.
    """

    name = "torch"

    _parameter_constraints: dict[str, Any] = {
        "dtype": [{"float64", "float32"}],
        "chunk_persons": [int, None],
        "cache_design": [bool, None],
    }

    def __init__(
        self,
        device: str | None = None,
        *,
        dtype: str = "float64",
        chunk_persons: int | None = None,
        cache_design: bool | None = None,
    ) -> None:
        torch = _require_torch()
        validate_params(
            type(self).__name__,
            self._parameter_constraints,
            {"dtype": dtype, "chunk_persons": chunk_persons, "cache_design": cache_design},
        )
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        resolved = torch.device(device)
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError(
                f"The torch backend was asked for device {device!r}, but PyTorch sees no CUDA "
                "device (torch.cuda.is_available() is False); use device='cpu' or a CUDA build "
                "of PyTorch."
            )
        self.device = str(resolved)
        self.dtype = dtype
        self.chunk_persons = chunk_persons
        self.cache_design = cache_design

    def describe(self) -> str:
        return f"torch ({self.device}, {self.dtype})"

    def bind(self, data: CalibrationData) -> TorchResponses:
        """Copy the responses (int8), weights and group codes to the device."""
        return TorchResponses(data, self)


@dataclass
class _Chunk:
    start: int
    stop: int
    has_missing: bool
    design: Any = None


@dataclass(frozen=True)
class _CycleTables:
    """One E-step's tables on the device, for chunks with or without missing responses."""

    rows: Any
    first: int
    n_indicator_rows: int
    bias: Any
    coefficients: Any


class TorchResponses(BoundResponses):
    """Responses resident on a torch device."""

    def __init__(self, data: CalibrationData, backend: TorchBackend) -> None:
        torch = _require_torch()
        self._torch = torch
        self.device = torch.device(backend.device)
        self.dtype = getattr(torch, backend.dtype)
        self.data = data
        n_persons, self.n_items = data.responses.shape
        self.responses = torch.from_numpy(np.ascontiguousarray(data.responses)).to(self.device)
        self.weights = (
            None
            if data.weights is None
            else torch.from_numpy(data.weights).to(self.device, self.dtype)
        )
        self.groups = None if data.groups is None else torch.from_numpy(data.groups).to(self.device)
        size = backend.chunk_persons
        if size is None:
            if self.device.type == "cuda":
                size = max(256, _GPU_CHUNK_CELLS // max(self.n_items, 64))
            else:
                size = max(256, _CPU_CHUNK_CELLS // max(self.n_items, 64))
        self.chunks = []
        for start in range(0, n_persons, size):
            stop = min(start + size, n_persons)
            missing = bool((self.responses[start:stop] < 0).any())
            self.chunks.append(_Chunk(start, stop, missing))
        self.cache_design = backend.cache_design
        self._cached_upper: int | None = None

    # ------------------------------------------------------------------ design
    def _want_cache(self, n_upper: int) -> bool:
        if self.cache_design is not None:
            return self.cache_design
        if self.device.type != "cuda":
            return False
        itemsize = self._torch.empty((), dtype=self.dtype).element_size()
        cells = sum(
            (c.stop - c.start) * ((n_upper + int(c.has_missing)) * self.n_items + 1)
            for c in self.chunks
        )
        free, _ = self._torch.cuda.mem_get_info(self.device)
        return cells * itemsize <= _CACHE_SHARE * free

    def _design(self, chunk: _Chunk, n_upper: int, cache: bool) -> Any:
        """``[1(x = 1) … 1(x = K−1) | 1(x ≥ 0) if missing | 1]``, persons × columns."""
        if chunk.design is not None:
            return chunk.design
        torch = self._torch
        x = self.responses[chunk.start : chunk.stop]
        n_items = self.n_items
        width = (n_upper + int(chunk.has_missing)) * n_items
        design = torch.empty((x.shape[0], width + 1), dtype=self.dtype, device=self.device)
        for k in range(1, n_upper + 1):
            design[:, (k - 1) * n_items : k * n_items] = x == k
        if chunk.has_missing:
            design[:, width - n_items : width] = x >= 0
        design[:, width] = 1.0
        if cache:
            chunk.design = design
        return design

    def _tables(self, kernel: _Kernel, quadrature: Quadrature, has_missing: bool) -> _CycleTables:
        torch = self._torch
        n_upper = kernel.tables.shape[0] - 1
        rows, first, constant = likelihood_rows(kernel, n_upper, has_missing)
        n_indicator_rows = (n_upper + int(has_missing)) * self.n_items - first
        bias = np.zeros(quadrature.nodes.size) if constant is None else constant.copy()
        coefficients = None
        if kernel.linear is not None:
            bias += rows[n_indicator_rows + 2]
            coefficients = torch.as_tensor(
                kernel.linear.coefficients, dtype=self.dtype, device=self.device
            )
        if self.groups is None or quadrature.n_groups == 1:
            bias = bias + quadrature.log_weights[0]
        return _CycleTables(
            rows=torch.as_tensor(rows, dtype=self.dtype, device=self.device),
            first=first,
            n_indicator_rows=n_indicator_rows,
            bias=torch.as_tensor(bias, dtype=self.dtype, device=self.device),
            coefficients=coefficients,
        )

    # ------------------------------------------------------------------ E-step
    def accumulate(self, bank: ItemBank, quadrature: Quadrature) -> SufficientStats:
        torch = self._torch
        kernel = _Kernel.of(bank, quadrature)
        n_upper = kernel.tables.shape[0] - 1
        if self._cached_upper != n_upper:
            for chunk in self.chunks:
                chunk.design = None
            self._cached_upper = n_upper
        cache = self._want_cache(n_upper)
        n_items, n_quad = self.n_items, quadrature.nodes.size
        tables = {
            missing: self._tables(kernel, quadrature, missing)
            for missing in {c.has_missing for c in self.chunks}
        }
        per_person_prior = self.groups is not None and quadrature.n_groups > 1
        middle = n_quad // 2
        log_prior = torch.as_tensor(quadrature.log_weights, dtype=self.dtype, device=self.device)
        upper = torch.zeros((n_quad, n_upper * n_items), dtype=self.dtype, device=self.device)
        total = torch.zeros((n_quad, n_items), dtype=self.dtype, device=self.device)
        counts = torch.zeros((quadrature.n_groups, n_quad), dtype=self.dtype, device=self.device)
        loglik = torch.zeros((), dtype=torch.float64, device=self.device)
        for chunk in self.chunks:
            design = self._design(chunk, n_upper, cache)
            table = tables[chunk.has_missing]
            n = chunk.stop - chunk.start
            if table.n_indicator_rows:
                log_joint = torch.addmm(
                    table.bias,
                    design[:, table.first : table.first + table.n_indicator_rows],
                    table.rows[: table.n_indicator_rows],
                )
            else:
                log_joint = table.bias.expand(n, n_quad).clone()
            if table.coefficients is not None:
                scores = design[:, :n_items] @ table.coefficients
                at = table.n_indicator_rows
                log_joint.addmm_(scores, table.rows[at : at + 2])
            groups = None if self.groups is None else self.groups[chunk.start : chunk.stop]
            if per_person_prior:
                log_joint += log_prior[groups]
            post = torch.softmax(log_joint, dim=1)
            person_loglik = log_joint[:, middle] - torch.log(post[:, middle])
            underflow = ~torch.isfinite(person_loglik)
            if bool(underflow.any()):
                person_loglik[underflow] = torch.logsumexp(log_joint[underflow], dim=1)
            del log_joint
            if self.weights is not None:
                weights = self.weights[chunk.start : chunk.stop]
                post.mul_(weights[:, None])
                loglik += person_loglik.double() @ weights.double()
            else:
                loglik += person_loglik.double().sum()
            products = post.T @ design
            upper += products[:, : n_upper * n_items]
            column_total = products[:, -1]
            if chunk.has_missing:
                total += products[:, n_upper * n_items : -1]
            else:
                total += column_total[:, None]
            if per_person_prior:
                counts.index_add_(0, groups, post)
            else:
                counts[0] += column_total
        upper_r = upper.reshape(n_quad, n_upper, n_items).permute(2, 1, 0)
        first_r = total.T - upper_r.sum(dim=1)
        r = torch.cat([first_r[:, None, :], upper_r], dim=1)
        return SufficientStats(
            r=r.to("cpu", torch.float64).numpy(),
            n=counts.to("cpu", torch.float64).numpy(),
            loglik=float(loglik.item()),
        )

    def crossprod_information(self, spec: ParameterSpec, quadrature: Quadrature) -> np.ndarray:
        """On the host, from the in-memory responses (the numpy computation)."""
        return crossprod_information(spec, self.data, quadrature)

    def close(self) -> None:
        for chunk in self.chunks:
            chunk.design = None
        self.responses = self.weights = self.groups = None
