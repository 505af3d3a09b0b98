"""Benchmark: the web application under concurrent users, on loopback.

The application is served by uvicorn in a child process (``--workers`` processes) on the database
given on the command line. Three benchmark accounts are created on first use (a ministry account,
a region account and a school account of that region; password :data:`PASSWORD`), then
``--users`` simulated users, dealt out over the three accounts in turn, each sign in once and
cycle through their role's dashboard pages (the overview, a region, a district, a school, the
area pages, the API's indicators, the workflows' overview and some workflows' case lists) for
``--duration`` seconds or until ``--requests`` requests have been answered, each user waiting
for one answer before asking the next and then, with ``--think``, for a random pause
(exponential, that mean in seconds; none by default, so every user is a person clicking through
the dashboard without pause).

Prints a Markdown table of every page's requests, errors (any status but 200) and the latency
percentiles of its answered (200) requests, and the throughput, with the machine, the command
and the date.

Run, on an assessed database at the current schema (``sapa init`` upgrades it)::

    python benchmarks/web_load.py --database-url sqlite:///national.sqlite --users 50
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx2 as httpx
import numpy as np
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from sapa.domain.access import UserAccount
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization, OrganizationKind
from sapa.store import make_engine
from sapa.synth import REFERENCE_DATE
from sapa.web import add_user, create_app
from sapa.web.labels import AREAS

WORKFLOW_PAGES = {
    "bench-ministry": ("instruction", "construction", "contest"),
    "bench-region": ("attestation", "instruction", "incident", "parent_appeal"),
    "bench-school": ("attestation", "development", "council_meeting"),
}
"""The workflow pages each account opens (the lists of cases with their filters)."""
PASSWORD = "benchmark load password"
ACCOUNTS = ("bench-ministry", "bench-region", "bench-school")


def app_factory() -> FastAPI:
    """The application each uvicorn worker builds (on ``SAPA_DATABASE_URL``, plain HTTP), on
    the synthetic nation's date."""
    return create_app(
        make_engine(os.environ["SAPA_DATABASE_URL"]), secure_cookies=False, as_of=REFERENCE_DATE
    )


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@dataclass(frozen=True)
class Places:
    """The region, district and school the benchmark accounts look at."""

    region: str
    district: str
    school: str
    schools_in_region: int


def _places(engine: Engine) -> Places:
    """The region with the most schools, its district with the most schools, and that
    district's largest school: the heaviest pages of each level."""
    schools = (
        select(Region.code, District.code, Organization.code, Organization.enrolment)
        .join(Settlement, Organization.settlement_id == Settlement.id)
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(Organization.kind == OrganizationKind.GENERAL_SECONDARY)
    )
    with engine.connect() as connection:
        rows = connection.execute(schools).all()
    per_region: dict[str, int] = defaultdict(int)
    per_district: dict[str, int] = defaultdict(int)
    for region, district, _, _ in rows:
        per_region[region] += 1
        per_district[district] += 1
    region = max(per_region, key=lambda code: (per_region[code], code))
    district = max(
        {d for r, d, _, _ in rows if r == region}, key=lambda code: (per_district[code], code)
    )
    school = max(
        (row for row in rows if row[1] == district), key=lambda row: (row[3] or 0, row[2])
    )[2]
    return Places(region, district, school, per_region[region])


def _accounts(engine: Engine, places: Places) -> None:
    """Creates the benchmark accounts unless they exist."""
    scopes = {
        "bench-ministry": ("ministry", None),
        "bench-region": ("region", places.region),
        "bench-school": ("school", places.school),
    }
    with engine.connect() as connection:
        existing = set(
            connection.scalars(
                select(UserAccount.username).where(UserAccount.username.in_(ACCOUNTS))
            )
        )
    for username, (role, scope) in scopes.items():
        if username not in existing:
            add_user(engine, username, PASSWORD, role, scope_code=scope, language="en")


def _pages(account: str, places: Places) -> list[tuple[str, str]]:
    """(label, path) of the pages a user of the account clicks through, in order."""
    region, district, school = places.region, places.district, places.school
    areas = list(AREAS)
    if account == "bench-ministry":
        home = [("/nation", "/nation")]
        units = [("region", region), ("district", district), ("school", school)]
        area_base, api = "/nation/KZ", "level=region&indicator=composite.index"
    elif account == "bench-region":
        home = []
        units = [("region", region), ("district", district), ("school", school)]
        area_base, api = f"/region/{region}", "level=school&indicator=composite.index"
    else:
        home = []
        units = [("school", school)]
        area_base, api = f"/school/{school}", f"unit={school}"
    pages = home + [(f"/{level}/…", f"/{level}/{code}") for level, code in units]
    pages += [(f"{area_base.split('/')[1]} area pages", f"{area_base}/area/{a}") for a in areas]
    pages.append(("API indicators", f"/api/v1/runs/latest/indicators?{api}"))
    pages.append(("workflows overview", "/workflows"))
    pages += [("workflow pages", f"/workflows/{name}") for name in WORKFLOW_PAGES[account]]
    return pages


async def _sign_in(client: httpx.AsyncClient, username: str) -> None:
    form = await client.get("/login")
    form.raise_for_status()
    response = await client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": client.cookies.get("sapa_login_csrf", ""),
            "next": "/",
        },
    )
    if response.status_code != 303:
        raise RuntimeError(f"Sign-in of {username} failed: {response.status_code}")


@dataclass
class Sample:
    account: str
    label: str
    seconds: float
    status: int
    failure: str = ""
    """The exception of a request that got no answer."""


@dataclass
class Run:
    """What the simulated users share: the start signal, the end, the request budget, the
    number signed in and the samples."""

    go: asyncio.Event
    stop_at: float = float("inf")
    budget: int = 0
    signed_in: int = 0
    samples: list[Sample] = field(default_factory=list)


async def _user(
    base: str,
    account: str,
    pages: list[tuple[str, str]],
    run: Run,
    think: float,
    rng: random.Random,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(300.0)) as client:
        await _sign_in(client, account)
        run.signed_in += 1
        await run.go.wait()
        if think > 0:  # users arrive spread out, not all on the same instant
            await asyncio.sleep(rng.uniform(0, think))
        index = rng.randrange(len(pages))
        while time.perf_counter() < run.stop_at and run.budget > 0:
            run.budget -= 1
            label, path = pages[index % len(pages)]
            index += 1
            began = time.perf_counter()
            try:
                response = await client.get(path)
                status, failure = response.status_code, ""
            except httpx.HTTPError as exc:
                status, failure = 0, type(exc).__name__
            seconds = time.perf_counter() - began
            run.samples.append(Sample(account, label, seconds, status, failure))
            if think > 0:
                await asyncio.sleep(rng.expovariate(1 / think))


async def _load(
    base: str,
    places: Places,
    arguments: argparse.Namespace,
) -> tuple[list[Sample], float, float]:
    """Signs every user in, then lets them loose; returns the samples, the seconds of load
    and the seconds the sign-ins took."""
    users, requests = arguments.users, arguments.requests
    run = Run(go=asyncio.Event(), budget=requests)
    tasks = []
    began = time.perf_counter()
    for number in range(users):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        pages = _pages(account, places)
        rng = random.Random(arguments.seed + number)
        user = _user(base, account, pages, run, arguments.think, rng)
        tasks.append(asyncio.create_task(user))
    while run.signed_in < users:
        for task in tasks:
            if task.done() and task.exception() is not None:
                raise RuntimeError("A simulated user failed to sign in.") from task.exception()
        await asyncio.sleep(0.05)
    signing_in = time.perf_counter() - began
    started = time.perf_counter()
    run.stop_at = started + arguments.duration
    run.go.set()
    await asyncio.gather(*tasks)
    return run.samples, time.perf_counter() - started, signing_in


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, workers: int, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """uvicorn in a child process, its log (info level, no access log) written to ``log``."""
    environment = os.environ | {"SAPA_DATABASE_URL": url, "SAPA_SECURE_COOKIES": "false"}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "web_load:app_factory",
        "--factory",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def _server_problems(log: str) -> str:
    """Workers the supervisor killed for missing its health check, and the exceptions of the
    server errors, counted from the server's log."""
    killed = len(re.findall(r"Child process \[\d+\] died", log))
    errors: dict[str, int] = defaultdict(int)
    for match in re.finditer(
        r"Exception in ASGI application.*?\n(\w[\w.]*(?:Error|Exception)[^\n]*)", log, re.S
    ):
        errors[match.group(1)[:100]] += 1
    shown = "; ".join(f"{n:,} × {text}" for text, n in sorted(errors.items(), key=lambda e: -e[1]))
    return f"workers killed by uvicorn's health check: {killed}; server errors: {shown or 'none'}"


def _wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/login", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"The application did not answer on {base} within {timeout:.0f} s")


def _percentiles(samples: list[Sample]) -> str:
    """p50, p95, p99 and max of the answered (200) requests, in milliseconds."""
    answered = np.array([sample.seconds for sample in samples if sample.status == 200]) * 1000
    if answered.size == 0:
        return "– | – | – | –"
    p50, p95, p99 = np.percentile(answered, [50, 95, 99])
    return f"{p50:.0f} | {p95:.0f} | {p99:.0f} | {answered.max():.0f}"


def _table(samples: list[Sample], places: Places) -> list[str]:
    """One row per account and page, in the order the users click through them."""
    order: dict[tuple[str, str], int] = {}
    for account in ACCOUNTS:
        for label, _ in _pages(account, places):
            order.setdefault((account, label), len(order))
    by_page: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        by_page[(sample.account, sample.label)].append(sample)
    lines = [
        "| account | page | requests | errors | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (account, label), group in sorted(by_page.items(), key=lambda item: order[item[0]]):
        errors = sum(sample.status != 200 for sample in group)
        lines.append(
            f"| {account.removeprefix('bench-')} | {label} | {len(group):,} | {errors} | "
            f"{_percentiles(group)} |"
        )
    errors = sum(sample.status != 200 for sample in samples)
    lines.append(f"| **all** | | **{len(samples):,}** | **{errors}** | {_percentiles(samples)} |")
    return lines


def _statuses(samples: list[Sample]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for sample in samples:
        counts[str(sample.status) if sample.status else f"no answer ({sample.failure})"] += 1
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--requests", type=int, default=10**9, help="stop after this many")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean seconds between a user's requests"
    )
    parser.add_argument("--seed", type=int, default=2025)
    arguments = parser.parse_args()
    engine = make_engine(arguments.database_url)
    places = _places(engine)
    _accounts(engine, places)
    with engine.connect() as connection:
        schools = connection.scalar(
            select(func.count())
            .select_from(Organization)
            .where(Organization.kind == OrganizationKind.GENERAL_SECONDARY)
        )
    engine.dispose()
    port = arguments.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = _serve(arguments.database_url, arguments.workers, port, log)
        try:
            _wait_until_up(base, server)
            samples, seconds, sign_in = asyncio.run(_load(base, places, arguments))
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        problems = _server_problems(log.read().decode("utf-8", "replace"))
    command = " ".join(sys.argv).replace(
        arguments.database_url, re.sub(r"//[^@/]*@", "//", arguments.database_url)
    )  # no password in the output
    print(f"Machine: {_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Date: {dt.date.today()}; command: python {command}")
    print(
        f"Data: {schools:,} schools; region {places.region} ({places.schools_in_region:,} "
        f"schools), district {places.district}, school {places.school}"
    )
    print(
        f"{arguments.users} users on {arguments.workers} uvicorn workers; sign-in of all users "
        f"{sign_in:.1f} s (not counted); {seconds:.1f} s of load\n"
    )
    print("\n".join(_table(samples, places)))
    answered = sum(sample.status == 200 for sample in samples)
    print(
        f"\nThroughput: {len(samples) / seconds:.1f} requests/s ({answered / seconds:.1f} "
        f"answered with 200) over {seconds:.1f} s. Statuses: {_statuses(samples)}."
    )
    print(f"Server: {problems}.")


if __name__ == "__main__":
    main()
