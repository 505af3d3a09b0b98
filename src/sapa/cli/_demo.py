"""``sapa demo``: a newcomer's tour of what Sapa does, on data it builds itself.

It creates a fresh embedded database, loads the 20 regions and the sample dataset of every entity,
shows what is stored, and then runs the assessment centre's workflow on a simulated grade-4
mathematics monitoring with known truth: calibration with a booklet design, classical item
statistics, DIF between Kazakh- and Russian-medium pupils, scoring, plausible values with a
population model, a reporting scale of mean 500 and SD 100, and proficiency levels. Every result
is written under ``--data-dir`` so it can be opened afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from sapa._files import atomic_destination
from sapa.cli._data import print_import_report, print_status
from sapa.cli._output import console, database, reported_errors
from sapa.ingest import import_files, initialise
from sapa.irt.ctt import cronbach_alpha
from sapa.irt.dif import mantel_haenszel
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank
from sapa.irt.plausible import PlausibleValues
from sapa.irt.scales import ProficiencyLevels, ReportingScale
from sapa.irt.score import score
from sapa.irt.simulate import simulate_responses

LEVELS = ProficiencyLevels([400, 475, 550, 625], ["below 1", "1", "2", "3", "4"])
"""Illustrative cut scores of the demonstration's reporting scale."""


@dataclass(frozen=True)
class SimulatedMonitoring:
    """A simulated grade-4 mathematics monitoring with its known truth."""

    bank: ItemBank
    responses: pd.DataFrame
    pupils: pd.DataFrame
    dif_items: tuple[str, ...]


def simulate_monitoring(n_pupils: int, seed: int) -> SimulatedMonitoring:
    """24 items (16 2PL, 4 3PL, 4 three-category partial-credit) in two booklets sharing 8
    items; Kazakh-medium pupils 0.2 SD above Russian-medium ones; two items 0.8 logits harder in
    the Russian version (planted DIF); 3% omissions."""
    rng = np.random.default_rng(seed)
    names = [f"M{j + 1:02d}" for j in range(24)]
    models = ["2PL"] * 16 + ["3PL"] * 4 + ["GPCM"] * 4
    a = rng.uniform(0.7, 1.8, 24)
    b = rng.uniform(-1.5, 1.5, 24)
    dif_items = ("M03", "M07")

    def version(shift: np.ndarray) -> ItemBank:
        location = b + shift
        polytomous = np.array([m == "GPCM" for m in models])
        steps = np.column_stack(
            [
                np.where(polytomous, location - 0.6, location),
                np.where(polytomous, location + 0.6, np.nan),
            ]
        )
        return ItemBank.from_irt(
            a=a,
            b=steps,
            g=[0.2 if m == "3PL" else 0.0 for m in models],
            models=models,
            names=names,
        )

    kazakh = version(np.zeros(24))
    russian = version(np.where(np.isin(names, dif_items), 0.8, 0.0))
    language = np.where(rng.random(n_pupils) < 0.65, "kk", "ru")
    theta = rng.normal(np.where(language == "kk", 0.1, -0.1), 1.0)
    booklet = rng.integers(0, 2, n_pupils)
    presented = np.zeros((n_pupils, 24), dtype=bool)
    presented[booklet == 0, :16] = True
    presented[booklet == 1, 8:] = True
    responses = np.empty((n_pupils, 24), dtype=np.int8)
    for bank, rows in ((kazakh, language == "kk"), (russian, language == "ru")):
        responses[rows] = simulate_responses(
            bank, theta[rows], rng=rng, missing=0.03, presented=presented[rows]
        )
    pupils = pd.DataFrame(
        {
            "pupil": [f"P{i:05d}" for i in range(n_pupils)],
            "language": language,
            "booklet": np.where(booklet == 0, "A", "B"),
            "true_theta": theta,
        }
    )
    return SimulatedMonitoring(kazakh, pd.DataFrame(responses, columns=names), pupils, dif_items)


def _assessment_tour(out: Path, n_pupils: int, seed: int) -> None:
    data = simulate_monitoring(n_pupils, seed)
    console.rule("Grade 4 mathematics monitoring (simulated, known truth)")
    console.print(
        f"{n_pupils:,} pupils, 24 items in two booklets, "
        f"{(data.responses.to_numpy() < 0).mean():.0%} of cells not presented or omitted."
    )

    for booklet, items in (("A", slice(0, 16)), ("B", slice(8, 24))):
        rows = (data.pupils["booklet"] == booklet).to_numpy()
        alpha = cronbach_alpha(data.responses.iloc[rows, items], ci="feldt")
        console.print(
            f"Booklet {booklet}: Cronbach's alpha {alpha.alpha:.3f} "
            f"(95% CI {alpha.ci_low:.3f}–{alpha.ci_high:.3f})"
        )

    model = IRTModel(model=list(data.bank.models), se_method="crossprod").fit(data.responses)
    estimated = model.item_bank_
    slope_rmse = float(np.sqrt(np.mean((estimated.slopes - data.bank.slopes) ** 2)))
    console.print(
        f"Calibration: {model.n_iter_} EM cycles, converged={bool(model.converged_)}, "
        f"logLik={model.result_.loglik:.1f}; slope RMSE against the truth {slope_rmse:.3f}."
    )

    theta = data.pupils["true_theta"].to_numpy()
    eap = score(estimated, data.responses.to_numpy(), method="EAP")
    console.print(f"EAP scores correlate {np.corrcoef(eap.theta, theta)[0, 1]:.3f} with the truth.")

    matching = np.round(eap.theta * 2) / 2
    dif = mantel_haenszel(
        data.responses, data.pupils["language"], focal="ru", reference="kk", matching=matching
    )
    flagged = dif.table[dif.table["ets_class"].isin(["B", "C"])]
    console.print(
        "Mantel–Haenszel DIF, Russian- vs Kazakh-medium (matched on EAP): flagged "
        f"{', '.join(flagged.index) or 'none'}; planted: {', '.join(data.dif_items)}."
    )

    pv = PlausibleValues(n_draws=5, rng=seed).fit(
        estimated, data.responses.to_numpy(), background=data.pupils[["language"]]
    )
    scale = ReportingScale.from_plausible_values(pv.values_.to_numpy())
    scores = scale.to_scale(pv.values_.to_numpy())
    table = Table(title="Reporting scale (mean 500, SD 100) by language of instruction")
    for header in ("language", "pupils", "mean (PV)", *LEVELS.labels):
        table.add_column(header, justify="right")
    for language in ("kk", "ru"):
        rows = (data.pupils["language"] == language).to_numpy()
        shares = LEVELS.shares_by_pv(scores[rows]).mean(axis=0)
        table.add_row(
            language,
            f"{rows.sum():,}",
            f"{scores[rows].mean():.1f}",
            *(f"{share:.0%}" for share in shares),
        )
    console.print(table)

    results = data.pupils.assign(eap=eap.theta, eap_se=eap.se).join(
        pd.DataFrame(scores, columns=pv.values_.columns)
    )
    with atomic_destination(out / "parameters.csv") as path:
        model.result_.parameter_table().to_csv(path, index=False)
    with atomic_destination(out / "dif_language.csv") as path:
        dif.table.to_csv(path)
    with atomic_destination(out / "scores.parquet") as path:
        results.to_parquet(path, index=False)
    with atomic_destination(out / "responses.csv") as path:
        data.responses.assign(pupil=data.pupils["pupil"]).to_csv(path, index=False)
    console.print(f"Results written to {out}/ (parameters, DIF, scores, responses).")


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Folder for the demonstration database and results.")
    ] = Path("sapa-data/demo"),
    sample: Annotated[Path, typer.Option(help="Folder of sample files, one per entity.")] = Path(
        "examples/sample"
    ),
    pupils: Annotated[int, typer.Option(help="Simulated pupils in the assessment.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 2024,
) -> None:
    """Build a demonstration database and run the assessment workflow on simulated data."""
    database_file = data_dir / "sapa.sqlite"
    database_file.unlink(missing_ok=True)
    with reported_errors(), database(f"sqlite:///{database_file.resolve()}") as engine:
        console.rule("Database: the 20 regions and a sample of every entity")
        print_import_report(initialise(engine))
        print_import_report(import_files(engine, [sample]))
        print_status(engine)
    _assessment_tour(data_dir / "assessment", pupils, seed)
    console.rule("Next")
    console.print(
        f"Explore: sapa --database-url sqlite:///{database_file} status\n"
        f"         sapa irt calibrate {data_dir}/assessment/responses.csv --model GPCM "
        f"--id-column pupil --out {data_dir}/assessment/gpcm.csv",
        highlight=False,
    )
