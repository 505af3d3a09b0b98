"""Reporting scales and proficiency levels.

Results are published on a reporting metric fixed once, in a base year: the base-year population's
θ distribution is mapped to a chosen mean and standard deviation (e.g. 500 and 100, as in PISA and
TIMSS). Later cycles are first linked to the base-year θ scale (:mod:`sapa.irt.linking`) and then
reported through the same transformation, so scores are comparable over time.

    score = scale_mean + scale_sd · (θ − θ_mean) / θ_sd

Proficiency levels are intervals of the reporting scale between ascending cut scores; a score
equal to a cut score belongs to the higher level ("at or above the cut").

References
----------
OECD (2009). *PISA Data Analysis Manual* (2nd ed.), ch. 6 and 9 — statistics computed once per
plausible value and averaged.
Kolen, M. J. (2006). Scaling and norming. In R. L. Brennan (Ed.), *Educational Measurement* (4th
ed.), 155–186.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from sapa.errors import DataValidationError, InvalidParameterError, Problem

__all__ = ["ProficiencyLevels", "ReportingScale"]


def _weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64]:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise DataValidationError(
            Problem("<weights>", None, None, f"need {n} finite non-negative weights, not all 0")
        )
    return w / w.sum()


def _weighted_moments(values: NDArray[np.float64], w: NDArray[np.float64]) -> tuple[float, float]:
    """Weighted mean and (population, weights normalised) standard deviation."""
    mean = float(w @ values)
    return mean, float(np.sqrt(w @ (values - mean) ** 2))


@dataclass(frozen=True)
class ReportingScale:
    """A linear map from the θ scale to the reporting metric.

    Parameters
    ----------
    theta_mean, theta_sd : float
        Mean and standard deviation of the base-year population on the θ scale.
    scale_mean, scale_sd : float
        The reporting metric's mean and standard deviation for that population (default 500, 100).
    """

    theta_mean: float = 0.0
    theta_sd: float = 1.0
    scale_mean: float = 500.0
    scale_sd: float = 100.0

    def __post_init__(self) -> None:
        for name in ("theta_mean", "theta_sd", "scale_mean", "scale_sd"):
            value = getattr(self, name)
            if not np.isfinite(value) or (name.endswith("sd") and value <= 0):
                kind = "a positive finite float" if name.endswith("sd") else "a finite float"
                raise InvalidParameterError(
                    f"The '{name}' parameter of ReportingScale must be {kind}. "
                    f"Got {value!r} instead."
                )

    @property
    def slope(self) -> float:
        """Reporting points per θ unit, scale_sd / θ_sd."""
        return self.scale_sd / self.theta_sd

    @property
    def intercept(self) -> float:
        """Reporting score at θ = 0."""
        return self.scale_mean - self.slope * self.theta_mean

    @classmethod
    def from_theta(
        cls,
        theta: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        scale_mean: float = 500.0,
        scale_sd: float = 100.0,
    ) -> ReportingScale:
        """Fix the scale on base-year θ values (e.g. EAP estimates), optionally weighted.

        The standard deviation is the weighted population SD (weights normalised to 1), so the
        transformed base-year values have exactly ``scale_mean`` and ``scale_sd``.
        """
        values = np.asarray(theta, dtype=np.float64).reshape(-1)
        mean, sd = _weighted_moments(values, _weights(weights, values.size))
        return cls(theta_mean=mean, theta_sd=sd, scale_mean=scale_mean, scale_sd=scale_sd)

    @classmethod
    def from_plausible_values(
        cls,
        plausible_values: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        scale_mean: float = 500.0,
        scale_sd: float = 100.0,
    ) -> ReportingScale:
        """Fix the scale on base-year plausible values, shape (n_persons, n_plausible).

        The weighted mean and SD are computed for each plausible value and averaged (OECD 2009),
        so that the base-year population averages ``scale_mean`` and ``scale_sd`` over the PVs.
        """
        pvs = np.asarray(plausible_values, dtype=np.float64)
        if pvs.ndim != 2:
            raise DataValidationError(
                Problem("<plausible values>", None, None, "need shape (n_persons, n_plausible)")
            )
        w = _weights(weights, pvs.shape[0])
        moments = np.array([_weighted_moments(pvs[:, m], w) for m in range(pvs.shape[1])])
        mean, sd = moments.mean(axis=0)
        return cls(
            theta_mean=float(mean), theta_sd=float(sd), scale_mean=scale_mean, scale_sd=scale_sd
        )

    def for_linked_scale(self, A: float, B: float) -> ReportingScale:  # noqa: N803
        """The reporting map for θ on a scale linked to this one by θ_base = A·θ + B.

        Scoring a new cycle's θ with the returned scale equals transforming it to the base θ
        scale and scoring with ``self``.
        """
        if not A > 0:
            raise InvalidParameterError(f"The linking slope A must be positive. Got {A!r} instead.")
        return ReportingScale(
            theta_mean=(self.theta_mean - B) / A,
            theta_sd=self.theta_sd / A,
            scale_mean=self.scale_mean,
            scale_sd=self.scale_sd,
        )

    def to_scale(self, theta: ArrayLike) -> NDArray[np.float64]:
        """θ → reporting score."""
        return self.intercept + self.slope * np.asarray(theta, dtype=np.float64)

    def to_theta(self, score: ArrayLike) -> NDArray[np.float64]:
        """Reporting score → θ (the inverse of :meth:`to_scale`)."""
        return (np.asarray(score, dtype=np.float64) - self.intercept) / self.slope

    def se_to_scale(self, se: ArrayLike) -> NDArray[np.float64]:
        """Standard errors of θ → reporting points (multiplied by :attr:`slope`)."""
        return self.slope * np.asarray(se, dtype=np.float64)

    def se_to_theta(self, se: ArrayLike) -> NDArray[np.float64]:
        """Standard errors in reporting points → θ units."""
        return np.asarray(se, dtype=np.float64) / self.slope


@dataclass(frozen=True)
class ProficiencyLevels:
    """Named intervals of the reporting scale.

    Parameters
    ----------
    cut_scores : sequence of float
        Strictly ascending lower bounds of every level but the lowest.
    labels : sequence of str
        ``len(cut_scores) + 1`` level names, lowest first.

    Examples
    --------
    >>> names = ["below basic", "basic", "proficient", "advanced"]
    >>> levels = ProficiencyLevels([400, 475, 550], names)
    >>> list(levels.classify([399.9, 400, 560]))
    ['below basic', 'basic', 'advanced']
    """

    cut_scores: Sequence[float]
    labels: Sequence[str]

    def __post_init__(self) -> None:
        cuts = tuple(float(c) for c in self.cut_scores)
        labels = tuple(str(label) for label in self.labels)
        if not cuts or not np.all(np.isfinite(cuts)) or np.any(np.diff(cuts) <= 0):
            raise InvalidParameterError(
                "The 'cut_scores' parameter of ProficiencyLevels must be strictly ascending "
                f"finite numbers. Got {list(self.cut_scores)!r} instead."
            )
        if len(labels) != len(cuts) + 1 or len(set(labels)) != len(labels):
            raise InvalidParameterError(
                "The 'labels' parameter of ProficiencyLevels must be "
                f"{len(cuts) + 1} distinct names. Got {list(self.labels)!r} instead."
            )
        object.__setattr__(self, "cut_scores", cuts)
        object.__setattr__(self, "labels", labels)

    def level_index(self, scores: ArrayLike) -> NDArray[np.intp]:
        """Level number (0 = lowest) of each score; a score equal to a cut is in the higher
        level. NaN scores get −1."""
        values = np.asarray(scores, dtype=np.float64)
        index = np.searchsorted(np.asarray(self.cut_scores), values, side="right")
        return np.where(np.isnan(values), -1, index)

    def classify(self, scores: ArrayLike) -> pd.Categorical:
        """Level label of each score (1-D) as an ordered categorical; NaN stays missing."""
        index = self.level_index(np.asarray(scores, dtype=np.float64).reshape(-1))
        return pd.Categorical.from_codes(index, categories=list(self.labels), ordered=True)

    def shares_by_pv(self, scores: ArrayLike, weights: ArrayLike | None = None) -> pd.DataFrame:
        """Weighted share of persons in each level, one row per plausible value.

        ``scores`` is (n_persons,) or (n_persons, n_plausible) on the reporting scale; persons
        with a NaN score are left out of that PV's shares.
        """
        values = np.asarray(scores, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        w = _weights(weights, values.shape[0])
        index = self.level_index(values)
        rows = []
        for m in range(values.shape[1]):
            valid = index[:, m] >= 0
            counts = np.bincount(index[valid, m], weights=w[valid], minlength=len(self.labels))
            rows.append(counts / w[valid].sum())
        return pd.DataFrame(
            rows,
            columns=pd.Index(self.labels, name="level"),
            index=pd.RangeIndex(values.shape[1], name="pv"),
        )

    def shares(
        self, scores: ArrayLike, weights: ArrayLike | None = None, *, at_or_above: bool = False
    ) -> pd.Series:
        """Weighted share of persons in each level, averaged over plausible values.

        With plausible values (2-D ``scores``) the share is computed for each PV and the M shares
        are averaged (OECD 2009) — never by classifying a mean of PVs, which biases shares
        towards the middle levels. ``at_or_above`` gives cumulative shares from the top (share
        at or above each level).
        """
        share = self.shares_by_pv(scores, weights).mean(axis=0)
        if at_or_above:
            share = share[::-1].cumsum()[::-1]
        share.name = "share_at_or_above" if at_or_above else "share"
        return share
