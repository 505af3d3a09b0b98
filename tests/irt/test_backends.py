"""The backend seam and the torch backend: every backend gives the numpy estimates to 1e-6.

Torch runs here on the CPU (CI has no GPU); the ``cuda`` cases rerun the same checks, with the
same tolerances, on a CUDA device and are skipped where there is none. The Dask backend is
tested in ``test_backends_dask.py`` (it starts a cluster).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from _irt_sim import AGREEMENT, assert_same_fit, mixed_bank, simulate, write_booklets

from sapa.errors import BackendUnavailableError, DataValidationError, InvalidParameterError
from sapa.irt._data import CalibrationData, ResponseSummary
from sapa.irt._estep import Quadrature, accumulate
from sapa.irt.backends import NumpyBackend, ResponseDataset, TorchBackend, resolve_backend
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank

torch = pytest.importorskip("torch")

MIXED_MODELS = ["2PL", "2PL", "3PL", "GRM", "GPCM"]
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


@pytest.fixture(scope="module")
def mixed_data() -> np.ndarray:
    rng = np.random.default_rng(21)
    responses = simulate(mixed_bank(), rng.normal(size=2500), rng)
    responses[rng.random(responses.shape) < 0.05] = -1
    return responses


# ----------------------------------------------------------------------------- the seam
def test_backend_names_resolve_and_are_recorded(lsat7) -> None:
    patterns, freq = lsat7
    assert isinstance(resolve_backend("numpy"), NumpyBackend)
    assert isinstance(resolve_backend("torch"), TorchBackend)
    model = IRTModel().fit(patterns, weights=freq)
    assert model.backend_ == "numpy"
    on_torch = IRTModel(backend=TorchBackend("cpu")).fit(patterns, weights=freq)
    assert on_torch.backend_ == "torch (cpu, float64)"


def test_unknown_backend_is_refused_with_the_template_message(lsat7) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        IRTModel(backend="cupy").fit(*lsat7[:1])
    assert str(caught.value) == (
        "The 'backend' parameter of IRTModel must be one of {'dask', 'numpy', 'torch'} or an "
        "instance of Backend. Got 'cupy' instead."
    )


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch, lsat7) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sapa\[gpu\]'"):
        IRTModel(backend="torch").fit(*lsat7[:1])
    with pytest.raises(ImportError, match="needs PyTorch"):
        TorchBackend()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_asking_for_cuda_without_a_device_says_so() -> None:
    with pytest.raises(BackendUnavailableError, match="no CUDA device"):
        TorchBackend("cuda")


def test_torch_backend_options_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match="'dtype' parameter of TorchBackend"):
        TorchBackend("cpu", dtype="float16")


def test_summary_of_partitions_adds_up(booklet_data) -> None:
    responses, weights, _ = booklet_data
    whole = ResponseSummary.of(CalibrationData(responses, weights, None))
    top = ResponseSummary.of(CalibrationData(responses[:1000], weights[:1000], None))
    rest = ResponseSummary.of(CalibrationData(responses[1000:], weights[1000:], None))
    both = top + rest
    np.testing.assert_allclose(both.counts, whole.counts, rtol=1e-12)
    np.testing.assert_array_equal(both.seen, whole.seen)
    assert both.n_persons == 3000 and both.n_obs == pytest.approx(weights.sum())
    np.testing.assert_array_equal(whole.highest, np.ones(12, dtype=int))
    # a partition without category 1 anywhere is narrower; + pads it
    narrow = ResponseSummary.of(CalibrationData(np.zeros((3, 12), np.int8), None, None))
    assert (narrow + whole).counts.shape == whole.counts.shape


# ----------------------------------------------------------------------------- torch
@pytest.mark.parametrize("device", DEVICES)
def test_torch_estep_equals_numpy_estep(device: str, mixed_data: np.ndarray) -> None:
    bank = mixed_bank()
    quadrature = Quadrature.normal(41, 5.0, [0.0, 0.4], [1.0, 1.5])
    groups = np.arange(mixed_data.shape[0]) % 2
    weights = np.linspace(0.5, 1.5, mixed_data.shape[0])
    data = CalibrationData(mixed_data, weights, groups)
    expected = accumulate(mixed_data, weights, bank, quadrature, groups)
    for backend in (
        TorchBackend(device),
        TorchBackend(device, chunk_persons=333, cache_design=True),
    ):
        with backend.bind(data) as bound:
            for _ in range(2):  # the second cycle reuses a cached design
                stats = bound.accumulate(bank, quadrature)
                np.testing.assert_allclose(stats.r, expected.r, rtol=1e-10, atol=1e-9)
                np.testing.assert_allclose(stats.n, expected.n, rtol=1e-10, atol=1e-9)
                assert stats.loglik == pytest.approx(expected.loglik, rel=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_lsat7_reference_values(device: str, lsat7) -> None:
    # Tier (a) rerun on the torch backend: mirt 1.45.6's LSAT-7 2PL values (see
    # test_estimate_reference.py for the source), same tolerances, and numpy's fit to 1e-6.
    patterns, freq = lsat7
    reference = IRTModel(tol=1e-6).fit(patterns, weights=freq)
    fitted = IRTModel(tol=1e-6, backend=TorchBackend(device)).fit(patterns, weights=freq)
    assert fitted.result_.loglik == pytest.approx(-2658.805, abs=2e-3)
    np.testing.assert_allclose(
        fitted.item_bank_.slopes, [0.988, 1.081, 1.706, 0.765, 0.736], atol=2e-3
    )
    np.testing.assert_allclose(
        fitted.item_bank_.intercepts[:, 0], [1.856, 0.808, 1.804, 0.486, 1.855], atol=2e-3
    )
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.result_.bse, reference.result_.bse, atol=AGREEMENT)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_booklets_weights_and_groups_equal_numpy(device: str, booklet_data) -> None:
    responses, weights, groups = booklet_data
    options = {"weights": weights, "groups": groups}
    reference = IRTModel(se_method="crossprod").fit(responses, **options)
    fitted = IRTModel(se_method="crossprod", backend=TorchBackend(device)).fit(responses, **options)
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.latent_mean_, reference.latent_mean_, atol=AGREEMENT)
    np.testing.assert_allclose(fitted.result_.bse, reference.result_.bse, atol=AGREEMENT)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_mixed_models_equal_numpy(device: str, mixed_data: np.ndarray) -> None:
    reference = IRTModel(model=MIXED_MODELS, se_method=None).fit(mixed_data)
    fitted = IRTModel(model=MIXED_MODELS, se_method=None, backend=TorchBackend(device)).fit(
        mixed_data
    )
    assert_same_fit(fitted, reference)


def test_torch_with_a_parameter_table_equals_numpy(booklet_data) -> None:
    # Anchors (fixed items) and the table's own group order go through the same seam.
    responses, _, groups = booklet_data
    table = IRTModel().initial_parameter_table(responses, groups=groups)
    table.loc[table["item"] == "item1", "estimate"] = False
    table = pd.concat([table[table["model"] == "group"][::-1], table[table["model"] != "group"]])
    reference = IRTModel(se_method=None).fit(responses, groups=groups, parameter_table=table)
    fitted = IRTModel(se_method=None, backend="torch").fit(
        responses, groups=groups, parameter_table=table
    )
    assert_same_fit(fitted, reference)


def test_torch_float32_is_close_but_not_the_default(mixed_data: np.ndarray) -> None:
    # float32 moves estimates by about 1e-6–1e-5 here (BENCHMARKS.md measures it at scale),
    # which is why float64 is the default.
    reference = IRTModel(model=MIXED_MODELS, se_method=None).fit(mixed_data)
    fitted = IRTModel(
        model=MIXED_MODELS, se_method=None, backend=TorchBackend("cpu", dtype="float32")
    ).fit(mixed_data)
    np.testing.assert_allclose(fitted.result_.params, reference.result_.params, atol=1e-3)


# ----------------------------------------------------------------------------- datasets
def test_dataset_read_whole_equals_the_stacked_matrix(tmp_path, booklet_data) -> None:
    responses, weights, groups = booklet_data
    stacked = write_booklets(tmp_path, responses, groups, weights)
    dataset = ResponseDataset(
        tmp_path, weight_column="weight", group_column="language", partition_rows=1000
    )
    names, partitions = dataset.plan()
    assert names == tuple(f"item{j + 1}" for j in range(12))
    assert [p.n_rows for p in partitions] == [800, 700, 800, 700]
    matrix, read_weights, labels = dataset.read()
    np.testing.assert_array_equal(matrix.to_numpy(), stacked)
    np.testing.assert_array_equal(read_weights, weights)
    assert list(labels) == list(groups)
    reference = IRTModel(se_method=None).fit(stacked, weights=weights, groups=groups)
    on_torch = IRTModel(se_method=None, backend="torch").fit(dataset)
    assert_same_fit(on_torch, reference)


def test_dataset_problems_name_file_row_and_column(tmp_path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame(
        {
            "person_code": ["a", "b", "c"],
            "q1": np.array([0, 1, -3], dtype=np.int8),
            "q2": np.array([1, 0, 1], dtype=np.int8),
            "w": [1.0, -1.0, 2.0],
        }
    ).to_parquet(path)
    with pytest.raises(DataValidationError) as caught:
        IRTModel().fit(ResponseDataset(path, weight_column="w"))
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(4, "q1"), (3, "w")}
    with pytest.raises(DataValidationError, match="item column not found"):
        ResponseDataset(path, items=["q1", "q9"]).plan()
    with pytest.raises(DataValidationError, match="not found"):
        ResponseDataset(tmp_path / "none").plan()
    with pytest.raises(DataValidationError, match="columns of the dataset"):
        IRTModel().fit(ResponseDataset(path), weights=np.ones(3))


def test_torch_loglik_when_the_middle_node_posterior_underflows() -> None:
    # 60 steep hard items all answered correctly: the posterior at θ = 0 is about e^-1800, zero
    # in float64, so that person's log-likelihood comes from logsumexp instead.
    bank = ItemBank.from_irt(a=np.full(60, 10.0), b=np.full(60, 3.0))
    responses = np.vstack([np.ones(60, np.int8), np.zeros(60, np.int8), np.eye(60, dtype=np.int8)])
    quadrature = Quadrature.normal(61, 6.0, [0.0], [1.0])
    expected = accumulate(responses, None, bank, quadrature)
    with TorchBackend("cpu").bind(CalibrationData(responses, None, None)) as bound:
        stats = bound.accumulate(bank, quadrature)
    assert np.isfinite(stats.loglik)
    assert stats.loglik == pytest.approx(expected.loglik, rel=1e-12)
    np.testing.assert_allclose(stats.r, expected.r, rtol=1e-10, atol=1e-12)
