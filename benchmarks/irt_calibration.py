"""Benchmark: 2PL calibration by MML-EM — Sapa against mirt (PyPI) and girth on the same data.

Every run simulates the same data from a seed (40 items, a ~ U(0.7, 2), b ~ N(0, 1), θ ~ N(0, 1),
optionally a share of responses missing at random), fits it in a fresh child process and reports

* wall time of the fit (data simulation excluded),
* the marginal log-likelihood of each tool's estimates, all evaluated by Sapa's E-step with the
  same 61-node quadrature (so the numbers are comparable; the difference to Sapa's own maximum
  shows how far a tool stopped from it),
* RMSE of a and b against the generating values (logistic metric, D = 1),
* peak resident memory of the child above its level before the fit.

Run, e.g.::

    python benchmarks/irt_calibration.py --sizes 20000 200000
    python benchmarks/irt_calibration.py --sizes 20000 --missing 0 --tools sapa mirt

``--threads`` (default 1) sets OpenBLAS and Rayon threads for every tool: on a shared machine
multithreaded BLAS oversubscribes the cores. Ratios are only meaningful within one run.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import platform
import resource
import tempfile
import time
from typing import Any

N_ITEMS = 40
N_QUAD = 61
TOLERANCE = 1e-4


def simulate(n_persons: int, missing: float, seed: int) -> dict[str, Any]:
    """Generating parameters and int8 responses (−1 missing) for one benchmark cell."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rng.uniform(0.7, 2.0, N_ITEMS)
    b = rng.normal(0.0, 1.0, N_ITEMS)
    theta = rng.standard_normal(n_persons)
    responses = np.empty((n_persons, N_ITEMS), dtype=np.int8)
    for start in range(0, n_persons, 100_000):
        block = theta[start : start + 100_000, None]
        p = 1.0 / (1.0 + np.exp(-a * (block - b)))
        responses[start : start + 100_000] = rng.random(p.shape) < p
    if missing:
        responses[rng.random(responses.shape) < missing] = -1
    return {"a": a, "b": b, "responses": responses}


def _fit_sapa(responses: Any) -> tuple[Any, Any, int]:
    from sapa.irt.estimate import IRTModel

    model = IRTModel(model="2PL", n_quad=N_QUAD, tol=TOLERANCE, se_method=None).fit(responses)
    bank = model.item_bank_
    return bank.slopes, -bank.intercepts[:, 0] / bank.slopes, model.n_iter_


def _fit_mirt(responses: Any) -> tuple[Any, Any, int]:
    import mirt

    result = mirt.fit_mirt(
        responses.astype(int),
        model="2PL",
        n_quadpts=N_QUAD,
        tol=TOLERANCE,
        compute_standard_errors=False,
    )
    coef = result.coef()
    return coef["discrimination"].to_numpy(), coef["difficulty"].to_numpy(), result.n_iterations


def _fit_girth(responses: Any) -> tuple[Any, Any, int]:
    import girth
    import numpy as np

    dataset = np.where(responses < 0, 2, responses).astype(np.int64).T
    if (responses < 0).any():
        dataset = girth.tag_missing_data(dataset, [0, 1])
    options = {"quadrature_n": N_QUAD, "quadrature_bounds": (-6.0, 6.0)}
    result = girth.twopl_mml(dataset, options)
    return result["Discrimination"], result["Difficulty"], -1


FITTERS = {"sapa": _fit_sapa, "mirt": _fit_mirt, "girth": _fit_girth}
IMPORTS = {"sapa": "sapa.irt.estimate", "mirt": "mirt", "girth": "girth"}


def _marginal_loglik(responses: Any, a: Any, b: Any) -> float:
    from sapa.irt._estep import Quadrature, accumulate
    from sapa.irt.models import ItemBank

    bank = ItemBank.from_irt(a=a, b=b)
    quadrature = Quadrature.normal(N_QUAD, 6.0, [0.0], [1.0])
    return accumulate(responses, None, bank, quadrature).loglik


def _child(tool: str, data_file: str, queue: Any) -> None:
    import numpy as np

    importlib.import_module(IMPORTS[tool])  # imports are not part of the fit's time or memory
    with np.load(data_file) as stored:
        data = {name: stored[name] for name in stored.files}
    n_persons, missing = data["responses"].shape[0], float(data["missing"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    a, b, n_iter = FITTERS[tool](data["responses"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "tool": tool,
            "n": n_persons,
            "missing": missing,
            "seconds": seconds,
            "iterations": n_iter,
            "loglik": _marginal_loglik(data["responses"], np.asarray(a), np.asarray(b)),
            "rmse_a": float(np.sqrt(np.mean((np.asarray(a) - data["a"]) ** 2))),
            "rmse_b": float(np.sqrt(np.mean((np.asarray(b) - data["b"]) ** 2))),
            "peak_mib": max(peak - before, 0) / 1024,
            "data_mib": data["responses"].nbytes / 2**20,
        }
    )


def run_cell(tool: str, data_file: str) -> dict[str, Any]:
    """One fit in a fresh process that loads the saved data, so that its peak resident memory
    above the loaded data is the fit's own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(tool, data_file, queue))
    process.start()
    process.join()  # the result is a small dict: the queue's pipe cannot fill up
    if process.exitcode != 0:
        raise RuntimeError(f"{tool} failed on {data_file}")
    return queue.get(timeout=10)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, nproc {os.cpu_count()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--missing", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument("--tools", nargs="+", default=["sapa", "mirt", "girth"], choices=FITTERS)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    import numpy as np  # after the thread settings, which BLAS reads when it loads

    print(f"# {time.strftime('%Y-%m-%d %H:%M')} — {machine()}, threads per tool {args.threads}")
    print(f"# 2PL, {N_ITEMS} items, {N_QUAD} quadrature nodes, tolerance {TOLERANCE}", flush=True)
    header = "| N | missing | tool | seconds | × Sapa | EM cycles | logLik | Δ logLik | "
    header += "RMSE a | RMSE b | peak MiB (data MiB) |"
    print(header)
    print("|" + "---|" * 11)
    for n_persons in args.sizes:
        for missing in args.missing:
            data = simulate(n_persons, missing, args.seed)
            with tempfile.TemporaryDirectory() as folder:
                data_file = os.path.join(folder, "data.npz")
                np.savez(data_file, missing=missing, **data)
                del data
                rows = [run_cell(tool, data_file) for tool in args.tools]
            reference = next((row for row in rows if row["tool"] == "sapa"), rows[0])
            for row in rows:
                print(
                    f"| {n_persons:,} | {missing:.0%} | {row['tool']} | {row['seconds']:.2f} | "
                    f"{row['seconds'] / reference['seconds']:.1f} | {row['iterations']} | "
                    f"{row['loglik']:.2f} | {row['loglik'] - reference['loglik']:+.3f} | "
                    f"{row['rmse_a']:.4f} | {row['rmse_b']:.4f} | "
                    f"{row['peak_mib']:.0f} ({row['data_mib']:.1f}) |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
