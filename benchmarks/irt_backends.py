"""Benchmark: the IRT engine's compute backends (numpy, torch, Dask) on 2PL calibration.

Three measurements, each printed as Markdown with the machine, versions and date:

``torch``
    PyTorch (on its default device: CUDA when present, else the CPU) against numpy on the same
    in-memory matrix: one E-step at the generating parameters (median of ``--repeats``), the
    M-step on its statistics, and a whole fit to convergence (``IRTModel``, standard errors
    off), with the largest difference of the estimates from numpy's. Also float32 against
    float64: how far float32 moves the estimates.
``dask``
    The matrix written as a Parquet dataset in Sapa's response layout; a local cluster of
    ``--workers`` worker processes (one thread each, ``--memory-limit`` each) reads it in
    partitions and keeps them. Reported: the read, one E-step (map over partitions and sum), a
    whole fit to convergence, each worker's peak resident memory, and the same fit with
    numpy in this process; then the fixed cost of a cycle (a dataset of ``--workers × 4``
    partitions of 250 persons).
``scaling``
    Dask E-step per cycle and the read for several ``--sizes``, against numpy, and the
    per-person cost those give for the model of ``docs/scaling.md``.

Data: ``--items`` 2PL items, a ~ U(0.7, 2), b ~ N(0, 1), θ ~ N(0, 1), complete responses
(``--missing`` for a share missing at random), seed 2024.

Run, e.g.::

    python benchmarks/irt_backends.py torch --persons 1000000 --items 100
    python benchmarks/irt_backends.py dask --persons 1000000 --items 100 --workers 2
    python benchmarks/irt_backends.py scaling --sizes 250000 1000000 4000000

``--threads`` (default 1) sets BLAS, OpenMP and torch threads in this process and the workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

N_QUAD = 61
TOLERANCE = 1e-4


def simulate(n_persons: int, n_items: int, missing: float, seed: int = 2024) -> Any:
    """int8 responses (−1 missing) and the generating bank."""
    import numpy as np

    from sapa.irt.models import ItemBank

    rng = np.random.default_rng(seed)
    a = rng.uniform(0.7, 2.0, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    responses = np.empty((n_persons, n_items), dtype=np.int8)
    for start in range(0, n_persons, 100_000):
        theta = rng.standard_normal(min(100_000, n_persons - start))[:, None]
        p = 1.0 / (1.0 + np.exp(-a * (theta - b)))
        responses[start : start + theta.shape[0]] = rng.random(p.shape) < p
    if missing:
        responses[rng.random(responses.shape) < missing] = -1
    return responses, ItemBank.from_irt(a=a, b=b)


def write_dataset(folder: Path, responses: Any, names: tuple[str, ...], rows: int) -> float:
    """The matrix as one Parquet file in Sapa's response layout, row groups of ``rows``."""
    from sapa.store.columnar import ResponseWriter

    started = time.perf_counter()
    with ResponseWriter(folder / "responses.parquet", names) as writer:
        for start in range(0, responses.shape[0], rows):
            stop = min(start + rows, responses.shape[0])
            writer.append([f"P{i:09d}" for i in range(start, stop)], responses[start:stop])
    return time.perf_counter() - started


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def header(title: str, args: argparse.Namespace) -> None:
    import numpy as np

    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for module in ("torch", "dask", "distributed"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            pass
    print(f"## {title}")
    print(f"# {dt.datetime.now():%Y-%m-%d %H:%M} — {cpu()}, nproc {os.cpu_count()}")
    print(f"# {', '.join(versions)}; threads per process {args.threads}")
    print(f"# 2PL, {args.items} items, {N_QUAD} nodes, tol {TOLERANCE}, missing {args.missing:.0%}")


def cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fit(responses: Any, backend: Any) -> tuple[Any, float]:
    from sapa.irt import IRTModel

    model = IRTModel(n_quad=N_QUAD, tol=TOLERANCE, se_method=None, backend=backend)
    return timed(lambda: model.fit(responses))


def m_step_seconds(model: Any, responses: Any, repeats: int) -> float:
    """The M-step on the statistics at the estimates (the host-side work of every cycle)."""
    from sapa.irt._estep import accumulate
    from sapa.irt._mstep import m_step

    spec = model.result_._spec
    quadrature = spec.quadrature(N_QUAD, 6.0)
    stats = accumulate(responses, None, spec.bank(), quadrature)
    return median_seconds(lambda: m_step(spec, stats, quadrature.nodes), repeats)


def run_torch(args: argparse.Namespace) -> None:
    import numpy as np

    from sapa.irt._data import CalibrationData
    from sapa.irt._estep import Quadrature
    from sapa.irt.backends import NumpyBackend, TorchBackend

    header("torch against numpy", args)
    responses, bank = simulate(args.persons, args.items, args.missing)
    data = CalibrationData(responses, None, None)
    quadrature = Quadrature.normal(N_QUAD, 6.0, [0.0], [1.0])
    backends = {"numpy": NumpyBackend(), "torch": TorchBackend()}
    print(f"# torch device: {backends['torch'].device}")
    print("| backend | E-step s | fit s | EM cycles | s per cycle | max abs diff from numpy |")
    print("|---|---|---|---|---|---|")
    fitted = {}
    for name, backend in backends.items():
        bound, bind_seconds = timed(lambda backend=backend: backend.bind(data))
        with bound:
            e_step = median_seconds(lambda b=bound: b.accumulate(bank, quadrature), args.repeats)
        model, seconds = fit(responses, backend)
        fitted[name] = model
        diff = np.abs(model.result_.params - fitted["numpy"].result_.params).max()
        print(
            f"| {name} | {e_step:.3f} | {seconds:.2f} | {model.n_iter_} | "
            f"{seconds / (model.n_iter_ + 1):.3f} | {diff:.1e} |",
            flush=True,
        )
    print(f"# M-step (host, numpy): {m_step_seconds(fitted['numpy'], responses, 3):.4f} s a cycle")
    single, seconds = fit(responses, TorchBackend(dtype="float32"))
    diff = np.abs(single.result_.params - fitted["numpy"].result_.params).max()
    loglik = single.result_.loglik - fitted["numpy"].result_.loglik
    print(
        f"# float32: fit {seconds:.2f} s, {single.n_iter_} cycles, max |Δ estimate| {diff:.1e}, "
        f"Δ loglik {loglik:+.3f}"
    )


def start_cluster(args: argparse.Namespace) -> tuple[Any, Any, float]:
    """A local cluster as ``DaskBackend`` starts one (its malloc settings), sized by ``args``."""
    import dask
    from distributed import Client, LocalCluster

    from sapa.irt.backends._dask import PRE_SPAWN_ENVIRON

    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in PRE_SPAWN_ENVIRON.items()}
    started = time.perf_counter()
    with dask.config.set(environ):
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit=args.memory_limit,
        )
    client = Client(cluster)
    return cluster, client, time.perf_counter() - started


def _set_threads(threads: int) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def _worker_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dask_cycle(client: Any, folder: Path, bank: Any, rows: int, repeats: int) -> tuple:
    """Read time, median E-step time and partitions of the dataset in ``folder``."""
    from sapa.irt._estep import Quadrature
    from sapa.irt.backends import DaskBackend, ResponseDataset

    quadrature = Quadrature.normal(N_QUAD, 6.0, [0.0], [1.0])
    dataset = ResponseDataset(folder, partition_rows=rows)
    bound, read = timed(lambda: DaskBackend(client).open_dataset(dataset))
    with bound:
        cycle = median_seconds(lambda: bound.accumulate(bank, quadrature), repeats)
        return read, cycle, len(bound.parts)


def run_dask(args: argparse.Namespace) -> None:
    import numpy as np

    from sapa.irt.backends import DaskBackend, NumpyBackend, ResponseDataset

    header(f"Dask ({args.workers} workers × 1 thread, memory limit {args.memory_limit})", args)
    responses, bank = simulate(args.persons, args.items, args.missing)
    cluster, client, startup = start_cluster(args)
    try:
        with tempfile.TemporaryDirectory() as folder:
            written = write_dataset(Path(folder), responses, bank.names, args.partition_rows)
            size = sum(p.stat().st_size for p in Path(folder).iterdir()) / 2**20
            print(
                f"# cluster start {startup:.1f} s; Parquet written in {written:.1f} s, "
                f"{size:.0f} MiB"
            )
            read, cycle, parts = dask_cycle(client, Path(folder), bank, args.partition_rows, 5)
            dataset = ResponseDataset(folder, partition_rows=args.partition_rows)
            model, seconds = fit(dataset, DaskBackend(client))
            peaks = client.run(_worker_peak_mib)
        reference, numpy_seconds = fit(responses, NumpyBackend())
        from sapa.irt._data import CalibrationData
        from sapa.irt._estep import Quadrature

        quadrature = Quadrature.normal(N_QUAD, 6.0, [0.0], [1.0])
        with NumpyBackend().bind(CalibrationData(responses, None, None)) as bound:
            numpy_cycle = median_seconds(lambda: bound.accumulate(bank, quadrature), 5)
        diff = np.abs(model.result_.params - reference.result_.params).max()
        print("| run | read s | E-step s | fit s | EM cycles | max worker peak MiB |")
        print("|---|---|---|---|---|---|")
        print(
            f"| dask, {parts} partitions | {read:.2f} | {cycle:.3f} | {seconds:.2f} | "
            f"{model.n_iter_} | {max(peaks.values()):.0f} |"
        )
        print(
            f"| numpy in one process | – | {numpy_cycle:.3f} | {numpy_seconds:.2f} | "
            f"{reference.n_iter_} | – |"
        )
        print(
            f"# max |Δ estimate| dask − numpy: {diff:.1e}; fit time ratio dask/numpy "
            f"{seconds / numpy_seconds:.2f}"
        )
        tiny, _ = simulate(250 * 4 * args.workers, args.items, 0.0)
        with tempfile.TemporaryDirectory() as folder:
            write_dataset(Path(folder), tiny, bank.names, 250)
            _, fixed, parts = dask_cycle(client, Path(folder), bank, 250, 20)
        print(f"# fixed cost of a cycle ({parts} partitions of 250 persons): {fixed * 1000:.0f} ms")
    finally:
        client.close()
        cluster.close()


def run_scaling(args: argparse.Namespace) -> None:
    from sapa.irt._data import CalibrationData
    from sapa.irt._estep import Quadrature
    from sapa.irt.backends import NumpyBackend

    header(f"Scaling: Dask {args.workers} workers against numpy", args)
    cluster, client, _ = start_cluster(args)
    quadrature = Quadrature.normal(N_QUAD, 6.0, [0.0], [1.0])
    print("| persons | partitions | read s | dask E-step s | numpy E-step s | worker peak MiB |")
    print("|---|---|---|---|---|---|")
    try:
        for n_persons in args.sizes:
            responses, bank = simulate(n_persons, args.items, args.missing)
            with NumpyBackend().bind(CalibrationData(responses, None, None)) as bound:
                numpy_cycle = median_seconds(lambda b=bound, k=bank: b.accumulate(k, quadrature), 3)
            with tempfile.TemporaryDirectory() as folder:
                write_dataset(Path(folder), responses, bank.names, args.partition_rows)
                del responses
                read, cycle, parts = dask_cycle(client, Path(folder), bank, args.partition_rows, 3)
            peak = max(client.run(_worker_peak_mib).values())
            print(
                f"| {n_persons:,} | {parts} | {read:.2f} | {cycle:.3f} | {numpy_cycle:.3f} | "
                f"{peak:.0f} |",
                flush=True,
            )
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["torch", "dask", "scaling"])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--missing", type=float, default=0.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--partition-rows", type=int, default=125_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)  # read when BLAS loads; workers inherit them
    _set_threads(args.threads)
    {"torch": run_torch, "dask": run_dask, "scaling": run_scaling}[args.what](args)


if __name__ == "__main__":
    main()
