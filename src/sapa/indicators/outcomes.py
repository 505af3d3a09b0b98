"""Learning outcomes: mean scores, proficiency-level shares and gaps, with honest uncertainty.

:func:`outcome_indicators` turns one domain's plausible values into the indicator table of
:mod:`sapa.indicators._table` for every school, district, region and the nation, for all pupils
and for each subgroup (language of instruction, sex, urban/rural, small-class schools). Every
value carries a standard error that combines sampling error (cluster-robust with schools as
clusters for census data, or replicate weights for sample studies) with the measurement error of
the plausible values (Rubin's rules); the estimation core is :mod:`sapa.indicators._variance`.
Cells resting on fewer pupils than the publication threshold are suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError, InvalidParameterError, Problem
from sapa.indicators._table import ALL, LEVELS, MIN_CELL, Units, indicator_table, suppress
from sapa.indicators._variance import METHODS, PVEstimate, SamplingDesign, domain_ratios
from sapa.irt.scales import ProficiencyLevels

__all__ = ["SUBGROUPS", "outcome_indicators"]

SUBGROUPS = ("language", "sex", "locality", "small_class")
"""Default subgroup columns of the pupil table."""

GAP_LEVELS = ("region", "nation")
"""Levels at which gaps between subgroups are reported."""

_ALPHA = 0.05

IntArray = NDArray[np.intp]
Block = dict[str, NDArray[Any]]


def outcome_indicators(
    scores: pd.DataFrame,
    pupils: pd.DataFrame,
    units: Units,
    *,
    domain: str,
    levels: ProficiencyLevels,
    weights: pd.Series | None = None,
    replicate_weights: pd.DataFrame | None = None,
    replicate_method: str = "cluster",
    fay_k: float = 0.5,
    subgroups: Sequence[str] = SUBGROUPS,
    minimum_level: str | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Mean scores, proficiency-level shares and subgroup gaps of one domain, per unit.

    Parameters
    ----------
    scores : DataFrame
        Indexed by pupil code, one column per plausible value (``PV1 … PVM``) on the reporting
        scale (mean 500, SD 100); the first column is the one whose sampling variance is used.
        Pupils whose values are all missing were not assessed and are left out.
    pupils : DataFrame
        Indexed by pupil code, with a ``school`` column (school code) and the ``subgroups``
        columns; may hold more pupils than ``scores``.
    units : Units
        The school → district → region hierarchy.
    domain : str
        Domain code used in the indicator codes (e.g. ``"math"``).
    levels : ProficiencyLevels
        Cut scores and level labels.
    weights : Series, optional
        Final pupil weights indexed by pupil code; all 1 (a census) when omitted.
    replicate_weights : DataFrame, optional
        Replicate weights indexed by pupil code, one column per replicate; required by, and
        only allowed with, a replicate method.
    replicate_method : {"cluster", "jk1", "jk2", "brr", "fay"}, default "cluster"
        Sampling-variance method above the school level: cluster-robust with schools as
        clusters, or a replicate-weight method (see :mod:`sapa.indicators._variance`).
    fay_k : float, default 0.5
        Fay's factor for ``replicate_method="fay"`` (PISA: 0.5).
    subgroups : sequence of str, default ("language", "sex", "locality", "small_class")
        Columns of ``pupils`` that define subgroups; missing values belong to no subgroup.
    minimum_level : str, optional
        Label of the national minimum level for the "at or above" share; the second label by
        default.
    min_cell : int, default 10
        Rows resting on fewer pupils are suppressed (value and uncertainty withheld).

    Returns
    -------
    DataFrame
        An indicator table (columns of :data:`~sapa.indicators._table.COLUMNS`) with the rows

        * ``outcomes.mean.<domain>``: mean score;
        * ``outcomes.level_<label>.<domain>``: share (0–1) of pupils in each level;
        * ``outcomes.at_or_above_<minimum_level>.<domain>``: share at or above the minimum;

        for every unit at the levels school, district, region and nation that has pupils, for
        subgroup ``"all"`` and each subgroup value (``"language=kk"``); and
        ``outcomes.gap.<domain>``, the difference of mean scores between two values of a
        subgroup at region and nation level (subgroup ``"language=kk-ru"`` is kk minus ru).
        ``ci_low``/``ci_high`` bound a 95 % interval; ``n`` counts pupils (for a gap, those of
        the smaller group, on which its suppression rests).

    Raises
    ------
    InvalidParameterError
        For an unknown method, ``fay_k`` out of [0, 1), replicate weights that do not match the
        method, an unknown ``minimum_level`` or ``min_cell`` below 1.
    DataValidationError
        For scores that are partly missing or non-finite, pupils without a school or weight,
        schools outside ``units`` or missing subgroup columns.

    Notes
    -----
    Statistics are computed on each plausible value and combined by Rubin's rules; shares
    classify every plausible value separately (OECD 2009, ch. 9). The sampling variance is that
    of the first plausible value (EdSurvey's ``jrrIMax = 1``). Intervals are
    ``θ̂ ± t_{0.975, ν} SE`` with Rubin's (1987) degrees of freedom ``ν``.

    Above the school level the sampling variance comes from ``replicate_method``. Within one
    school the sampling units are its pupils whatever the method: replicate weights replicate
    the selection of schools and cannot measure a single school's uncertainty (a Fay or BRR
    replicate rescales all of a school's weights, leaving its ratios unchanged, and JK2 drops
    it), so school rows use the linearised variance with every pupil a cluster (for an
    unweighted mean, ``s²/n``). The cluster-robust variance is a superpopulation variance: the
    uncertainty of a unit's result as an estimate of what its schools and pupils produce, the
    relevant one for comparing units even in a census.

    Subgroup values are ordered by their categories for a categorical column, otherwise sorted
    (so ``False`` before ``True``); a gap is reported for every ordered pair of values present in
    the unit, the earlier value minus the later.

    References
    ----------
    OECD (2009). *PISA Data Analysis Manual: SPSS* (2nd ed.), chs. 8–9.
    Rubin, D. B. (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
    """
    subgroups = tuple(subgroups)
    validate_params(
        "outcome_indicators",
        {
            "domain": str,
            "replicate_method": frozenset(METHODS),
            "fay_k": Interval(float, 0.0, 1.0, closed="left"),
            "minimum_level": [None, frozenset(levels.labels)],
            "min_cell": Interval(int, 1, None),
        },
        {
            "domain": domain,
            "replicate_method": replicate_method,
            "fay_k": fay_k,
            "minimum_level": minimum_level,
            "min_cell": min_cell,
        },
    )
    if (replicate_weights is None) != (replicate_method == "cluster"):
        raise InvalidParameterError(
            "The 'replicate_weights' parameter of outcome_indicators must be given exactly when "
            f"'replicate_method' is a replicate method. Got {replicate_method!r} "
            f"{'without' if replicate_weights is None else 'with'} replicate weights instead."
        )
    minimum = levels.labels.index(minimum_level or levels.labels[1])

    pv, frame = _aligned(scores, pupils, units, subgroups)
    index = frame.index
    w = None if weights is None else _reindexed(weights, index, "<weights>").to_numpy(float)
    reps = (
        None
        if replicate_weights is None
        else _reindexed(replicate_weights, index, "<replicate weights>").to_numpy(float)
    )
    values = _outcome_values(pv, levels, minimum)
    names = (
        [f"outcomes.mean.{domain}"]
        + [f"outcomes.level_{label}.{domain}" for label in levels.labels]
        + [f"outcomes.at_or_above_{levels.labels[minimum]}.{domain}"]
    )

    school_codes, schools = pd.factorize(frame["school"])
    within_school = SamplingDesign(weights=w)
    between_schools = (
        SamplingDesign(weights=w, clusters=school_codes)
        if reps is None
        else SamplingDesign(weights=w, replicate_weights=reps, method=replicate_method, fay_k=fay_k)
    )
    partitions = [(ALL, np.zeros(len(index), np.intp), [ALL])] + [
        (column, *_value_codes(frame[column])) for column in subgroups
    ]
    blocks = []
    for level in LEVELS:
        unit_of_school, unit_labels = pd.factorize(units.of(schools, level))
        unit = unit_of_school[school_codes]
        design = within_school if level == "school" else between_schools
        for column, codes, labels in partitions:
            n_values = len(labels)
            cells = np.where(codes >= 0, unit * n_values + codes, -1)
            n_cells = len(unit_labels) * n_values
            counts = np.bincount(cells[cells >= 0], minlength=n_cells)
            subgroup = np.asarray(
                [ALL] if column == ALL else [f"{column}={v}" for v in labels], dtype=object
            )
            keep = np.flatnonzero(counts > 0)
            blocks.append(
                _rows(
                    domain_ratios(values, design, cells, n_cells),
                    keep,
                    names,
                    level=level,
                    unit=np.asarray(unit_labels, dtype=object)[keep // n_values],
                    subgroup=subgroup[keep % n_values],
                    n=counts[keep],
                )
            )
            if level in GAP_LEVELS and column != ALL:
                blocks.append(
                    _gaps(
                        values,
                        design,
                        cells,
                        counts,
                        column,
                        labels,
                        np.asarray(unit_labels, dtype=object),
                        indicator=f"outcomes.gap.{domain}",
                        level=level,
                    )
                )
    table = indicator_table(
        pd.DataFrame({key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]})
    )
    return suppress(table, min_cell)


def _aligned(
    scores: pd.DataFrame, pupils: pd.DataFrame, units: Units, subgroups: tuple[str, ...]
) -> tuple[NDArray[np.float64], pd.DataFrame]:
    """Plausible values of the assessed pupils and their rows of ``pupils``, validated."""
    pv = scores.to_numpy(dtype=np.float64, na_value=np.nan)
    if pv.ndim != 2 or pv.shape[1] == 0:
        raise DataValidationError(Problem("<scores>", None, None, "no plausible-value columns"))
    for name, table in (("<scores>", scores), ("<pupils>", pupils)):
        if not table.index.is_unique:
            raise DataValidationError(Problem(name, None, None, "pupil codes must be unique"))
    missing = np.isnan(pv)
    assessed = ~missing.all(axis=1)
    problems = []
    partial = np.flatnonzero(assessed & missing.any(axis=1))
    if partial.size:
        problems.append(
            Problem(
                "<scores>",
                None,
                None,
                f"{partial.size} pupils lack some plausible values, "
                f"e.g. {scores.index[partial[0]]}",
            )
        )
    if np.any(np.isinf(pv)):
        problems.append(Problem("<scores>", None, None, "plausible values must be finite"))
    columns = [c for c in ("school", *subgroups) if c not in pupils.columns]
    if columns:
        problems.append(Problem("<pupils>", None, None, f"missing column(s) {', '.join(columns)}"))
    if problems:
        raise DataValidationError(problems)
    index = scores.index[assessed]
    unknown = index.difference(pupils.index)
    if len(unknown):
        raise DataValidationError(
            Problem(
                "<pupils>",
                None,
                None,
                f"{len(unknown)} pupils with scores are not in the pupil table, e.g. {unknown[0]}",
            )
        )
    frame = pupils.loc[index, ["school", *subgroups]]
    outside = pd.Index(frame["school"].unique()).difference(units.frame.index)
    if frame["school"].isna().any() or len(outside):
        raise DataValidationError(
            Problem(
                "<pupils>",
                None,
                "school",
                "every assessed pupil needs a school of the hierarchy; unknown: "
                + ", ".join(map(str, outside[:5])),
            )
        )
    return pv[assessed], frame


def _reindexed(
    table: pd.Series | pd.DataFrame, index: pd.Index, name: str
) -> pd.Series | pd.DataFrame:
    """``table`` aligned to the assessed pupils; every pupil must have a value."""
    aligned = table.reindex(index)
    if aligned.isna().to_numpy().any():
        raise DataValidationError(Problem(name, None, None, "missing for some assessed pupils"))
    return aligned


def _outcome_values(
    pv: NDArray[np.float64], levels: ProficiencyLevels, minimum: int
) -> NDArray[np.float64]:
    """Per pupil and PV: the score, an indicator of each level, and "at or above minimum"."""
    index = levels.level_index(pv)
    n_levels = len(levels.labels)
    values = np.empty((*pv.shape, n_levels + 2))
    values[:, :, 0] = pv
    values[:, :, 1 : n_levels + 1] = index[:, :, None] == np.arange(n_levels)
    values[:, :, n_levels + 1] = index >= minimum
    return values


def _value_codes(column: pd.Series) -> tuple[IntArray, Sequence[object]]:
    """Codes of a subgroup column (−1 for missing) and its values in reporting order."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = list(column.cat.categories)
    else:
        values = sorted(column.dropna().unique().tolist())
    codes = pd.Categorical(column, categories=values).codes.astype(np.intp)
    return codes, values


def _rows(
    estimate: PVEstimate,
    keep: IntArray,
    indicators: list[str],
    *,
    level: str,
    unit: NDArray[np.object_],
    subgroup: NDArray[np.object_],
    n: IntArray,
) -> Block:
    """Indicator-table columns for the kept cells (rows of ``estimate``), one run of rows per
    statistic (columns of ``estimate``, named by ``indicators``)."""
    interval = estimate.conf_int(_ALPHA)[keep]
    n_stats = len(indicators)
    return {
        "indicator": np.repeat(np.asarray(indicators, dtype=object), len(keep)),
        "level": np.full(len(keep) * n_stats, level, dtype=object),
        "unit": np.tile(unit, n_stats),
        "subgroup": np.tile(subgroup, n_stats),
        "value": estimate.params[keep].T.ravel(),
        "se": estimate.bse[keep].T.ravel(),
        "ci_low": interval[..., 0].T.ravel(),
        "ci_high": interval[..., 1].T.ravel(),
        "n": np.tile(n, n_stats),
    }


def _gaps(
    values: NDArray[np.float64],
    design: SamplingDesign,
    cells: IntArray,
    counts: IntArray,
    column: str,
    labels: Sequence[object],
    unit_labels: NDArray[np.object_],
    *,
    indicator: str,
    level: str,
) -> Block:
    """Mean-score gaps between every ordered pair of a column's values, in each unit with both.

    Cell ``u·K + k`` holds the pupils of unit ``u`` with the column's ``k``-th value; the
    subgroup reads ``"<column>=<first>-<second>"`` and ``n`` is the smaller group's size.
    """
    n_values, n_units = len(labels), len(unit_labels)
    first, second = np.triu_indices(n_values, k=1)
    unit = np.repeat(np.arange(n_units), len(first))
    which = np.tile(np.arange(len(first)), n_units)
    a = unit * n_values + first[which]
    b = unit * n_values + second[which]
    present = np.flatnonzero((counts[a] > 0) & (counts[b] > 0))
    a, b = a[present], b[present]
    estimate = domain_ratios(
        values[:, :, :1], design, cells, len(counts), pairs=np.column_stack([a, b])
    )
    pairs = zip(first.tolist(), second.tolist(), strict=True)
    names = np.array([f"{column}={labels[i]}-{labels[j]}" for i, j in pairs], dtype=np.object_)
    return _rows(
        estimate,
        np.arange(len(a)),
        [indicator],
        level=level,
        unit=unit_labels[unit[present]],
        subgroup=names[which[present]],
        n=np.minimum(counts[a], counts[b]),
    )
