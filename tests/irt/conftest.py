"""Fixtures of the calibration tests: reference data sets and a response simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sapa.irt.models import ItemBank
from sapa.irt.simulate import simulate_responses

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
#: SAT12 answer key (mirt's documentation of SAT12; also the project's reference README).
SAT12_KEY = np.array(
    [1, 4, 5, 2, 3, 1, 2, 1, 3, 1, 2, 4, 2, 1, 5, 3, 4, 4, 1, 4, 3, 3, 4, 1, 3, 5, 1, 3, 1, 5, 4, 5]
)

Simulator = Callable[..., np.ndarray]


def _patterns(name: str) -> tuple[np.ndarray, np.ndarray]:
    table = pd.read_csv(REFERENCE / name)
    return table.iloc[:, :5].to_numpy(np.int8), table["freq"].to_numpy(np.float64)


@pytest.fixture(scope="session")
def lsat7() -> tuple[np.ndarray, np.ndarray]:
    """LSAT-7: 32 patterns of 5 items and their frequencies (Bock & Lieberman, 1970)."""
    return _patterns("lsat7.csv")


@pytest.fixture(scope="session")
def lsat6() -> tuple[np.ndarray, np.ndarray]:
    """LSAT-6: 32 patterns of 5 items and their frequencies (Thissen, 1982; ltm's LSAT)."""
    return _patterns("lsat6.csv")


@pytest.fixture(scope="session")
def science() -> pd.DataFrame:
    """Science: 392 persons × 4 Likert items, recoded from 1–4 to 0–3."""
    return pd.read_csv(REFERENCE / "science.csv") - 1


@pytest.fixture(scope="session")
def sat12() -> np.ndarray:
    """SAT12 scored with its key; omitted (8) and wrong options score 0 (mirt's key2binary)."""
    raw = pd.read_csv(REFERENCE / "sat12.csv").to_numpy()
    return (raw == SAT12_KEY).astype(np.int8)


@pytest.fixture(scope="session")
def simulate() -> Simulator:
    """``simulate(bank, theta, rng, missing=0.0)``: :func:`sapa.irt.simulate_responses`."""

    def draw(
        bank: ItemBank, theta: np.ndarray, rng: np.random.Generator, missing: float = 0.0
    ) -> np.ndarray:
        return simulate_responses(bank, theta, rng=rng, missing=missing)

    return draw


@pytest.fixture(scope="session")
def booklet_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """12 2PL items, 3,000 persons in two groups, 15% missing at random, and weights."""
    rng = np.random.default_rng(20)
    bank = ItemBank.from_irt(a=rng.uniform(0.7, 2.0, 12), b=rng.normal(0, 1, 12))
    theta = np.concatenate([rng.normal(0, 1, 1500), rng.normal(0.5, 1.2, 1500)])
    responses = simulate_responses(bank, theta, rng=rng)
    responses[rng.random(responses.shape) < 0.15] = -1
    groups = np.repeat(["kk", "ru"], 1500)
    weights = rng.uniform(0.5, 2.0, 3000)
    return responses, weights, groups
