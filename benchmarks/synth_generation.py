"""Benchmark: time and peak memory of building the synthetic nation at each scale.

Each scale is generated in a fresh child process (``sapa.synth.generate_nation``, Parquet
files, seed 2025) into a temporary folder; the child's peak resident memory comes from
``getrusage``. Printed as a Markdown table with the machine and the date.

Run, e.g.::

    python benchmarks/synth_generation.py --scales tiny region national
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def _generate(scale: str, out: str, queue: Any) -> None:
    from sapa.synth import generate_nation

    started = time.perf_counter()
    summary = generate_nation(out, scale=scale, seed=2025)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, peak_kib / 1024, summary.rows))


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["tiny", "region"])
    arguments = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    print(f"Machine: {_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"Date: {dt.date.today()}; command: python benchmarks/synth_generation.py "
        f"--scales {' '.join(arguments.scales)}\n"
    )
    print(
        "| scale | schools | pupils | pedagogues | rows in all | seconds | peak MiB | output MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for scale in arguments.scales:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "nation"
            queue = context.Queue()
            child = context.Process(target=_generate, args=(scale, str(out), queue))
            child.start()
            seconds, peak, rows = queue.get()
            child.join()
            print(
                f"| {scale} | {rows['organization']:,} | {rows['student']:,} | "
                f"{rows['teacher']:,} | {sum(rows.values()):,} | {seconds:.1f} | {peak:.0f} | "
                f"{_size_mib(out):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
