"""The «1000 Leaders of Change» programme: its funnel, and the change in schools it reaches.

:func:`leadership_indicators` follows each intake from application to appointment, per region
and for the nation. :func:`difference_in_differences` estimates how a school indicator changed
in the schools of appointed reservists against comparable schools, with a cluster-robust
interval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError, ModelSpecError, Problem
from sapa.indicators._table import (
    ALL,
    MIN_CELL,
    NATION,
    Units,
    as_dates,
    check_tables,
    indicator_table,
    suppress,
)

__all__ = ["DiDResult", "difference_in_differences", "leadership_indicators"]

DID = "did"
"""Label of the difference-in-differences effect in :attr:`DiDResult.params`."""

_REQUIRED = {
    "teacher": ("code", "organization_code"),
    "leader_candidate": ("code", "teacher_code", "intake_year", "applied_on"),
    "leader_selection": ("leader_candidate_code", "decision", "decided_on"),
    "leader_cohort": ("code", "ends_on"),
    "leader_cohort_member": ("leader_cohort_code", "leader_candidate_code", "status"),
    "leader_reserve": ("leader_candidate_code", "included_on"),
    "head_appointment": ("leader_candidate_code", "position", "appointed_on"),
}

_STAGES = ("applicants", "admitted", "trained", "reservists", "appointed")


def leadership_indicators(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    *,
    on: dt.date,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """The programme's funnel per intake, region and nation as it stands on one day.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Stored entities in file layout: ``teacher``, ``leader_candidate``,
        ``leader_selection``, ``leader_cohort``, ``leader_cohort_member``, ``leader_reserve``
        and ``head_appointment``.
    units : Units
        The school hierarchy; a candidate belongs to the region of the school on file for the
        teacher, and candidates of schools outside it are ignored.
    on : datetime.date
        Events dated after this day are not counted.
    min_cell : int, default :data:`~sapa.indicators._table.MIN_CELL`
        The share appointed is suppressed below this many reservists.

    Returns
    -------
    DataFrame
        An indicator table at the region and nation levels, for every region, with subgroups
        ``all`` and ``intake=<year>`` for every intake year that had applied by ``on``:

        ``leadership.applicants``
            Applications filed (``applied_on ≤ on``).
        ``leadership.admitted``
            Candidates admitted by the selection (decision ``admitted`` by ``on``).
        ``leadership.trained``
            Candidates who completed a training cohort that ended by ``on``.
        ``leadership.reservists``
            Candidates included in the personnel reserve by ``on``.
        ``leadership.appointed``
            Candidates appointed head from the programme (a ``head_appointment`` with
            position ``head`` naming the application) by ``on``.
        ``leadership.appointed_share``
            Share of the reservists appointed head; ``n`` = reservists, suppressed below
            ``min_cell``.

        Counts carry ``n`` = applicants of the cell, the base of the funnel.

    Raises
    ------
    DataValidationError
        A required table or column is missing.
    """
    check_tables(tables, _REQUIRED)
    day = pd.Timestamp(on)
    candidates = tables["leader_candidate"]
    school_of = tables["teacher"].set_index("code")["organization_code"]
    school = school_of.reindex(candidates["teacher_code"].to_numpy()).to_numpy()
    inside = pd.Series(school).isin(units.frame.index).to_numpy()
    candidates = candidates[inside]
    codes = candidates["code"]

    selection = tables["leader_selection"]
    admitted = selection.loc[
        (selection["decision"] == "admitted") & (as_dates(selection["decided_on"]) <= day),
        "leader_candidate_code",
    ]
    members = tables["leader_cohort_member"]
    ended = tables["leader_cohort"].set_index("code")["ends_on"]
    cohort_end = as_dates(ended.reindex(members["leader_cohort_code"].to_numpy()))
    trained = members.loc[
        (members["status"] == "completed").to_numpy() & (cohort_end <= day).to_numpy(),
        "leader_candidate_code",
    ]
    reserve = tables["leader_reserve"]
    reservists = reserve.loc[as_dates(reserve["included_on"]) <= day, "leader_candidate_code"]
    appointments = tables["head_appointment"]
    appointed = appointments.loc[
        (appointments["position"] == "head") & (as_dates(appointments["appointed_on"]) <= day),
        "leader_candidate_code",
    ]

    flags = pd.DataFrame(
        {
            "region": units.of(school[inside], "region"),
            "intake": candidates["intake_year"].astype(np.int64).to_numpy(),
            "applicants": (as_dates(candidates["applied_on"]) <= day).to_numpy(),
            "admitted": codes.isin(admitted).to_numpy(),
            "trained": codes.isin(trained).to_numpy(),
            "reservists": codes.isin(reservists).to_numpy(),
            "appointed": codes.isin(appointed).to_numpy(),
        }
    )
    flags["appointed_reservists"] = flags["reservists"] & flags["appointed"]
    flags = flags[flags["applicants"]].assign(nation=NATION)
    intakes = sorted(flags["intake"].unique())

    parts = []
    regions = pd.Index(units.frame["region"].unique()).sort_values()
    for level, universe in (("region", regions), ("nation", pd.Index([NATION]))):
        for intake in (None, *intakes):
            rows = flags if intake is None else flags[flags["intake"] == intake]
            subgroup = ALL if intake is None else f"intake={intake}"
            columns = [*_STAGES, "appointed_reservists"]
            sums = rows.groupby(level)[columns].sum().reindex(universe, fill_value=0)
            base = {"level": level, "unit": universe, "subgroup": subgroup}
            for stage in _STAGES:
                count = pd.DataFrame(
                    {
                        **base,
                        "indicator": f"leadership.{stage}",
                        "value": sums[stage].to_numpy(np.float64),
                        "n": sums["applicants"].to_numpy(np.int64),
                    }
                )
                parts.append(indicator_table(count))
            held = sums["reservists"].to_numpy(np.float64)
            share = pd.DataFrame(
                {
                    **base,
                    "indicator": "leadership.appointed_share",
                    "value": np.divide(
                        sums["appointed_reservists"].to_numpy(np.float64),
                        held,
                        out=np.full_like(held, np.nan),
                        where=held > 0,
                    ),
                    "n": held.astype(np.int64),
                }
            )
            parts.append(suppress(indicator_table(share), min_cell))
    return pd.concat(parts, ignore_index=True)


class DiDResult:
    """A two-way fixed-effects difference-in-differences estimate (statsmodels-style).

    Attributes
    ----------
    params : Series
        The effect (index ``"did"``) and the covariates' coefficients.
    cov_params : DataFrame
        Their cluster-robust covariance matrix.
    nobs : int
        Observations (unit-periods).
    n_clusters : int
        Clusters ``G``.
    df_resid : int
        Degrees of freedom of the t intervals and tests, ``G − 1``.
    """

    def __init__(
        self, params: pd.Series, cov_params: pd.DataFrame, nobs: int, n_clusters: int
    ) -> None:
        self.params = params
        self.cov_params = cov_params
        self.nobs = nobs
        self.n_clusters = n_clusters
        self.df_resid = n_clusters - 1

    @cached_property
    def bse(self) -> pd.Series:
        """Cluster-robust standard errors of :attr:`params`."""
        return pd.Series(np.sqrt(np.diag(self.cov_params.to_numpy())), index=self.params.index)

    @cached_property
    def tvalues(self) -> pd.Series:
        """``params / bse``."""
        return self.params / self.bse

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from Student's t with :attr:`df_resid` degrees of freedom."""
        return pd.Series(
            2.0 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.df_resid),
            index=self.params.index,
        )

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``1 − alpha`` intervals ``params ± t_{1−α/2, G−1}·bse``, columns ``lower``, ``upper``.

        Raises
        ------
        InvalidParameterError
            ``alpha`` is not in (0, 1).
        """
        validate_params(
            "DiDResult.conf_int",
            {"alpha": Interval(float, 0.0, 1.0, closed="neither")},
            {"alpha": alpha},
        )
        half = stats.t.ppf(1.0 - alpha / 2.0, self.df_resid) * self.bse
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})

    def to_frame(self) -> pd.DataFrame:
        """Estimates with ``se``, ``t``, ``p`` and 95% limits, one row per parameter."""
        interval = self.conf_int()
        return pd.DataFrame(
            {
                "estimate": self.params,
                "se": self.bse,
                "t": self.tvalues,
                "p": self.pvalues,
                "lower": interval["lower"],
                "upper": interval["upper"],
            }
        )

    def summary(self) -> str:
        """A plain-text report of the estimate and its inference."""
        header = [
            "Difference in differences (two-way fixed effects, OLS)",
            f"  observations: {self.nobs}   clusters: {self.n_clusters}   "
            f"t degrees of freedom: {self.df_resid}",
            "  standard errors: cluster-robust (CR1)",
            "",
        ]
        return "\n".join(header) + self.to_frame().to_string(float_format=lambda v: f"{v:.4f}")


def difference_in_differences(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    period: str,
    treated: str,
    post: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
) -> DiDResult:
    """Estimate a difference in differences by two-way fixed-effects regression.

    Parameters
    ----------
    panel : DataFrame
        One row per unit and period (balanced or not).
    outcome : str
        Column of the outcome ``y``.
    unit, period : str
        Columns identifying the unit (e.g. the school) and the period (e.g. the year).
    treated : str
        Column, 0/1 or boolean: the unit belongs to the treated group.
    post : str
        Column, 0/1 or boolean: the period follows the treatment.
    covariates : sequence of str, default ()
        Columns of time-varying controls.
    cluster : str, optional
        Column of the clusters of the standard errors; default ``unit``. Units must be nested
        in clusters.

    Returns
    -------
    DiDResult

    Raises
    ------
    DataValidationError
        A column is missing, holds missing values, or ``treated``/``post`` are not 0/1.
    ModelSpecError
        The effect is not identified (no treated or no untreated unit-period after removing
        unit and period effects, or collinear covariates), or fewer than two clusters.

    Notes
    -----
    The model is

        y_it = α_i + λ_t + δ · D_it + x_itᵀβ + ε_it,    D_it = treated_i · post_t,

    whose OLS estimate ``δ̂`` is the difference in differences; in a 2 × 2 design it equals
    ``(ȳ_T,post − ȳ_T,pre) − (ȳ_C,post − ȳ_C,pre)`` of the four group means. Unit effects are
    absorbed by demeaning every column within units, period effects enter as dummies (the
    Frisch–Waugh–Lovell theorem makes this exact in unbalanced panels too). The covariance is
    the cluster-robust sandwich

        V = G/(G − 1) · (N − 1)/(N − K) · (ZᵀZ)⁻¹ (Σ_g Z_gᵀ û_g û_gᵀ Z_g) (ZᵀZ)⁻¹

    on the demeaned regressors ``Z`` (``K`` columns, absorbed unit effects not counted, as is
    right when units are nested in clusters), and intervals use Student's t with ``G − 1``
    degrees of freedom (Cameron & Miller 2015). Clustering by unit makes the errors robust to
    serial correlation within units, which otherwise makes DiD intervals far too narrow
    (Bertrand, Duflo & Mullainathan 2004). The estimate is the average effect on the treated
    when effects are homogeneous over time and parallel trends hold; with treatment starting at
    different times and heterogeneous effects two-way fixed effects is biased (Goodman-Bacon
    2021).

    References
    ----------
    Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
    differences-in-differences estimates? *Quarterly Journal of Economics* 119, 249–275.
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50, 317–372.
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
    *Journal of Econometrics* 225, 254–277.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({
    ...     "school": ["a", "a", "b", "b", "c", "c", "d", "d"],
    ...     "year": [2023, 2024] * 4,
    ...     "treated": [1, 1, 1, 1, 0, 0, 0, 0],
    ...     "post": [0, 1] * 4,
    ...     "score": [10.0, 14.0, 12.0, 15.0, 11.0, 12.0, 9.0, 11.0],
    ... })
    >>> result = difference_in_differences(
    ...     panel, outcome="score", unit="school", period="year", treated="treated", post="post"
    ... )
    >>> round(float(result.params["did"]), 6)  # (14.5 − 11) − (11.5 − 10)
    2.0
    """
    cluster = unit if cluster is None else cluster
    columns = list(dict.fromkeys([outcome, unit, period, treated, post, *covariates, cluster]))
    _check_panel(panel, columns, (treated, post))
    units_code, _ = pd.factorize(panel[unit], sort=True)
    period_code, periods = pd.factorize(panel[period], sort=True)
    effect = (panel[treated].astype(np.float64) * panel[post].astype(np.float64)).to_numpy()
    regressors = np.column_stack(
        [
            effect,
            panel[list(covariates)].to_numpy(np.float64).reshape(len(panel), len(covariates)),
            (period_code[:, None] == np.arange(1, len(periods))).astype(np.float64),
        ]
    )
    y = _within(panel[outcome].to_numpy(np.float64), units_code)
    z = _within(regressors, units_code)
    names = [DID, *covariates]
    if np.linalg.matrix_rank(z) < z.shape[1]:
        raise ModelSpecError(
            "The difference in differences is not identified: after removing unit and period "
            "effects the treatment indicator (treated × post) and the covariates are collinear. "
            "Check that some units change treatment status over time and drop redundant "
            "covariates."
        )
    clusters, labels = pd.factorize(panel[cluster])
    if len(labels) < 2:
        raise ModelSpecError(
            f"Cluster-robust standard errors need at least 2 clusters. Got {len(labels)} instead."
        )
    bread = np.linalg.inv(z.T @ z)
    beta = bread @ (z.T @ y)
    residual = y - z @ beta
    scores = np.zeros((len(labels), z.shape[1]))
    np.add.at(scores, clusters, z * residual[:, None])
    n, k, g = len(y), z.shape[1], len(labels)
    factor = g / (g - 1) * (n - 1) / (n - k)
    covariance = factor * bread @ (scores.T @ scores) @ bread
    keep = len(names)
    return DiDResult(
        params=pd.Series(beta[:keep], index=names),
        cov_params=pd.DataFrame(covariance[:keep, :keep], index=names, columns=names),
        nobs=n,
        n_clusters=g,
    )


def _within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``values`` minus their means within ``groups`` (rows), column by column."""
    matrix = values.reshape(len(values), -1)
    counts = np.bincount(groups)
    means = np.column_stack(
        [np.bincount(groups, matrix[:, j]) / counts for j in range(matrix.shape[1])]
    )
    centred = matrix - means[groups]
    return centred.reshape(values.shape)


def _check_panel(panel: pd.DataFrame, columns: Sequence[str], binary: Sequence[str]) -> None:
    """Raise one :class:`DataValidationError` for missing columns, missing values and
    treatment indicators that are not 0/1."""
    problems = [Problem("<panel>", None, c, "column is missing") for c in columns if c not in panel]
    if not problems:
        for column in columns:
            empty = int(panel[column].isna().sum())
            if empty:
                problems.append(Problem("<panel>", None, column, f"{empty} missing value(s)"))
        for column in binary:
            values = pd.to_numeric(panel[column].dropna(), errors="coerce")
            if not values.isin([0, 1]).all():
                problems.append(Problem("<panel>", None, column, "values must be 0/1 or boolean"))
    if problems:
        raise DataValidationError(problems)
