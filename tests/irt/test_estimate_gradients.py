"""Analytic derivatives of the calibration checked against numerical differentiation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from sapa.errors import ConvergenceWarning
from sapa.irt._estep import accumulate
from sapa.irt._mstep import ItemBlock, _BlockProblem, block_objective, observed_score
from sapa.irt._stderr import oakes_covariance
from sapa.irt.estimate import IRTModel, _log_prior
from sapa.irt.models import ItemBank

THETA = np.linspace(-6, 6, 61)

BLOCKS = {
    # model: (n_categories, parameters on the internal scale, prior kinds per parameter)
    "2PL": (2, [[1.2, -0.4], [0.6, 1.1]], ["lnorm", "norm"]),
    "3PL": (2, [[1.4, -0.2, -1.3], [0.9, 0.5, -0.7]], ["lnorm", "norm", "beta"]),
    "GRM": (4, [[1.1, 1.5, 0.2, -1.0], [0.7, 2.0, -0.5, -1.5]], ["none", "norm", "none", "norm"]),
    "GPCM": (3, [[0.8, 0.4, -0.6], [1.3, -0.2, 0.3]], ["lnorm", "norm", "none"]),
}


def _problem(model: str, rng: np.random.Generator) -> tuple[_BlockProblem, np.ndarray]:
    n_categories, params, priors = BLOCKS[model]
    params = np.asarray(params, dtype=np.float64)
    n_items, n_params = params.shape
    kinds = np.array([priors] * n_items, dtype=object)
    first = np.where(kinds == "beta", 5.0, np.where(kinds == "lnorm", 0.0, 0.3))
    second = np.where(kinds == "beta", 17.0, np.where(kinds == "lnorm", 0.5, 2.0))
    is_guess = np.zeros((n_items, n_params), dtype=bool)
    if model == "3PL":
        is_guess[:, 2] = True
    problem = _BlockProblem(
        block=ItemBlock(model, n_categories, np.arange(n_items), np.arange(n_params)),
        counts=rng.gamma(2.0, 3.0, (THETA.size, n_items, n_categories)),
        theta=THETA,
        free=np.ones((n_items, n_params), dtype=bool),
        lower=np.full((n_items, n_params), -np.inf),
        upper=np.full((n_items, n_params), np.inf),
        prior_kind=kinds,
        prior_1=first,
        prior_2=second,
        is_guess=is_guess,
    )
    return problem, params


@pytest.mark.parametrize("model", sorted(BLOCKS))
def test_item_gradient_matches_numerical(model: str) -> None:
    problem, params = _problem(model, np.random.default_rng(1))
    _, grad, _ = block_objective(problem, params)
    for j in range(params.shape[0]):

        def objective(row: np.ndarray, j: int = j) -> float:
            moved = params.copy()
            moved[j] = row
            return float(block_objective(problem, moved)[0][j])

        numerical = approx_fprime(params[j], objective, 1e-7)
        np.testing.assert_allclose(grad[j], numerical, rtol=1e-5, atol=1e-4)


def test_2pl_information_is_the_negative_hessian() -> None:
    # For the logit link with θ known, −∂²Q/∂β² = Σ_q N_q σ(1−σ) x xᵀ does not depend on r_1q:
    # the expected information used by Fisher scoring is the exact Hessian (no prior here).
    problem, params = _problem("2PL", np.random.default_rng(2))
    problem = _BlockProblem(**{**problem.__dict__, "prior_kind": np.full((2, 2), "none", object)})
    _, _, info = block_objective(problem, params)
    for j in range(2):

        def gradient(row: np.ndarray, j: int = j) -> np.ndarray:
            moved = params.copy()
            moved[j] = row
            return block_objective(problem, moved)[1][j]

        hessian = np.column_stack(
            [(gradient(params[j] + h) - gradient(params[j] - h)) / 2e-6 for h in np.eye(2) * 1e-6]
        )
        np.testing.assert_allclose(info[j], -hessian, rtol=1e-6)


def test_observed_score_is_the_loglik_gradient(simulate) -> None:
    # Fisher identity: the complete-data score at the E-step's own parameters is the gradient of
    # the marginal log-likelihood; checked for items (incl. logit g) and group mean/variance.
    rng = np.random.default_rng(3)
    bank = ItemBank(
        names=("a", "b", "c", "d"),
        models=("2PL", "3PL", "GRM", "GPCM"),
        slopes=[1.1, 1.4, 0.9, 0.8],
        intercepts=[[0.3, np.nan], [-0.5, np.nan], [1.0, -0.7], [0.4, -0.2]],
        guessing=[0.0, 0.2, 0.0, 0.0],
        n_categories=[2, 2, 3, 3],
    )
    theta = np.concatenate([rng.normal(0, 1, 300), rng.normal(0.4, 1.3, 300)])
    responses = simulate(bank, theta, rng, missing=0.1)
    groups = np.repeat(["ref", "focal"], 300)
    model = IRTModel(model=["2PL", "3PL", "GRM", "GPCM"], max_iter=3, tol=1e-12)
    with pytest.warns(ConvergenceWarning):
        model.fit(responses, groups=groups)
    spec = model.result_._spec
    data = model.result_._data
    centre = spec.free_vector()

    def loglik(vector: np.ndarray) -> float:
        moved = spec.with_free_vector(vector)
        quadrature = moved.quadrature(61, 6.0)
        stats = accumulate(data.responses, data.weights, moved.bank(), quadrature, data.groups)
        return stats.loglik + _log_prior(moved)

    quadrature = spec.quadrature(61, 6.0)
    stats = accumulate(data.responses, data.weights, spec.bank(), quadrature, data.groups)
    analytic = observed_score(spec, stats, quadrature.nodes)
    numerical = np.array(
        [(loglik(centre + h) - loglik(centre - h)) / 2e-6 for h in np.eye(centre.size) * 1e-6]
    )
    assert spec.group_free.sum() == 2
    np.testing.assert_allclose(analytic, numerical, rtol=1e-5, atol=1e-4)


def test_oakes_equals_brute_force_hessian(lsat7) -> None:
    patterns, freq = lsat7
    model = IRTModel(tol=1e-8).fit(patterns, weights=freq)
    spec, data = model.result_._spec, model.result_._data
    centre = spec.free_vector()

    def loglik(vector: np.ndarray) -> float:
        moved = spec.with_free_vector(vector)
        return accumulate(
            data.responses, data.weights, moved.bank(), moved.quadrature(61, 6.0)
        ).loglik

    h = 1e-4
    steps = np.eye(centre.size) * h
    hessian = np.array(
        [
            [
                (
                    loglik(centre + si + sj)
                    - loglik(centre + si - sj)
                    - loglik(centre - si + sj)
                    + loglik(centre - si - sj)
                )
                / (4 * h * h)
                for sj in steps
            ]
            for si in steps
        ]
    )
    brute = np.linalg.inv(-hessian)
    oakes = oakes_covariance(spec, data, 61, 6.0)
    np.testing.assert_allclose(np.sqrt(np.diag(oakes)), np.sqrt(np.diag(brute)), rtol=1e-5)
