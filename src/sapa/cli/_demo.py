"""``sapa demo``: a newcomer's tour of Sapa on a synthetic nation it builds itself.

1. Builds the ``region``-scale synthetic nation (≈ 390 schools in all 20 regions, 195,000
   pupils) or reuses the one built earlier with the same scale, seed and version of Sapa.
2. Creates a fresh embedded database, loads the 20 regions and imports every file of the nation
   in one validated transaction, then shows what is stored.
3. Runs the national quality assessment of the year on it (``sapa assess``): calibration and
   plausible values per domain, outcome indicators with their uncertainty, the teachers',
   conditions', welfare and leadership indicators, the composite index with rank intervals and
   the schools needing support. Because the data are synthetic, it also shows the calibration
   against the known truth and the items planted with DIF beside those flagged.
4. Writes the tables under ``--data-dir``, creates one account of the web application per
   role (ministry, region, district, school, teacher, analyst, auditor) with a fresh random
   password each, prints them and, unless ``--no-serve``, serves the dashboard on localhost
   until interrupted.
"""

from __future__ import annotations

import json
import secrets
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
import uvicorn
from rich.table import Table
from sqlalchemy import Engine

from sapa._files import atomic_destination
from sapa.cli._assess import print_run
from sapa.cli._data import print_import_report, print_status
from sapa.cli._output import console, database, progress_bar, reported_errors
from sapa.cli._synth import build_nation
from sapa.domain.access import Role
from sapa.ingest import import_files, initialise, read_entity
from sapa.pipeline import RunSettings, RunSummary, run_assessment
from sapa.synth import MANIFEST, REFERENCE_DATE, import_paths
from sapa.web import add_user, create_app
from sapa.web.access import DataAccess, Principal
from sapa.web.casework import CaseAccess


def _nation(out: Path, scale: str, seed: int) -> Path:
    """The synthetic nation in ``out``: reused when built with the same settings."""
    manifest = out / MANIFEST
    wanted = {"generator": f"sapa {version('sapa')}", "scale": scale, "seed": seed}
    if manifest.is_file():
        written = json.loads(manifest.read_text(encoding="utf-8"))
        if all(written.get(key) == value for key, value in wanted.items()):
            console.print(f"Reusing the synthetic nation in {out}/ ({scale}, seed {seed}).")
            return out
    summary = build_nation(out, scale=scale, seed=seed)
    console.print(
        f"Built a {scale}-scale synthetic nation (seed {seed}) in {out}/: "
        f"{summary.schools:,} schools, {summary.rows['student']:,} pupils, "
        f"{summary.rows['teacher']:,} pedagogues."
    )
    return out


def _load(engine: Engine, nation: Path) -> None:
    print_import_report(initialise(engine))
    with progress_bar() as bar:
        task = bar.add_task("Importing", total=None)

        def advance(entity: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"Importing {entity}")

        report = import_files(engine, import_paths(nation), progress=advance)
    print_import_report(report)
    print_status(engine)


def _recovery(summary: RunSummary, truth: pd.DataFrame) -> pd.DataFrame:
    """Per administration and domain: the slopes and difficulties estimated by the run against
    the synthetic truth (Kazakh versions; the metric differs by a linear map, so correlations)."""
    kazakh = truth[truth["language"] == "kk"].set_index("item_code")
    rows = []
    for result in summary.domains:
        bank = result.model.item_bank_
        true = kazakh.loc[list(bank.names)]
        rows.append(
            (
                result.administration,
                result.domain,
                bank.n_items,
                result.model.n_iter_,
                bool(result.model.converged_),
                float(np.corrcoef(bank.slopes, true["a"])[0, 1]),
            )
        )
    return pd.DataFrame(
        rows, columns=["administration", "domain", "items", "EM cycles", "converged", "slope r"]
    )


def _regions(summary: RunSummary, indicator: str) -> pd.DataFrame:
    """The indicator by region with its 95% interval, best first."""
    values = summary.values
    rows = values[
        (values["indicator"] == indicator)
        & (values["level"] == "region")
        & (values["subgroup"] == "all")
    ]
    table = rows[["unit", "value", "ci_low", "ci_high", "n"]].rename(
        columns={"unit": "region", "value": "mean", "n": "pupils"}
    )
    return table.sort_values("mean", ascending=False).round(1)


def _print_value_added(summary: RunSummary, nation: Path) -> None:
    """How the run's value-added of grade-9 mathematics matches the schools' true effects."""
    values = summary.values
    rows = values[
        (values["indicator"] == "value_added.MLIT9")
        & (values["level"] == "school")
        & values["value"].notna()
    ].set_index("unit")
    if rows.empty:
        return
    truth = pd.read_csv(nation / "truth" / "schools.csv").set_index("code")
    effect = (truth["quality"] + truth["region_shift"]).loc[rows.index]
    # Value-added is relative to the nation: centre the truth on the modelled pupils' schools.
    effect -= np.average(effect, weights=rows["n"])
    scale = np.polyfit(effect, rows["value"], 1)[0]
    inside = ((rows["ci_low"] <= scale * effect) & (scale * effect <= rows["ci_high"])).mean()
    console.print(
        f"Value-added, grade 9 mathematical literacy ({len(rows)} schools): correlation with "
        f"the true school effects {np.corrcoef(effect, rows['value'])[0, 1]:.2f}; "
        f"{inside:.0%} of the (rescaled) true effects inside their 95% intervals.",
        highlight=False,
    )


def _rank_intervals(summary: RunSummary) -> pd.DataFrame:
    """Schools by median rank of the composite index, with the 5th–95th percentile interval."""
    values = summary.values
    ranks = values[(values["indicator"] == "composite.rank") & values["value"].notna()]
    table = ranks[["unit", "value", "ci_low", "ci_high"]].rename(
        columns={"unit": "school", "value": "median rank", "ci_low": "from", "ci_high": "to"}
    )
    return table.sort_values("median rank").astype({"median rank": int, "from": int, "to": int})


def _assessment(engine: Engine, nation: Path, out: Path, year: int) -> None:
    console.rule(f"The national quality assessment of {year}")
    summary = run_assessment(
        engine,
        RunSettings(year=year, data_dir=nation),
        report=lambda stage: console.print(f"… {stage}", highlight=False),
    )
    print_run(summary)
    truth = pd.read_csv(nation / "truth" / "items.csv")
    planted = set(truth.loc[truth["dif_shift"] != 0, "item_code"])
    recovery = _recovery(summary, truth)
    _print_frame(recovery, "Calibration against the synthetic truth (slope correlation)")
    dif = pd.concat([result.dif for result in summary.domains])
    flagged = set(dif.index[dif["ets_class"].isin(["B", "C"])])
    tested = set(dif.index)
    console.print(
        "Mantel–Haenszel DIF, Russian- vs Kazakh-medium pupils: flagged "
        f"{', '.join(sorted(flagged)) or 'none'}; planted: {', '.join(sorted(planted & tested))}.",
        highlight=False,
    )
    _print_value_added(summary, nation)
    regions = _regions(summary, "outcomes.mean.MLIT4")
    _print_frame(regions, "Grade 4 mathematical literacy by region (mean 500, SD 100; 95% CI)")
    ranks = _rank_intervals(summary)
    _print_frame(
        pd.concat([ranks.head(5), ranks.tail(5)]),
        f"School quality index: rank intervals of the first and last five of {len(ranks)} schools",
    )
    reasons = summary.flag_table.groupby(["level", "reason"]).size().rename("units").reset_index()
    _print_frame(reasons, "Needs support: schools and districts flagged, by reason")
    tables = {
        "recovery": recovery,
        "dif": dif.reset_index(),
        "regions": regions,
        "ranks": ranks,
        "flags": summary.flag_table,
    }
    for name, table in tables.items():
        with atomic_destination(out / f"{name}.csv") as path:
            table.to_csv(path, index=False)


def _casework(engine: Engine) -> pd.DataFrame:
    """Cases open, overdue and closed in each workflow, nationally, on the nation's date."""
    with engine.connect() as connection:
        principal = Principal("demo", "demo", Role.MINISTRY, "en")
        summary = CaseAccess(DataAccess(connection, principal), REFERENCE_DATE).summary()
    return summary[["workflow", "open", "overdue", "closed"]]


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(
            *(f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else str(v) for v in row)
        )
    console.print(table)


def _accounts(engine: Engine) -> pd.DataFrame:
    """One account per role, scoped to the first school of the data and its district and
    region, each with a fresh random password."""
    schools = read_entity(engine, "organization")
    district = read_entity(engine, "settlement").set_index("code")["district_code"]
    region = read_entity(engine, "district").set_index("code")["region_code"]
    teachers = read_entity(engine, "teacher")
    school = schools["code"].iloc[0]
    place = {
        "region": region[district[schools["settlement_code"].iloc[0]]],
        "district": district[schools["settlement_code"].iloc[0]],
        "school": school,
        "teacher": teachers.loc[teachers["organization_code"] == school, "code"].iloc[0],
    }
    rows = []
    for role in Role:
        name, password = role.value, secrets.token_urlsafe(9)
        add_user(engine, name, password, name, scope_code=place.get(name), language="kk")
        rows.append({"name": name, "password": password, "scope": place.get(name, "KZ")})
    return pd.DataFrame(rows)


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Folder for the nation, the database and the results.")
    ] = Path("sapa-data/demo"),
    scale: Annotated[str, typer.Option(help="Scale of the synthetic nation.")] = "region",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic nation.")] = 2025,
    serve: Annotated[bool, typer.Option(help="Serve the dashboard on localhost when done.")] = True,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8000,
) -> None:
    """Build a synthetic nation, import it and run the assessment workflow on it."""
    database_file = data_dir / "sapa.sqlite"
    results = data_dir / "assessment"
    with reported_errors():
        nation = _nation(data_dir / "nation", scale, seed)
        database_file.unlink(missing_ok=True)
        with database(f"sqlite:///{database_file.resolve()}") as engine:
            console.rule("Database: the 20 regions and every file of the nation")
            _load(engine, nation)
            results.mkdir(parents=True, exist_ok=True)
            _assessment(engine, nation, results, REFERENCE_DATE.year)
            accounts = _accounts(engine)
            casework = _casework(engine)
    _print_frame(casework, f"Workflows as of {REFERENCE_DATE}, the date of the synthetic nation")
    console.rule("Next")
    console.print(
        f"Results: {results}/\nExplore: sapa --database-url sqlite:///{database_file} status",
        highlight=False,
    )
    _print_frame(accounts, "Dashboard accounts (one per role; the passwords are new every run)")
    if serve:
        with database(f"sqlite:///{database_file.resolve()}") as engine:
            console.print(
                f"Dashboard: http://127.0.0.1:{port}/ — sign in with an account above "
                "(Ctrl-C to stop).",
                highlight=False,
            )
            uvicorn.run(
                create_app(engine, secure_cookies=False, as_of=REFERENCE_DATE),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
