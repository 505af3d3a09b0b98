"""The Dask backend on a real local cluster (two worker processes, one thread each).

Every fit is compared with the numpy backend's: same estimates to 1e-6, same log-likelihood and
number of EM cycles, same standard errors.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pytest
from _irt_sim import AGREEMENT, assert_same_fit, write_booklets

from sapa.errors import BackendUnavailableError, DataValidationError
from sapa.irt._estep import Quadrature, accumulate
from sapa.irt.backends import DaskBackend, ResponseDataset
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank

pytest.importorskip("distributed")


def released(client, timeout: float = 10.0) -> bool:
    """Whether the workers hold no data of any key (releases reach the scheduler asynchronously)."""
    deadline = time.monotonic() + timeout
    while client.who_has() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not client.who_has()


def test_in_memory_responses_equal_numpy(dask_client, lsat7, booklet_data) -> None:
    patterns, freq = lsat7
    reference = IRTModel(tol=1e-6).fit(patterns, weights=freq)
    fitted = IRTModel(tol=1e-6, backend=DaskBackend(dask_client)).fit(patterns, weights=freq)
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.result_.bse, reference.result_.bse, atol=AGREEMENT)
    assert fitted.backend_ == f"dask ({dask_client.scheduler.address})"

    responses, weights, groups = booklet_data
    options = {"weights": weights, "groups": groups}
    reference = IRTModel(se_method="crossprod").fit(responses, **options)
    fitted = IRTModel(se_method="crossprod", backend=DaskBackend(dask_client)).fit(
        responses, **options
    )
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.latent_var_, reference.latent_var_, atol=AGREEMENT)


def test_parquet_partitions_are_read_by_the_workers(dask_client, tmp_path, booklet_data) -> None:
    responses, weights, groups = booklet_data
    stacked = write_booklets(tmp_path, responses, groups, weights)
    dataset = ResponseDataset(
        tmp_path, weight_column="weight", group_column="language", partition_rows=1000
    )
    reference = IRTModel().fit(stacked, weights=weights, groups=groups)
    fitted = IRTModel(backend=DaskBackend(dask_client)).fit(dataset)
    assert_same_fit(fitted, reference)
    assert fitted.groups_ == ("kk", "ru")
    # Oakes errors were computed on the workers before the partitions were released
    np.testing.assert_allclose(fitted.result_.bse, reference.result_.bse, atol=AGREEMENT)
    assert released(dask_client), "the fit left partitions on the workers"


def test_partitions_stay_on_the_workers_between_cycles(dask_client, tmp_path) -> None:
    rng = np.random.default_rng(5)
    bank = ItemBank.from_irt(a=rng.uniform(0.8, 1.6, 6), b=rng.normal(size=6))
    responses = (rng.random((900, 6)) < 0.6).astype(np.int8)
    frame = pd.DataFrame(responses, columns=list(bank.names))
    frame.to_parquet(tmp_path / "r.parquet", row_group_size=200)
    quadrature = Quadrature.normal(21, 4.0, [0.0], [1.0])
    expected = accumulate(responses, None, bank, quadrature)
    backend = DaskBackend(dask_client)
    with backend.open_dataset(ResponseDataset(tmp_path, partition_rows=400)) as bound:
        assert len(bound.parts) == 3 and bound.summary.n_persons == 900
        (tmp_path / "r.parquet").unlink()  # every cycle must use what the workers hold
        for _ in range(2):
            stats = bound.accumulate(bank, quadrature)
            np.testing.assert_allclose(stats.r, expected.r, rtol=1e-12)
            assert stats.loglik == pytest.approx(expected.loglik, rel=1e-12)


def test_a_parameter_table_reorders_groups_on_the_workers(
    dask_client, tmp_path, booklet_data
) -> None:
    responses, _, groups = booklet_data
    stacked = write_booklets(tmp_path, responses, groups)
    table = IRTModel().initial_parameter_table(stacked, groups=groups)
    table.loc[table["item"] == "item6", "estimate"] = False
    table = pd.concat([table[table["model"] == "group"][::-1], table[table["model"] != "group"]])
    reference = IRTModel(se_method=None).fit(stacked, groups=groups, parameter_table=table)
    fitted = IRTModel(se_method=None, backend=DaskBackend(dask_client)).fit(
        ResponseDataset(tmp_path, group_column="language"), parameter_table=table
    )
    assert_same_fit(fitted, reference)
    assert fitted.groups_ == reference.groups_ == ("ru", "kk")


def test_problems_found_on_the_workers_are_reported(dask_client, tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "person_code": ["a", "b", "c", "d"],
            "q1": np.array([0, 1, 1, 0], dtype=np.int8),
            "q2": np.array([1, -2, 1, 0], dtype=np.int8),
            "language": ["kk", "ru", None, "kk"],
        }
    )
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataValidationError) as caught:
        IRTModel(backend=DaskBackend(dask_client)).fit(
            ResponseDataset(tmp_path, group_column="language")
        )
    found = {(p.file.rsplit("/", 1)[-1], p.row, p.column) for p in caught.value.problems}
    assert found == {("bad.parquet", 3, "q2"), ("bad.parquet", 4, "language")}
    assert released(dask_client)


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch, lsat7) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'sapa\[dist\]'"):
        IRTModel(backend="dask").fit(*lsat7[:1])


def test_without_a_scheduler_a_local_cluster_is_started_and_closed(lsat7) -> None:
    patterns, freq = lsat7
    reference = IRTModel(se_method=None).fit(patterns, weights=freq)
    fitted = IRTModel(se_method=None, backend=DaskBackend(n_workers=1)).fit(patterns, weights=freq)
    assert_same_fit(fitted, reference)
    assert fitted.backend_ == "dask (local cluster)"
