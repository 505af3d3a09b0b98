"""``sapa irt``: calibrate, score, DIF and linking on response files.

Response files are CSV or Parquet, one row per person and one column per item holding integer
scores ``0..K-1``; an empty cell, NaN or ``-1`` is a missing / not-presented response.
``calibrate`` also takes a folder of Parquet files in Sapa's response-file layout (one int8 column
per item, e.g. one file per booklet), and ``--backend`` chooses where its E-steps run: ``numpy``,
``torch`` (a GPU when present) or ``dask`` (``--scheduler`` names a cluster; without it a local
one is started). With ``dask`` a Parquet input is read by the workers, in partitions, and never
whole by this process. The defaults come from the settings ``SAPA_COMPUTE_BACKEND`` and
``SAPA_DASK_SCHEDULER``. Optional
columns name the person (``--id-column``) and the group (``--group-column``); ``--items`` picks the
item columns (default: every other column).

Item parameters travel between commands as the calibration's *parameter table* (columns
``item, model, parameter, value, lower, upper, estimate, prior, prior_1, prior_2``; slope–intercept
form, D = 1): ``calibrate`` writes it, ``score`` and ``link`` read it, ``link`` writes the source
table moved to the target scale, and ``calibrate --anchors`` fixes anchor items at its values.

Exit codes: 0 success; 1 input refused (a table of file, row, column and reason is printed);
2 usage error.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, cast

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from sapa._files import atomic_destination
from sapa.cli._output import EXIT_CODES_HELP, ExitCode, console, errors, reported_errors
from sapa.config import get_settings
from sapa.errors import BackendUnavailableError, DataValidationError, ModelSpecError, Problem
from sapa.irt._paramtable import ParameterSpec
from sapa.irt.backends import Backend, DaskBackend, ResponseDataset
from sapa.irt.dif import logistic_dif, mantel_haenszel
from sapa.irt.estimate import IRTModel
from sapa.irt.linking import compare_linking_methods, fixed_item_table, link
from sapa.irt.models import ItemBank
from sapa.irt.scales import ReportingScale
from sapa.irt.score import score as score_persons

__all__ = ["app"]

app = typer.Typer(
    help="Item response theory: calibrate items, score persons, DIF and linking.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

SUFFIXES = (".csv", ".parquet")


class ModelChoice(enum.StrEnum):
    RASCH = "Rasch"
    TWO_PL = "2PL"
    THREE_PL = "3PL"
    GRM = "GRM"
    GPCM = "GPCM"
    PCM = "PCM"


class BackendChoice(enum.StrEnum):
    NUMPY = "numpy"
    TORCH = "torch"
    DASK = "dask"


class ScoreMethod(enum.StrEnum):
    EAP = "EAP"
    MAP = "MAP"
    ML = "ML"
    WLE = "WLE"


class DIFMethod(enum.StrEnum):
    MH = "mh"
    LOGISTIC = "logistic"


class LinkMethod(enum.StrEnum):
    MEAN_MEAN = "mean-mean"
    MEAN_SIGMA = "mean-sigma"
    HAEBARA = "haebara"
    STOCKING_LORD = "stocking-lord"
    ALL = "all"


@dataclass(frozen=True)
class ResponseFile:
    """Validated content of a response file."""

    responses: pd.DataFrame  # int8 scores, -1 missing, columns = items
    ids: pd.Index
    groups: pd.Series | None


@contextmanager
def _reported() -> Iterator[None]:
    """Sapa's errors as readable reports with exit code 1; library warnings as notices."""
    with reported_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (ModelSpecError, BackendUnavailableError) as exc:
            errors.print(f"[bold red]Refused:[/] {exc}", highlight=False)
            raise typer.Exit(ExitCode.INPUT_REFUSED) from exc
        finally:
            for warning in caught:
                errors.print(f"[yellow]Warning:[/] {warning.message}", highlight=False)


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() not in SUFFIXES:
        raise DataValidationError(
            Problem(str(path), None, None, f"unsupported file type; use one of {SUFFIXES}")
        )
    if not path.is_file():
        raise DataValidationError(Problem(str(path), None, None, "file not found"))
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(Problem(str(path), None, None, f"unreadable: {exc}")) from exc


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise DataValidationError(
            Problem(str(path), None, None, f"unsupported output type; use one of {SUFFIXES}")
        )
    with atomic_destination(path) as temporary:
        if path.suffix.lower() == ".csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)


def _split_names(text: str | None) -> list[str] | None:
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def read_responses(
    path: Path,
    *,
    id_column: str | None = None,
    group_column: str | None = None,
    items: list[str] | None = None,
) -> ResponseFile:
    """Read and validate a persons × items response file.

    Every problem is reported with the file, the spreadsheet row (header = row 1) and the column:
    missing columns, non-numeric or fractional scores, codes below −1.
    """
    frame = _read_table(path)
    file = str(path)
    named = [c for c in (id_column, group_column) if c is not None]
    problems = [
        Problem(file, None, column, "column not found")
        for column in [*named, *(items or [])]
        if column not in frame.columns
    ]
    if problems:
        raise DataValidationError(problems)
    item_columns = items or [c for c in frame.columns if c not in named]
    if not item_columns:
        raise DataValidationError(Problem(file, None, None, "no item columns"))
    for column in item_columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        unparsable = values.isna() & frame[column].notna()
        invalid = values.notna() & ((values < -1) | (values != values.round()))
        bad = np.flatnonzero((unparsable | invalid).to_numpy())
        if bad.size:
            row = int(bad[0])
            problems.append(
                Problem(
                    file,
                    row + 2,
                    str(column),
                    f"item scores must be integers ≥ 0 (−1 or empty for missing); got "
                    f"{frame[column].iloc[row]!r}"
                    + (f" and {bad.size - 1} more" if bad.size > 1 else ""),
                )
            )
    if group_column is not None and frame[group_column].isna().any():
        row = int(np.flatnonzero(frame[group_column].isna().to_numpy())[0])
        problems.append(Problem(file, row + 2, group_column, "group label is missing"))
    if problems:
        raise DataValidationError(problems)
    responses = (
        frame[item_columns]
        .apply(pd.to_numeric)
        .fillna(-1)
        .astype(np.int8)
        .set_axis([str(c) for c in item_columns], axis=1)
    )
    ids = pd.Index(frame[id_column]) if id_column else pd.RangeIndex(len(frame), name="row")
    groups = frame[group_column].astype(str) if group_column else None
    return ResponseFile(responses=responses, ids=ids, groups=groups)


def _response_dataset(
    path: Path, id_column: str | None, group_column: str | None, items: list[str] | None
) -> ResponseDataset:
    """A Parquet response file or folder (int8 item columns) as a dataset read in partitions."""
    if not path.exists():
        raise DataValidationError(Problem(str(path), None, None, "file or folder not found"))
    dataset = ResponseDataset(path, items=items, group_column=group_column)
    if items is None and id_column is not None:
        names = [name for name in dataset.plan()[0] if name != id_column]
        dataset = ResponseDataset(path, items=names, group_column=group_column)
    return dataset


def read_item_bank(path: Path) -> tuple[ItemBank, pd.DataFrame]:
    """An item bank and its parameter table from a parameter-table file."""
    table = _read_table(path)
    try:
        return ParameterSpec.from_frame(table).bank(), table
    except (KeyError, ValueError) as exc:
        raise DataValidationError(
            Problem(str(path), None, None, f"not a valid parameter table: {exc}")
        ) from exc


def _print_items(title: str, bank: ItemBank) -> None:
    frame = bank.irt_parameters()
    table = Table(title=title, title_justify="left")
    columns = [c for c in frame.columns if c != "item"]
    table.add_column("item")
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for _, row in frame.iterrows():
        cells = [
            row[c] if isinstance(row[c], str) else ("" if pd.isna(row[c]) else f"{row[c]:.3f}")
            for c in columns
        ]
        table.add_row(str(row["item"]), *cells)
    console.print(table)


@app.command(epilog=EXIT_CODES_HELP)
def calibrate(
    responses: Annotated[Path, typer.Argument(help="Response file (CSV or Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Parameter table to write (.csv/.parquet).")],
    model: Annotated[ModelChoice, typer.Option(help="Item model for every item.")] = (
        ModelChoice.TWO_PL
    ),
    id_column: Annotated[str | None, typer.Option(help="Person id column.")] = None,
    group_column: Annotated[
        str | None, typer.Option(help="Group column (multiple-group calibration).")
    ] = None,
    items: Annotated[str | None, typer.Option(help="Comma-separated item columns.")] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(help="Parameter table of anchor items to hold fixed (base scale)."),
    ] = None,
    n_quad: Annotated[int, typer.Option(help="Quadrature nodes.")] = 61,
    max_iter: Annotated[int, typer.Option(help="Maximum EM cycles.")] = 500,
    standard_errors: Annotated[
        bool, typer.Option("--se/--no-se", help="Compute standard errors.")
    ] = False,
    backend: Annotated[
        BackendChoice | None,
        typer.Option(help="Where the E-steps run (default: the SAPA_COMPUTE_BACKEND setting)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address for --backend dask, e.g. tcp://host:8786 (default: "
            "the SAPA_DASK_SCHEDULER setting; unset starts a local cluster)."
        ),
    ] = None,
) -> None:
    """Calibrate the items (marginal maximum likelihood) and write the parameter table."""
    with _reported():
        settings = get_settings()
        chosen = backend.value if backend is not None else settings.compute_backend
        engine: str | Backend = chosen
        if chosen == BackendChoice.DASK:
            engine = DaskBackend(scheduler or settings.dask_scheduler)
        elif scheduler is not None:
            raise DataValidationError(
                Problem("<options>", None, None, "--scheduler applies to --backend dask only")
            )
        estimator = IRTModel(
            model=model.value,
            n_quad=n_quad,
            max_iter=max_iter,
            se_method="oakes" if standard_errors else None,
            backend=engine,
        )
        partitioned = chosen == BackendChoice.DASK and (
            responses.is_dir() or responses.suffix.lower() == ".parquet"
        )
        if partitioned or responses.is_dir():
            if anchors is not None:
                raise DataValidationError(
                    Problem(
                        str(responses),
                        None,
                        None,
                        "--anchors needs a response file read whole; not a folder, nor Parquet "
                        "with --backend dask",
                    )
                )
            dataset = _response_dataset(responses, id_column, group_column, _split_names(items))
            estimator.fit(dataset)
            n_items = len(estimator.item_bank_.names)
            n_persons = round(estimator.result_.n_obs)
        else:
            data = read_responses(
                responses, id_column=id_column, group_column=group_column, items=_split_names(items)
            )
            table = None
            if anchors is not None:
                anchor_bank, _ = read_item_bank(anchors)
                shared = [name for name in anchor_bank.names if name in data.responses.columns]
                if not shared:
                    raise DataValidationError(
                        Problem(str(anchors), None, None, "no anchor item is among the responses")
                    )
                initial = estimator.initial_parameter_table(data.responses, groups=data.groups)
                table = fixed_item_table(initial, anchor_bank.subset(shared))
            estimator.fit(data.responses, groups=data.groups, parameter_table=table)
            n_items, n_persons = data.responses.shape[1], data.responses.shape[0]
        _write_table(estimator.result_.parameter_table(), out)
        console.print(
            f"Calibrated {n_items} items on {n_persons} persons: "
            f"{estimator.n_iter_} EM cycles, converged: {bool(estimator.converged_)}, "
            f"log-likelihood {estimator.result_.loglik:.3f}. Backend: {estimator.backend_}.",
            highlight=False,
        )
        for label, mean, var in zip(
            estimator.groups_, estimator.latent_mean_, estimator.latent_var_, strict=True
        ):
            console.print(f"Group {label}: mean {mean:.3f}, variance {var:.3f}", highlight=False)
        _print_items("Item parameters (IRT form, D = 1)", estimator.item_bank_)
        console.print(f"Parameter table written to {out}", highlight=False)


@app.command("score", epilog=EXIT_CODES_HELP)
def score_command(
    responses: Annotated[Path, typer.Argument(help="Response file (CSV or Parquet).")],
    params: Annotated[Path, typer.Option("--params", help="Parameter table of the items.")],
    out: Annotated[Path, typer.Option("--out", help="Scores to write (.csv/.parquet).")],
    method: Annotated[ScoreMethod, typer.Option(help="Scoring method.")] = ScoreMethod.EAP,
    id_column: Annotated[str | None, typer.Option(help="Person id column.")] = None,
    scale_mean: Annotated[
        float | None, typer.Option(help="Reporting-scale mean (adds scale_score, scale_se).")
    ] = None,
    scale_sd: Annotated[float, typer.Option(help="Reporting-scale standard deviation.")] = 100.0,
    theta_mean: Annotated[
        float | None,
        typer.Option(help="Base-year θ mean of the reporting scale (default: these persons)."),
    ] = None,
    theta_sd: Annotated[
        float | None, typer.Option(help="Base-year θ SD of the reporting scale.")
    ] = None,
) -> None:
    """Score persons with fixed item parameters (EAP/MAP/ML/WLE)."""
    with _reported():
        bank, _ = read_item_bank(params)
        data = read_responses(responses, id_column=id_column, items=list(bank.names))
        result = score_persons(bank, data.responses, method=method.value)
        frame = pd.DataFrame(
            {
                data.ids.name or "row": data.ids,
                "theta": result.theta,
                "se": result.se,
                "n_answered": result.n_answered,
            }
        )
        if scale_mean is not None:
            finite = np.isfinite(result.theta)
            if (theta_mean is None) != (theta_sd is None):
                raise DataValidationError(
                    Problem("<options>", None, None, "give both --theta-mean and --theta-sd")
                )
            if theta_mean is None or theta_sd is None:
                scale = ReportingScale.from_theta(
                    result.theta[finite], scale_mean=scale_mean, scale_sd=scale_sd
                )
            else:
                scale = ReportingScale(theta_mean, theta_sd, scale_mean, scale_sd)
            frame["scale_score"] = scale.to_scale(result.theta)
            frame["scale_se"] = scale.se_to_scale(result.se)
        _write_table(frame, out)
        console.print(result.summary(), highlight=False)
        console.print(f"Scores written to {out}", highlight=False)


@app.command(epilog=EXIT_CODES_HELP)
def dif(
    responses: Annotated[Path, typer.Argument(help="Response file (CSV or Parquet).")],
    group_column: Annotated[str, typer.Option(help="Column with the group of each person.")],
    focal: Annotated[str, typer.Option(help="Focal group label, e.g. kk.")],
    out: Annotated[Path, typer.Option("--out", help="DIF table to write (.csv/.parquet).")],
    reference: Annotated[
        str | None, typer.Option(help="Reference group label (default: the only other one).")
    ] = None,
    method: Annotated[DIFMethod, typer.Option(help="Mantel–Haenszel or logistic.")] = (
        DIFMethod.MH
    ),
    purify: Annotated[bool, typer.Option(help="Purify the matching score.")] = False,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    id_column: Annotated[str | None, typer.Option(help="Person id column.")] = None,
    items: Annotated[str | None, typer.Option(help="Comma-separated item columns.")] = None,
) -> None:
    """Differential item functioning between two groups (Mantel–Haenszel or logistic)."""
    with _reported():
        data = read_responses(
            responses, id_column=id_column, group_column=group_column, items=_split_names(items)
        )
        groups = cast(pd.Series, data.groups)  # present: --group-column is required
        procedure = mantel_haenszel if method is DIFMethod.MH else logistic_dif
        result = procedure(
            data.responses,
            groups.to_numpy(),
            focal=focal,
            reference=reference,
            purify=purify,
            alpha=alpha,
        )
        _write_table(result.table.reset_index(), out)
        console.print(result.summary(), highlight=False)
        flagged = result.table[result.table["dif"]]
        if len(flagged):
            table = Table(title="Flagged items", title_justify="left")
            shown = (
                ["delta_mh", "p_value", "ets_class", "favours"]
                if method is DIFMethod.MH
                else ["chi2_both", "p_value", "delta_r2", "class_jodoin_gierl"]
            )
            table.add_column("item")
            for column in shown:
                table.add_column(column, justify="right")
            for name, row in flagged.iterrows():
                table.add_row(
                    str(name),
                    *[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row[shown]],
                )
            console.print(table)
        console.print(f"DIF table written to {out}", highlight=False)


@app.command("link", epilog=EXIT_CODES_HELP)
def link_command(
    source: Annotated[Path, typer.Option(help="Parameter table of the new calibration.")],
    target: Annotated[Path, typer.Option(help="Parameter table on the base scale.")],
    out: Annotated[Path, typer.Option("--out", help="Linking constants to write.")],
    method: Annotated[LinkMethod, typer.Option(help="Linking method, or all four.")] = (
        LinkMethod.STOCKING_LORD
    ),
    common: Annotated[
        str | None, typer.Option(help="Comma-separated common items (default: shared names).")
    ] = None,
    linked_params: Annotated[
        Path | None,
        typer.Option(help="Write the source parameter table moved to the target scale."),
    ] = None,
) -> None:
    """Linking constants θ_target = A·θ_source + B from common items."""
    with _reported():
        source_bank, source_table = read_item_bank(source)
        target_bank, _ = read_item_bank(target)
        common_items = _split_names(common)
        if method is LinkMethod.ALL:
            constants = compare_linking_methods(source_bank, target_bank, common_items=common_items)
            chosen = constants.set_index("method").loc["stocking-lord"]
            A, B = float(chosen["A"]), float(chosen["B"])  # noqa: N806
        else:
            result = link(
                source_bank,
                target_bank,
                method=method.value,  # type: ignore[arg-type]
                common_items=common_items,
            )
            constants = result.to_frame()
            A, B = result.A, result.B  # noqa: N806
        _write_table(constants, out)
        table = Table(title="Linking constants: θ_target = A·θ_source + B", title_justify="left")
        for column in ("method", "A", "B", "n_common"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for _, row in constants.iterrows():
            table.add_row(row["method"], f"{row['A']:.4f}", f"{row['B']:.4f}", str(row["n_common"]))
        console.print(table)
        if linked_params is not None:
            _write_table(transform_parameter_table(source_table, A, B), linked_params)
            console.print(
                f"Source parameters on the target scale (A = {A:.4f}, B = {B:.4f}) written to "
                f"{linked_params}",
                highlight=False,
            )
        console.print(f"Constants written to {out}", highlight=False)


def transform_parameter_table(table: pd.DataFrame, A: float, B: float) -> pd.DataFrame:  # noqa: N803
    """A parameter table moved to the scale θ* = A·θ + B.

    Slopes ``a → a/A``; intercepts ``d → d − a·B/A``; ``g`` unchanged; group rows
    ``mean → A·mean + B`` and ``var → A²·var``; bounds and priors are kept as they were.
    """
    out = table.copy()
    slopes = out.loc[out["parameter"] == "a"].set_index("item")["value"]
    intercept_rows = out["parameter"].astype(str).str.fullmatch(r"d\d*")
    item_slope = out.loc[intercept_rows, "item"].map(slopes)
    out.loc[intercept_rows, "value"] = out.loc[intercept_rows, "value"] - item_slope * B / A
    out.loc[out["parameter"] == "a", "value"] = out.loc[out["parameter"] == "a", "value"] / A
    groups = out["model"] == "group"
    out.loc[groups & (out["parameter"] == "mean"), "value"] = (
        A * out.loc[groups & (out["parameter"] == "mean"), "value"] + B
    )
    out.loc[groups & (out["parameter"] == "var"), "value"] = (
        A**2 * out.loc[groups & (out["parameter"] == "var"), "value"]
    )
    return out
