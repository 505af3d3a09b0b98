"""``sapa irt`` commands on small files: outputs, summaries, errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sapa.cli.irt import app, read_item_bank, transform_parameter_table
from sapa.irt.linking import transform_bank
from sapa.irt.models import ItemBank

runner = CliRunner()

ITEMS = [f"q{j}" for j in range(8)]
TRUE_BANK = ItemBank.from_irt(
    a=[0.8, 1.0, 1.2, 1.4, 0.9, 1.1, 1.3, 1.5],
    b=[-1.2, -0.8, -0.4, 0.0, 0.3, 0.6, 0.9, 1.2],
    names=ITEMS,
)


def _simulate(rng: np.random.Generator, n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
    p = TRUE_BANK.probabilities(rng.normal(mean, sd, n))[:, :, 1]
    return (rng.random(p.shape) < p).astype(int)


@pytest.fixture()
def response_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(_simulate(rng, 2000), columns=ITEMS)
    frame.insert(0, "student", [f"S{i:04d}" for i in range(2000)])
    frame["language"] = np.where(np.arange(2000) % 2 == 0, "kk", "ru")
    frame.loc[3, "q2"] = np.nan  # a missing response
    path = tmp_path / "responses.csv"
    frame.to_csv(path, index=False)
    return path


def _calibrate(response_file: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(
        app,
        [
            "calibrate", str(response_file), "--out", str(out), "--id-column", "student",
            "--items", ",".join(ITEMS), "--n-quad", "31", *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_calibrate_writes_a_parameter_table_and_a_summary(
    response_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "params.csv"
    result = runner.invoke(
        app,
        ["calibrate", str(response_file), "--out", str(out), "--id-column", "student",
         "--items", ",".join(ITEMS), "--n-quad", "31"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "converged: True" in result.output
    assert "Item parameters (IRT form, D = 1)" in result.output
    bank, table = read_item_bank(out)
    assert bank.names == tuple(ITEMS)
    assert set(table["parameter"]) == {"a", "d", "mean", "var"}
    # 2000 persons: SE(b) is at most about 0.1 for these items
    assert np.max(np.abs(bank.irt_parameters()["b"] - TRUE_BANK.irt_parameters()["b"])) < 0.3


def test_score_with_reporting_scale_and_parquet_output(response_file: Path, tmp_path: Path) -> None:
    params = tmp_path / "params.csv"
    _calibrate(response_file, params)
    out = tmp_path / "scores.parquet"
    result = runner.invoke(
        app,
        ["score", str(response_file), "--params", str(params), "--out", str(out),
         "--id-column", "student", "--method", "WLE", "--scale-mean", "500"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Scores (WLE)" in result.output
    scores = pd.read_parquet(out)
    assert list(scores.columns) == [
        "student", "theta", "se", "n_answered", "scale_score", "scale_se",
    ]  # fmt: skip
    assert scores.loc[3, "n_answered"] == 7
    finite = np.isfinite(scores["theta"])
    assert scores.loc[finite, "scale_score"].mean() == pytest.approx(500.0)
    assert scores.loc[finite, "scale_score"].std(ddof=0) == pytest.approx(100.0)


def test_dif_by_language(response_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "dif.csv"
    result = runner.invoke(
        app,
        ["dif", str(response_file), "--group-column", "language", "--focal", "kk",
         "--out", str(out), "--id-column", "student", "--purify"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "focal 'kk' vs reference 'ru'" in result.output
    table = pd.read_csv(out)
    assert list(table["item"]) == ITEMS
    assert {"alpha_mh", "delta_mh", "ets_class", "dif"} <= set(table.columns)
    logistic = runner.invoke(
        app,
        ["dif", str(response_file), "--group-column", "language", "--focal", "kk",
         "--out", str(out), "--id-column", "student", "--method", "logistic"],
    )  # fmt: skip
    assert logistic.exit_code == 0, logistic.output
    assert "class_jodoin_gierl" in pd.read_csv(out).columns


def test_link_recovers_a_known_transformation(response_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    _calibrate(response_file, source)
    bank, table = read_item_bank(source)
    target = tmp_path / "target.csv"
    transform_parameter_table(table, 1.25, 0.4).to_csv(target, index=False)
    out = tmp_path / "constants.csv"
    linked = tmp_path / "linked.parquet"
    result = runner.invoke(
        app,
        ["link", "--source", str(source), "--target", str(target), "--out", str(out),
         "--method", "all", "--linked-params", str(linked)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    constants = pd.read_csv(out)
    assert list(constants["method"]) == ["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
    np.testing.assert_allclose(constants["A"], 1.25, rtol=1e-6)
    np.testing.assert_allclose(constants["B"], 0.4, atol=1e-6)
    moved, moved_table = read_item_bank(linked)
    expected = transform_bank(bank, 1.25, 0.4)
    np.testing.assert_allclose(moved.slopes, expected.slopes, rtol=1e-6)
    np.testing.assert_allclose(moved.intercepts, expected.intercepts, rtol=1e-6, atol=1e-8)
    group_var = moved_table.loc[moved_table["parameter"] == "var", "value"].item()
    assert group_var == pytest.approx(1.25**2)


def test_calibrate_with_anchor_items(response_file: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.csv"
    _calibrate(response_file, base)
    out = tmp_path / "fixed.csv"
    result = runner.invoke(
        app,
        ["calibrate", str(response_file), "--out", str(out), "--id-column", "student",
         "--items", ",".join(ITEMS), "--anchors", str(base), "--n-quad", "31"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fixed, table = read_item_bank(out)
    anchor, _ = read_item_bank(base)
    np.testing.assert_allclose(fixed.slopes, anchor.slopes)
    assert not table.loc[table["item"] == "q0", "estimate"].any()


def test_bad_scores_are_reported_with_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"q1": [0, 1, 2], "q2": [1, "x", 0], "q3": [0, 1, -5]}).to_csv(path, index=False)
    result = runner.invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1
    assert "bad.csv" in result.output
    assert "q2" in result.output and "'x'" in result.output
    assert "q3" in result.output
    assert not (tmp_path / "p.csv").exists()


def test_missing_columns_files_and_groups_are_refused(response_file: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "o.csv")
    missing_column = runner.invoke(
        app, ["calibrate", str(response_file), "--out", out, "--id-column", "pupil"]
    )
    assert missing_column.exit_code == 1
    assert "pupil" in missing_column.output and "column not found" in missing_column.output
    no_file = runner.invoke(app, ["calibrate", str(tmp_path / "none.csv"), "--out", out])
    assert no_file.exit_code == 1 and "file not found" in no_file.output
    wrong_type = runner.invoke(app, ["calibrate", str(tmp_path / "r.xlsx"), "--out", out])
    assert wrong_type.exit_code == 1 and "unsupported file type" in wrong_type.output
    no_group = runner.invoke(
        app,
        ["dif", str(response_file), "--group-column", "language", "--focal", "en",
         "--out", out, "--id-column", "student"],
    )  # fmt: skip
    assert no_group.exit_code == 1 and "focal group 'en' not found" in no_group.output
    not_a_table = runner.invoke(
        app,
        ["score", str(response_file), "--params", str(response_file), "--out", out],
    )
    assert not_a_table.exit_code == 1 and "not a valid parameter table" in not_a_table.output


def test_usage_errors_exit_2(response_file: Path) -> None:
    result = runner.invoke(app, ["calibrate", str(response_file)])
    assert result.exit_code == 2


def _table_values(path: Path) -> np.ndarray:
    return pd.read_csv(path).sort_values(["item", "parameter"])["value"].to_numpy()


def test_calibrate_on_the_torch_backend_gives_the_numpy_table(
    response_file: Path, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    numpy_out, torch_out = tmp_path / "numpy.csv", tmp_path / "torch.csv"
    _calibrate(response_file, numpy_out, "--group-column", "language")
    result = runner.invoke(
        app,
        ["calibrate", str(response_file), "--out", str(torch_out), "--id-column", "student",
         "--items", ",".join(ITEMS), "--n-quad", "31", "--group-column", "language",
         "--backend", "torch"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Backend: torch (cpu, float64)." in result.output
    np.testing.assert_allclose(_table_values(torch_out), _table_values(numpy_out), atol=1e-6)


def test_calibrate_a_parquet_folder_on_a_dask_cluster(
    dask_client, response_file: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(response_file)
    frame[ITEMS] = frame[ITEMS].fillna(-1).astype(np.int8)
    folder = tmp_path / "booklets"
    folder.mkdir()
    frame.iloc[:1200].to_parquet(folder / "b1.parquet", row_group_size=500)
    frame.iloc[1200:].to_parquet(folder / "b2.parquet", row_group_size=500)
    numpy_out, dask_out = tmp_path / "numpy.csv", tmp_path / "dask.csv"
    _calibrate(response_file, numpy_out, "--group-column", "language")
    result = runner.invoke(
        app,
        ["calibrate", str(folder), "--out", str(dask_out), "--id-column", "student",
         "--group-column", "language", "--n-quad", "31", "--backend", "dask",
         "--scheduler", dask_client.scheduler.address],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Calibrated 8 items on 2000 persons" in result.output
    assert f"Backend: dask ({dask_client.scheduler.address})." in result.output
    np.testing.assert_allclose(_table_values(dask_out), _table_values(numpy_out), atol=1e-6)


def test_a_scheduler_without_the_dask_backend_is_refused(
    response_file: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["calibrate", str(response_file), "--out", str(tmp_path / "p.csv"),
         "--scheduler", "tcp://127.0.0.1:8786"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--scheduler applies to --backend dask only" in result.output
