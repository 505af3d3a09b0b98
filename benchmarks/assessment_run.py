"""Benchmark: the whole ``sapa assess`` run, stage by stage, on an imported synthetic nation.

Prepare the database once (the national nation takes about half an hour to import on two
cores; each region is imported on its own so memory stays bounded)::

    sapa synth --scale national --out nation
    sapa --database-url sqlite:///national.sqlite init
    sapa --database-url sqlite:///national.sqlite import nation/nation
    for r in nation/regions/*; do sapa --database-url sqlite:///national.sqlite import $r; done

then run::

    python benchmarks/assessment_run.py --database-url sqlite:///national.sqlite --data-dir nation

Prints a Markdown table of each stage's wall time and the process's peak resident memory at
its end, with the machine, the command and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from sapa.domain.people import Student, Teacher
from sapa.pipeline import RunSettings, run_assessment
from sapa.store import make_engine


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--year", type=int, default=2025)
    arguments = parser.parse_args()
    engine = make_engine(arguments.database_url)
    with engine.connect() as connection:
        pupils = connection.scalar(select(func.count()).select_from(Student))
        teachers = connection.scalar(select(func.count()).select_from(Teacher))
    started = time.perf_counter()
    summary = run_assessment(engine, RunSettings(year=arguments.year, data_dir=arguments.data_dir))
    total = time.perf_counter() - started
    print(f"Machine: {_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Date: {dt.date.today()}; command: python {' '.join(sys.argv)}")
    print(f"Data: {pupils:,} pupils, {teachers:,} pedagogues; run {summary.code}\n")
    print("| stage | seconds | peak MiB at its end |")
    print("|---|---|---|")
    for timing in summary.timings:
        print(f"| {timing.stage} | {timing.seconds:.1f} | {timing.peak_mib:.0f} |")
    print(f"| **whole run** | **{total:.1f}** | |")
    print(
        f"\n{summary.indicator_rows:,} indicator values and {summary.flags:,} support flags "
        "written."
    )


if __name__ == "__main__":
    main()
