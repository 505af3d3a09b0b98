"""The Dask backend: partitions stay on the workers; an EM cycle is a map and a sum.

Each worker holds its partitions (int8 responses, weights, group codes) in memory from the
first read to the end of the fit. An EM cycle broadcasts the current item parameters once,
maps the numpy E-step over the partitions and sums the partial
:class:`~sapa.irt._estep.SufficientStats` (a few hundred KiB each, whatever the partition size)
on the client, which runs the M-step. Nothing of the size of the data crosses the network after
the first read.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sapa.errors import BackendUnavailableError, DataValidationError
from sapa.irt._data import CalibrationData, ResponseSummary
from sapa.irt._estep import Quadrature, SufficientStats, accumulate
from sapa.irt._paramtable import ParameterSpec
from sapa.irt._stderr import crossprod_information
from sapa.irt.backends._base import Backend, BoundResponses
from sapa.irt.backends._dataset import PartitionData, ResponseDataset, load_partition
from sapa.irt.models import ItemBank

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DaskBackend", "DaskResponses"]

_INSTALL = "The dask backend needs Dask's distributed scheduler: pip install 'sapa[dist]'"
#: glibc malloc settings for the worker processes of a local cluster (Dask's
#: ``distributed.nanny.pre-spawn-environ``). Dask's default ``MALLOC_TRIM_THRESHOLD_=65536``
#: returns memory to the system after every E-step block, so each block's 2 MiB work arrays
#: became fresh page-faulting mappings and the E-step ran 1.7× slower in a worker than in one
#: process. Allocations under 64 MiB from the heap, trimmed past 256 MiB free, restore the
#: in-process speed (``docs/scaling.md`` gives the same settings for a cluster of your own).
PRE_SPAWN_ENVIRON = {
    "MALLOC_TRIM_THRESHOLD_": str(1 << 28),
    "MALLOC_MMAP_THRESHOLD_": str(1 << 26),
}


def _require_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise BackendUnavailableError(_INSTALL) from exc
    return distributed


class DaskBackend(Backend):
    """E-steps on the workers of a Dask cluster.

    Parameters
    ----------
    scheduler : str, distributed.Client or None
        Address of a running scheduler (``"tcp://host:8786"``), a connected client (used as it
        is and left open), or None to start a local cluster of worker processes for the fit
        and close it afterwards.
    n_workers : int, optional
        Workers of the local cluster (default: one per CPU); ignored with a scheduler.
    memory_limit : str or int, default "auto"
        Memory limit of each local worker (Dask's ``memory_limit``); ignored with a scheduler.
    partition_rows : int, default 262144
        Most persons in one partition when in-memory responses are sent to the workers (a
        :class:`ResponseDataset` sets its own); at least two partitions per worker are made.

    Raises
    ------
    BackendUnavailableError
        Dask's ``distributed`` package is not installed.

    Notes
    -----
    Every worker runs the numpy E-step over its partitions, one thread each (start workers
    with ``--nthreads 1`` and as many workers as cores: the E-step's BLAS calls are small
    and gain nothing from threads). Per worker, memory is its partitions' int8 responses (one
    byte per person and item) plus a work area of a few MiB; see ``docs/scaling.md``.
    """

    name = "dask"
    keeps_partitions = True

    def __init__(
        self,
        scheduler: str | Client | None = None,
        *,
        n_workers: int | None = None,
        memory_limit: str | int = "auto",
        partition_rows: int = 1 << 18,
    ) -> None:
        _require_distributed()
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.memory_limit = memory_limit
        self.partition_rows = partition_rows

    def describe(self) -> str:
        if self.scheduler is None:
            return "dask (local cluster)"
        if isinstance(self.scheduler, str):
            return f"dask ({self.scheduler})"
        return f"dask ({self.scheduler.scheduler.address})"

    def _connect(self) -> tuple[Client, list[Any]]:
        """A client and what closing it must also close (a client or cluster started here)."""
        distributed = _require_distributed()
        if isinstance(self.scheduler, distributed.Client):
            return self.scheduler, []
        if isinstance(self.scheduler, str):
            client = distributed.Client(self.scheduler)
            return client, [client]
        import dask

        settings = {
            f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in PRE_SPAWN_ENVIRON.items()
        }
        with dask.config.set(settings):
            cluster = distributed.LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=self.memory_limit,
            )
        client = distributed.Client(cluster)
        return client, [client, cluster]

    def bind(self, data: CalibrationData) -> DaskResponses:
        """Split in-memory responses into partitions and send them to the workers."""
        client, owned = self._connect()
        try:
            n_workers = max(1, len(client.scheduler_info()["workers"]))
            n_persons = data.responses.shape[0]
            n_parts = max(2 * n_workers, math.ceil(n_persons / self.partition_rows))
            bounds = np.linspace(0, n_persons, min(n_parts, n_persons) + 1).astype(int)
            parts = [
                CalibrationData(
                    data.responses[start:stop],
                    None if data.weights is None else data.weights[start:stop],
                    None if data.groups is None else data.groups[start:stop],
                )
                for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            futures = client.scatter(parts, hash=False)
        except BaseException:
            _close_all(owned)
            raise
        return DaskResponses(client, futures, owned)

    def open_dataset(self, dataset: ResponseDataset) -> DaskResponses:
        """Have the workers read ``dataset``'s partitions, check them and keep them in memory.

        Returns bound responses whose :attr:`~DaskResponses.summary`, ``item_names`` and
        ``group_labels`` describe the whole dataset.

        Raises
        ------
        DataValidationError
            Every problem found in any partition (file, row, column, reason), or no person
            with a response.
        """
        names, partitions = dataset.plan()
        client, owned = self._connect()
        held: list[Future] = []
        try:
            held = client.map(
                load_partition,
                partitions,
                items=names,
                weight_column=dataset.weight_column,
                group_column=dataset.group_column,
                pure=False,
            )
            described = client.gather(client.map(_describe, held, pure=False))
            problems = [problem for _, _, found in described for problem in found]
            if problems:
                raise DataValidationError(problems)
            summary = functools.reduce(operator.add, [s for s, _, _ in described])
            if summary.n_persons == 0:
                raise DataValidationError(
                    f"{dataset.path} holds no person with a response to the items."
                )
            labels: tuple[str, ...] = ("all",)
            if dataset.group_column is not None:
                labels = tuple(sorted(set().union(*(found for _, found, _ in described))))
            parts = client.map(_encode, held, labels=labels, pure=False)
        except BaseException:
            client.cancel(held)
            _close_all(owned)
            raise
        finally:
            del held
        return DaskResponses(
            client, parts, owned, item_names=names, group_labels=labels, summary=summary
        )


class DaskResponses(BoundResponses):
    """Partitions held by the workers of a Dask cluster (futures of
    :class:`~sapa.irt._data.CalibrationData`)."""

    def __init__(
        self,
        client: Client,
        parts: list[Future],
        owned: list[Any],
        *,
        item_names: tuple[str, ...] = (),
        group_labels: tuple[str, ...] = ("all",),
        summary: ResponseSummary | None = None,
    ) -> None:
        self.client = client
        self.parts = parts
        self._owned = owned
        self.item_names = item_names
        self.group_labels = group_labels
        self.summary = summary

    def accumulate(self, bank: ItemBank, quadrature: Quadrature) -> SufficientStats:
        [shared] = self.client.scatter([(bank, quadrature)], broadcast=True, hash=False)
        partial = self.client.map(_partition_stats, self.parts, params=shared, pure=False)
        return _sum(self.client.gather(partial))

    def crossprod_information(self, spec: ParameterSpec, quadrature: Quadrature) -> np.ndarray:
        [shared] = self.client.scatter([(spec, quadrature)], broadcast=True, hash=False)
        partial = self.client.map(_partition_information, self.parts, params=shared, pure=False)
        return _sum(self.client.gather(partial))

    def recode_groups(self, codes: Sequence[int] | np.ndarray) -> None:
        """Replace each person's group code ``c`` by ``codes[c]`` (on the workers)."""
        table = np.asarray(codes, dtype=np.int64)
        self.parts = self.client.map(_recode, self.parts, codes=table, pure=False)

    def close(self) -> None:
        parts, self.parts = self.parts, []
        if parts and self.client.status == "running":
            self.client.cancel(parts)
        _close_all(self._owned)
        self._owned = []


def _close_all(owned: list[Any]) -> None:
    for resource in owned:
        resource.close()


def _sum(parts: list[Any]) -> Any:
    present = [part for part in parts if part is not None]
    if not present:
        raise ValueError("No persons to accumulate.")
    return functools.reduce(operator.add, present)


# ------------------------------------------------------------------ run on the workers
def _describe(part: PartitionData) -> tuple[ResponseSummary, set[str], tuple[Any, ...]]:
    data = CalibrationData(part.responses, part.weights, None)
    labels = set() if part.groups is None else set(part.groups.tolist())
    return ResponseSummary.of(data), labels, part.problems


def _encode(part: PartitionData, labels: tuple[str, ...]) -> CalibrationData:
    codes = None
    if part.groups is not None:
        lookup = {label: code for code, label in enumerate(labels)}
        codes = np.fromiter((lookup[g] for g in part.groups), np.int64, part.groups.size)
    return CalibrationData(part.responses, part.weights, codes)


def _recode(part: CalibrationData, codes: np.ndarray) -> CalibrationData:
    current = part.groups if part.groups is not None else np.zeros(part.responses.shape[0], int)
    return CalibrationData(part.responses, part.weights, codes[current])


def _partition_stats(
    part: CalibrationData, params: tuple[ItemBank, Quadrature]
) -> SufficientStats | None:
    if part.responses.shape[0] == 0:
        return None
    bank, quadrature = params
    return accumulate(part.responses, part.weights, bank, quadrature, part.groups)


def _partition_information(
    part: CalibrationData, params: tuple[ParameterSpec, Quadrature]
) -> np.ndarray | None:
    if part.responses.shape[0] == 0:
        return None
    spec, quadrature = params
    return crossprod_information(spec, part, quadrature)
