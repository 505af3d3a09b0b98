"""``sapa demo``: a newcomer's tour of Sapa on a synthetic nation it builds itself.

1. Builds the ``region``-scale synthetic nation (≈ 390 schools in all 20 regions, 195,000
   pupils) or reuses the one built earlier with the same scale, seed and version of Sapa.
2. Creates a fresh embedded database, loads the 20 regions and imports every file of the nation
   in one validated transaction, then shows what is stored.
3. Runs the assessment centre's workflow on the grade-4 monitoring, reading its booklets through
   the database's response-file records: calibration per domain with the model of each item
   type, recovery against the known truth, Mantel–Haenszel DIF between Kazakh- and
   Russian-medium pupils (against the planted items), plausible values with a population
   model, and mean scores by region on a reporting scale of mean 500 and SD 100.
4. Writes every result under ``--data-dir`` and, unless ``--no-serve``, serves a results page
   on localhost until interrupted.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select

from sapa._files import atomic_destination
from sapa.cli._data import print_import_report, print_status
from sapa.cli._output import console, database, reported_errors
from sapa.domain.assessment import (
    DEFAULT_IRT_MODEL,
    Administration,
    Item,
    ResponseFile,
    Subject,
)
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Student
from sapa.ingest import import_files, initialise
from sapa.irt.dif import mantel_haenszel
from sapa.irt.estimate import IRTModel
from sapa.irt.plausible import PlausibleValues
from sapa.irt.scales import ProficiencyLevels, ReportingScale
from sapa.irt.score import score
from sapa.store.columnar import read_responses, stack_responses
from sapa.synth import MANIFEST, generate_nation, import_paths

ADMINISTRATION = "MODO4-2025"
"""The administration the tour analyses: grade-4 monitoring of 2025."""

LEVELS = ProficiencyLevels([400, 475, 550, 625], ["below 1", "1", "2", "3", "4"])
"""Illustrative cut scores of the demonstration's reporting scale."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _nation(out: Path, scale: str, seed: int) -> Path:
    """The synthetic nation in ``out``: reused when built with the same settings."""
    manifest = out / MANIFEST
    wanted = {"generator": f"sapa {version('sapa')}", "scale": scale, "seed": seed}
    if manifest.is_file():
        written = json.loads(manifest.read_text(encoding="utf-8"))
        if all(written.get(key) == value for key, value in wanted.items()):
            console.print(f"Reusing the synthetic nation in {out}/ ({scale}, seed {seed}).")
            return out
    with _progress() as bar:
        task = bar.add_task("Building the synthetic nation", total=None)

        def advance(code: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"Built region {code}")

        summary = generate_nation(out, scale=scale, seed=seed, progress=advance)
    console.print(
        f"Built a {scale}-scale synthetic nation (seed {seed}) in {out}/: "
        f"{summary.schools:,} schools, {summary.rows['student']:,} pupils, "
        f"{summary.rows['teacher']:,} pedagogues."
    )
    return out


def _load(engine: Engine, nation: Path) -> None:
    print_import_report(initialise(engine))
    with _progress() as bar:
        task = bar.add_task("Importing", total=None)

        def advance(entity: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"Importing {entity}")

        report = import_files(engine, import_paths(nation), progress=advance)
    print_import_report(report)
    print_status(engine)


def _administration_data(
    engine: Engine, nation: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The administration's stacked responses, its items and its pupils, read through the
    database (response files are checked against their recorded SHA-256)."""
    with engine.connect() as connection:
        files = connection.execute(
            select(ResponseFile.path, ResponseFile.sha256)
            .join(Administration, ResponseFile.administration_id == Administration.id)
            .where(Administration.code == ADMINISTRATION)
            .order_by(ResponseFile.code)
        ).all()
        items = pd.DataFrame(
            connection.execute(
                select(Item.code, Subject.code.label("domain"), Item.item_type)
                .join(Subject, Item.subject_id == Subject.id)
                .where(Item.code.like(f"{ADMINISTRATION.split('-')[0]}-%"))
            ).all(),
            columns=["item", "domain", "item_type"],
        ).set_index("item")
        pupils = pd.DataFrame(
            connection.execute(
                select(
                    Student.code,
                    Student.instruction_language,
                    Region.code,
                    Settlement.locality,
                )
                .join(Organization, Student.organization_id == Organization.id)
                .join(Settlement, Organization.settlement_id == Settlement.id)
                .join(District, Settlement.district_id == District.id)
                .join(Region, District.region_id == Region.id)
                .where(Student.grade == 4)
            ).all(),
            columns=["pupil", "language", "region", "locality"],
        ).set_index("pupil")
    stacked = stack_responses(
        [read_responses(nation / path, expected_sha256=sha) for path, sha in files]
    )
    responses = pd.DataFrame(
        stacked.values, index=list(stacked.person_codes), columns=list(stacked.item_codes)
    )
    return responses, items, pupils.loc[responses.index]


def _assessment_tour(engine: Engine, nation: Path, out: Path, seed: int) -> dict[str, pd.DataFrame]:
    responses, items, pupils = _administration_data(engine, nation)
    truth = pd.read_csv(nation / "truth" / "items.csv")
    kazakh_truth = truth[truth["language"] == "kk"].set_index("item_code")
    planted = set(truth.loc[truth["dif_shift"] != 0, "item_code"])
    console.rule(
        f"Grade 4 monitoring {ADMINISTRATION}: {len(responses):,} pupils, {len(items)} items"
    )
    recovery_rows, dif_tables, results = [], [], {}
    for domain, domain_items in items.groupby("domain", sort=True):
        codes = [c for c in responses.columns if c in domain_items.index]
        data = responses[codes]
        models = [DEFAULT_IRT_MODEL[t] for t in domain_items.loc[codes, "item_type"]]
        model = IRTModel(model=models).fit(data.to_numpy())
        bank = model.item_bank_
        true = kazakh_truth.loc[codes]
        recovery_rows.append(
            (
                domain,
                len(codes),
                model.n_iter_,
                bool(model.converged_),
                float(np.corrcoef(bank.slopes, true["a"])[0, 1]),
            )
        )
        eap = score(bank, data.to_numpy(), method="EAP")
        dif = mantel_haenszel(
            data,
            pupils["language"],
            focal="ru",
            reference="kk",
            matching=np.round(eap.theta * 2) / 2,
        )
        dif_tables.append(dif.table.assign(domain=domain))
        pv = PlausibleValues(n_draws=5, rng=seed).fit(
            bank, data.to_numpy(), background=pupils[["language", "locality"]]
        )
        scale = ReportingScale.from_plausible_values(pv.values_.to_numpy())
        scores = pd.DataFrame(scale.to_scale(pv.values_.to_numpy()), index=pupils.index)
        results[domain] = scores
        model.result_.parameter_table().to_csv(out / f"parameters_{domain}.csv", index=False)

    recovery = pd.DataFrame(
        recovery_rows, columns=["domain", "items", "EM cycles", "converged", "slope r (truth)"]
    )
    dif = pd.concat(dif_tables)
    flagged = ", ".join(sorted(set(dif.index[dif["ets_class"].isin(["B", "C"])]))) or "none"
    planted_here = ", ".join(sorted(planted & set(items.index)))
    regions = _region_table(results["MLIT"], pupils)
    _print_frame(recovery, "Calibration and recovery against the known truth")
    console.print(
        "Mantel–Haenszel DIF, Russian- vs Kazakh-medium pupils: flagged "
        f"{flagged}; planted: {planted_here}."
    )
    _print_frame(regions, "Mathematical literacy by region (plausible values, mean 500 SD 100)")
    tables = {"recovery": recovery, "dif": dif.reset_index(), "regions": regions}
    for name, table in tables.items():
        with atomic_destination(out / f"{name}.csv") as path:
            table.to_csv(path, index=False)
    return tables


def _region_table(scores: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """Mean score and level shares per region, averaged over the plausible values."""
    rows = []
    for region, members in pupils.groupby("region"):
        values = scores.loc[members.index].to_numpy()
        shares = LEVELS.shares_by_pv(values).mean(axis=0)
        rows.append(
            (region, len(members), round(values.mean(), 1), *(round(s * 100) for s in shares))
        )
    columns = ["region", "pupils", "mean", *(f"% level {label}" for label in LEVELS.labels)]
    return pd.DataFrame(rows, columns=columns).sort_values("mean", ascending=False)


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(
            *(f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else str(v) for v in row)
        )
    console.print(table)


def _write_page(out: Path, tables: dict[str, pd.DataFrame]) -> Path:
    sections = "".join(
        f"<h2>{html.escape(name.capitalize())}</h2>"
        + table.to_html(index=False, float_format="%.3f")
        for name, table in tables.items()
    )
    page = out / "index.html"
    with atomic_destination(page) as path:
        path.write_text(
            "<!doctype html><html lang='en'><meta charset='utf-8'><title>Sapa demo</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style>"
            f"<h1>Sapa demonstration: grade 4 monitoring {ADMINISTRATION}</h1>{sections}</html>",
            encoding="utf-8",
        )
    return page


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Folder for the nation, the database and the results.")
    ] = Path("sapa-data/demo"),
    scale: Annotated[str, typer.Option(help="Scale of the synthetic nation.")] = "region",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic nation.")] = 2025,
    serve: Annotated[
        bool, typer.Option(help="Serve the results page on localhost when done.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the results page.")] = 8000,
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
            tables = _assessment_tour(engine, nation, results, seed)
    page = _write_page(results, tables)
    console.rule("Next")
    console.print(
        f"Results: {results}/\nExplore: sapa --database-url sqlite:///{database_file} status",
        highlight=False,
    )
    if serve:
        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(page.parent)
        )
        with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
            console.print(f"Serving the results at http://127.0.0.1:{port}/ (Ctrl-C to stop).")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                console.print("Stopped.")
