"""Shared by the scoring, plausible-value, fit and backend tests: reference data and simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sapa.irt.models import ItemBank
from sapa.irt.simulate import simulate_responses

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def lsat7_patterns() -> tuple[np.ndarray, np.ndarray]:
    """The 32 LSAT-7 response patterns (mirt's order) and their frequencies (sum 1000)."""
    table = pd.read_csv(REFERENCE / "score_lsat7_patterns.csv", comment="#")
    return table.iloc[:, :5].to_numpy(np.int8), table["freq"].to_numpy()


def two_pl(slopes: list[float] | np.ndarray, intercepts: list[float] | np.ndarray) -> ItemBank:
    """A 2PL bank in slope–intercept form named like mirt's LSAT7 columns."""
    slopes = np.asarray(slopes, dtype=np.float64)
    return ItemBank(
        names=tuple(f"Item.{j + 1}" for j in range(slopes.size)),
        models=("2PL",) * slopes.size,
        slopes=slopes,
        intercepts=np.asarray(intercepts, dtype=np.float64)[:, None],
        guessing=np.zeros(slopes.size),
        n_categories=np.full(slopes.size, 2),
    )


def mixed_bank() -> ItemBank:
    """Two 2PL, one 3PL, one 3-category GRM and one 4-category GPCM item."""
    nan = np.nan
    return ItemBank(
        names=("a", "b", "c", "d", "e"),
        models=("2PL", "2PL", "3PL", "GRM", "GPCM"),
        slopes=np.array([1.2, 0.8, 1.5, 1.1, 0.9]),
        intercepts=np.array(
            [[0.3, nan, nan], [-0.5, nan, nan], [0.2, nan, nan], [1.0, -0.8, nan], [0.5, 0.1, -0.6]]
        ),
        guessing=np.array([0.0, 0.0, 0.2, 0.0, 0.0]),
        n_categories=np.array([2, 2, 2, 3, 4]),
    )


def simulate(bank: ItemBank, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Responses (int8, persons × items) drawn from the bank's category probabilities."""
    return simulate_responses(bank, theta, rng=rng)


#: The agreement every compute backend must reach with the numpy backend.
AGREEMENT = 1e-6


def assert_same_fit(fitted, reference) -> None:
    """Same estimates (to 1e-6), log-likelihood (1e-6 per person) and EM cycles as ``reference``."""
    np.testing.assert_allclose(fitted.result_.params, reference.result_.params, atol=AGREEMENT)
    n_obs = reference.result_.n_obs
    assert abs(fitted.result_.loglik - reference.result_.loglik) <= AGREEMENT * n_obs
    assert fitted.n_iter_ == reference.n_iter_
    assert fitted.converged_ == reference.converged_


def write_booklets(
    folder: Path, responses: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Two booklet files in Sapa's response layout, items 1–8 and 5–12, row groups of 400, with
    a ``language`` column (and a ``weight`` column); returns the stacked matrix they hold."""
    names = [f"item{j + 1}" for j in range(responses.shape[1])]
    half = responses.shape[0] // 2
    stacked = np.full_like(responses, -1)
    for index, (rows, columns) in enumerate(
        [(slice(0, half), slice(0, 8)), (slice(half, None), slice(4, 12))]
    ):
        block = responses[rows, columns]
        stacked[rows, columns] = block
        table = pd.DataFrame(block, columns=names[columns]).astype(np.int8)
        table.insert(0, "person_code", [f"P{index}-{i}" for i in range(block.shape[0])])
        table["language"] = groups[rows]
        if weights is not None:
            table["weight"] = weights[rows]
        table.to_parquet(folder / f"booklet{index + 1}.parquet", row_group_size=400)
    return stacked
