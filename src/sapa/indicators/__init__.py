"""Statistics of education quality, from the stored records and the IRT engine's scores.

Every function returns the same tidy indicator table (indicator, level, unit, subgroup, value,
se, ci_low, ci_high, n, suppressed) over the hierarchy school → district → region → nation, so
that the run stores, the dashboard shows and the flags test one kind of row:

* learning outcomes from plausible values with honest uncertainty (:func:`outcome_indicators`,
  and the estimation core :func:`weighted_mean`, :func:`level_shares`, :func:`mean_gap`);
* value-added (:func:`contextual_value_added`) and student growth percentiles
  (:func:`student_growth_percentiles`);
* teachers, conditions (with a place forecast), welfare and parents, the leadership programme;
* the composite quality index with rank intervals (:func:`composite_index`), comparison with
  similar schools and the "needs support" flags (:func:`support_flags`).

Methods, formulas and references: ``docs/methods.md``.
"""

from sapa.indicators._table import (
    ALL,
    COLUMNS,
    LEVELS,
    MIN_CELL,
    NATION,
    Units,
    indicator_table,
    suppress,
)
from sapa.indicators._variance import (
    PVEstimate,
    SamplingDesign,
    combine_pv,
    level_shares,
    mean_gap,
    weighted_mean,
)
from sapa.indicators.composite import (
    CompositeResult,
    Framework,
    compare_with_similar,
    composite_index,
    similar_schools,
)
from sapa.indicators.flags import support_flags
from sapa.indicators.growth import GrowthPercentiles, growth_indicators, student_growth_percentiles
from sapa.indicators.infrastructure import conditions_indicators, enrolment_forecast
from sapa.indicators.leadership import DiDResult, difference_in_differences, leadership_indicators
from sapa.indicators.outcomes import outcome_indicators
from sapa.indicators.value_added import (
    RandomInterceptModel,
    ValueAddedResult,
    contextual_value_added,
)
from sapa.indicators.welfare import parent_satisfaction_scores, welfare_indicators
from sapa.indicators.workforce import workforce_indicators

__all__ = [
    "ALL",
    "COLUMNS",
    "LEVELS",
    "MIN_CELL",
    "NATION",
    "CompositeResult",
    "DiDResult",
    "Framework",
    "GrowthPercentiles",
    "PVEstimate",
    "RandomInterceptModel",
    "SamplingDesign",
    "Units",
    "ValueAddedResult",
    "combine_pv",
    "compare_with_similar",
    "composite_index",
    "conditions_indicators",
    "contextual_value_added",
    "difference_in_differences",
    "enrolment_forecast",
    "growth_indicators",
    "indicator_table",
    "leadership_indicators",
    "level_shares",
    "mean_gap",
    "outcome_indicators",
    "parent_satisfaction_scores",
    "similar_schools",
    "student_growth_percentiles",
    "suppress",
    "support_flags",
    "weighted_mean",
    "welfare_indicators",
    "workforce_indicators",
]
