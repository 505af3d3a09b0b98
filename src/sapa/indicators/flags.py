""" "Needs support" flags for schools and districts, each with its reason and evidence.

The rules are the ``flags:`` section of a composite-index framework file
(:class:`~sapa.indicators.composite.FlagRule`). A rule names an indicator and what to compare
it with — the national value, a fixed threshold, or the bottom share of a ranking — and a
unit is flagged only when the **whole interval** of its indicator lies beyond the comparison
value. A point estimate below the national mean is not enough: about half of all schools are
below the mean by construction, and for small schools the estimate is dominated by sampling
noise. Requiring the interval to exclude the comparison value is the usual significance
logic of school performance tables (Goldstein & Spiegelhalter 1996) and keeps the flags for
schools whose data show a problem.

Each flag carries a readable sentence with the figures behind it, e.g. "Mathematical literacy
412 (95% CI 396–428) against the national 500; 41% below level 1", so the person reading it
can judge it without opening the tables.

References
----------
Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical
issues in comparisons of institutional performance. *Journal of the Royal Statistical Society
A* 159(3), 385–443.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from sapa._validation import validate_params
from sapa.errors import DataValidationError, ModelSpecError, Problem
from sapa.indicators._table import ALL, NATION
from sapa.indicators.composite import FLAG_LEVELS, ContextFigure, FlagRule, Framework

__all__ = ["FLAG_COLUMNS", "support_flags"]

FLAG_COLUMNS = ("level", "unit", "reason", "evidence")
"""Columns of the flags table, in order."""

_MINUS = "\u2212"


def support_flags(
    table: pd.DataFrame, rules: Framework | Sequence[FlagRule], *, level: str = "school"
) -> pd.DataFrame:
    """Flag the units of ``level`` that need support, with the reason and the evidence.

    Parameters
    ----------
    table : DataFrame
        An indicator table; rows of subgroup ``all`` at ``level`` are tested, and the nation
        rows supply national values. Include the outputs of
        :func:`~sapa.indicators.composite.compare_with_similar` and
        :meth:`~sapa.indicators.composite.CompositeResult.to_frame` for rules on
        ``….vs_similar`` or ``composite.rank``.
    rules : Framework or sequence of FlagRule
        The rules, usually a framework's ``flags``.
    level : {"school", "district", "region"}
        The units to flag; districts are flagged from district-level rows.

    Returns
    -------
    DataFrame
        Columns ``level``, ``unit``, ``reason``, ``evidence``: one row per unit and rule that
        fires, ordered by unit and then by the rules' order.

    Raises
    ------
    DataValidationError
        When a rule compares with the national value and the table has no nation row of its
        indicator.

    Notes
    -----
    A rule applies to ``level`` when ``level`` is among its ``levels``. A rule whose
    indicator has no rows at the level is skipped (a table may lack, say, the composite rank).
    The interval of a row is ``[ci_low, ci_high]`` when both are present, else
    ``value ± z se`` with ``z`` the standard normal quantile for the rule's ``confidence``
    when ``se`` is present, else the value alone (a count or a known fact, not an estimate).
    With comparison value ``c``:

    * ``compare: national``: ``c`` is the nation's value of the indicator, minus ``margin``
      for ``side: below`` and plus it for ``side: above``;
    * ``compare: threshold``: ``c`` is the rule's ``threshold``;
    * ``side: below`` fires when ``ci_high < c``; ``side: above`` when ``ci_low > c``;
    * ``compare: bottom_share`` (rank indicators, 1 = best) fires when
      ``ci_low > (1 − share) N`` with ``N`` the number of units ranked at the level, i.e.
      when the whole rank interval lies within the bottom ``share`` of the ranking.

    The national value is taken as known: it rests on all pupils of the country and its error
    is small beside a school's.
    """
    validate_params("support_flags", {"level": set(FLAG_LEVELS)}, {"level": level})
    chosen = rules.flags if isinstance(rules, Framework) else tuple(rules)
    for rule in chosen:
        _check(rule)
    subgroup = table["subgroup"] == ALL if "subgroup" in table else True
    usable = table[subgroup & table["value"].notna()]
    flags = []
    for order, rule in enumerate(chosen):
        if level not in rule.levels:
            continue
        rows = usable[(usable["indicator"] == rule.indicator) & (usable["level"] == level)]
        if rows.empty:
            continue
        value = rows["value"].to_numpy(dtype=float)
        low, high = _interval(rows, rule.confidence)
        if rule.compare == "bottom_share":
            cut = (1 - float(rule.share or 0.0)) * len(rows)
            fires = low > cut
            compared = cut
        else:
            compared = _comparison(usable, rule)
            fires = high < compared if rule.side == "below" else low > compared
        for position in np.flatnonzero(fires):
            unit = rows["unit"].iloc[position]
            evidence = _evidence(
                rule, value[position], low[position], high[position], compared, len(rows), level
            )
            evidence += _context(usable, rule.context, level, unit)
            flags.append((str(unit), order, level, rule.reason, evidence))
    flags.sort(key=lambda flag: (flag[0], flag[1]))
    return pd.DataFrame(
        [(level_, unit, reason, evidence) for unit, _, level_, reason, evidence in flags],
        columns=list(FLAG_COLUMNS),
    )


def _check(rule: FlagRule) -> None:
    """Refuse a rule built in code that lacks what its comparison needs (rules read from a
    framework file were checked when it was read)."""
    needs = {
        "national": ("side", ("below", "above")),
        "threshold": ("side", ("below", "above")),
        "bottom_share": ("share", None),
    }
    if rule.compare not in needs:
        raise ModelSpecError(
            f"The 'compare' of flag rule {rule.reason!r} must be one of "
            f"{{'national', 'threshold', 'bottom_share'}}. Got {rule.compare!r} instead."
        )
    missing = []
    if rule.compare != "bottom_share" and rule.side not in ("below", "above"):
        missing.append("side ('below' or 'above')")
    if rule.compare == "threshold" and rule.threshold is None:
        missing.append("threshold")
    if rule.compare == "bottom_share" and not (rule.share is not None and 0 < rule.share < 1):
        missing.append("share (between 0 and 1)")
    if missing:
        raise ModelSpecError(
            f"Flag rule {rule.reason!r} with compare {rule.compare!r} needs {', '.join(missing)}."
        )


def _interval(rows: pd.DataFrame, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval of each row: its own, else from its SE, else the value itself."""
    value = rows["value"].to_numpy(dtype=float)
    nothing = np.full(value.size, np.nan)
    ci_low = rows["ci_low"].to_numpy(dtype=float) if "ci_low" in rows else nothing
    ci_high = rows["ci_high"].to_numpy(dtype=float) if "ci_high" in rows else nothing
    se = rows["se"].to_numpy(dtype=float) if "se" in rows else nothing
    has_ci = np.isfinite(ci_low) & np.isfinite(ci_high)
    half = norm.ppf((1 + confidence) / 2) * np.where(np.isfinite(se), se, 0.0)
    low = np.where(has_ci, ci_low, value - half)
    high = np.where(has_ci, ci_high, value + half)
    return low, high


def _comparison(table: pd.DataFrame, rule: FlagRule) -> float:
    if rule.compare == "threshold":
        return float(rule.threshold or 0.0)
    national = table.loc[
        (table["indicator"] == rule.indicator)
        & (table["level"] == "nation")
        & (table["unit"] == NATION),
        "value",
    ]
    if national.empty:
        raise DataValidationError(
            Problem(
                "<table>",
                None,
                "indicator",
                f"rule {rule.reason!r} compares {rule.indicator!r} with the national value, "
                f"and the table has no nation row ({NATION!r}) of it",
            )
        )
    margin = -rule.margin if rule.side == "below" else rule.margin
    return float(national.iloc[0]) + margin


def _number(value: float, format: str, decimals: int) -> str:
    """``value`` as text: a share as a percentage, negatives with a true minus sign."""
    scaled = 100 * value if format == "percent" else value
    scaled = round(scaled, decimals) + 0.0
    text = f"{scaled:,.{decimals}f}" + ("%" if format == "percent" else "")
    return text.replace("-", _MINUS)


def _span(low: str, high: str) -> str:
    """A range of two formatted numbers; "to" when a dash would read as a minus."""
    return f"{low} to {high}" if _MINUS in low + high else f"{low}\u2013{high}"


def _level_name(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def _evidence(
    rule: FlagRule,
    value: float,
    low: float,
    high: float,
    compared: float,
    n_units: int,
    level: str,
) -> str:
    """The sentence that states the figures behind one flag."""
    level_name = _level_name(rule.confidence)
    if rule.compare == "bottom_share":
        ranks = _span(f"{low:g}", f"{high:g}")
        return (
            f"{rule.label}: median {value:g} ({level_name} interval {ranks})"
            f" among {n_units} {level}s ranked, entirely within the bottom "
            f"{_number(float(rule.share or 0.0), 'percent', 0)} (ranks after {compared:g})"
        )
    shown = _number(value, rule.format, rule.decimals)
    if low != high:
        span = _span(
            _number(low, rule.format, rule.decimals), _number(high, rule.format, rule.decimals)
        )
        shown += f" ({level_name} CI {span})"
    target = _number(compared, rule.format, rule.decimals)
    if rule.compare == "national":
        national = compared + (rule.margin if rule.side == "below" else -rule.margin)
        against = f"the national {_number(national, rule.format, rule.decimals)}"
        if rule.margin:
            word = "less" if rule.side == "below" else "plus"
            margin = _number(rule.margin, rule.format, rule.decimals)
            against += f" {word} a margin of {margin} ({target})"
    else:
        against = f"the threshold {target}"
    return f"{rule.label} {shown} against {against}"


def _context(
    table: pd.DataFrame, figures: Sequence[ContextFigure], level: str, unit: object
) -> str:
    """The further figures quoted after a flag's main sentence ("; 41% below level 1")."""
    parts = []
    for figure in figures:
        found = table.loc[
            (table["indicator"] == figure.indicator)
            & (table["level"] == level)
            & (table["unit"] == unit),
            "value",
        ]
        if found.empty:
            continue
        value = float(found.iloc[0])
        if figure.complement:
            value = 1 - value
        parts.append(f"; {_number(value, figure.format, figure.decimals)} {figure.label}")
    return "".join(parts)
