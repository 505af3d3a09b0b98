"""The composite quality index: a versioned framework, rank intervals, sensitivity, similar schools.

A composite index condenses several indicators into one number per school (or district). Its
construction follows the OECD/JRC *Handbook on Constructing Composite Indicators* (2008) and the
design of the COINr package: a **framework** file states the indicators, their directions and
weights, the dimensions they form, the normalisation and the aggregation; the index is then
computed deterministically, and a **Monte Carlo uncertainty analysis** reruns the construction
with the uncertain inputs varied (indicator values within their standard errors, the weights,
the normalisation) so that every unit gets an interval for its score and for its rank. Ranks
are only ever published as intervals: a rank computed from noisy indicators is itself noisy,
and a bare rank invites reading differences that the data cannot support (Handbook, step 7;
Saisana, Saltelli & Tarantola 2005). A variance-based **sensitivity analysis** apportions the
rank variance among the uncertain inputs.

The framework is a YAML file (:meth:`Framework.from_yaml`); the default one ships as
``sapa/data/frameworks/school-quality-2025.yaml`` (:meth:`Framework.builtin`). Its schema::

    name: School quality index            # required text
    version: "2025.1"                     # required string (quoted, so YAML keeps it text)
    description: ...                      # optional text
    level: school                         # the units ranked: school or district
    normalisation:
      method: minmax                      # minmax | zscore | percentile
      minmax_range: [0, 100]              # optional, target range of min-max
      zscore_scale: [0, 1]                # optional, mean and SD of z-scores
    aggregation:
      within: arithmetic                  # indicators → dimension: arithmetic | geometric
      across: arithmetic                  # dimensions → index: arithmetic | geometric
    missing:
      min_coverage: 0.75                  # share of the weight a unit must have present
    dimensions:                           # one or more
      - code: outcomes                    # lower-case identifier
        name: Learning outcomes
        weight: 0.40                      # > 0; dimension weights are rescaled to sum to 1
        indicators:                       # one or more
          - code: outcomes.mean.MLIT      # an indicator code of the indicator table
            name: Mathematical literacy
            direction: 1                  # 1: higher is better, -1: lower is better
            weight: 1                     # > 0; rescaled to sum to 1 within the dimension
    uncertainty:                          # optional
      draws: 1000                         # Monte Carlo draws
      interval: 0.90                      # coverage of the score and rank intervals
      indicator_noise: true               # perturb indicator values by their SE
      weights: {method: dirichlet, concentration: 100}   # or uniform + spread, or none
      normalisations: [minmax, zscore, percentile]       # sampled uniformly per draw
    flags: [...]                          # "needs support" rules, see FlagRule

Every key is checked and unknown keys are refused, so a misspelt key cannot silently fall back
to a default; a refused file raises :class:`~sapa.errors.DataValidationError` listing every
problem with the file, the line and the key path (``dimensions[1].indicators[0].direction``).

Similar schools (:func:`similar_schools`, :func:`compare_with_similar`) give each school a
fair comparison group — schools of like context — as a complement to the national ranking.

References
----------
OECD & European Commission Joint Research Centre (2008). *Handbook on Constructing Composite
Indicators: Methodology and User Guide*. OECD Publishing, Paris.
Becker, W., Caperna, G., Del Sorbo, M., Norlén, H., Papadimitriou, E. & Saisana, M. (2022).
COINr: An R package for developing composite indicators. *Journal of Open Source Software*
7(78), 4567.
Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and sensitivity analysis
techniques as tools for the quality assessment of composite indicators. *Journal of the Royal
Statistical Society A* 168(2), 307–323.
Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. & Tarantola, S. (2010).
Variance based sensitivity analysis of model output. Design and estimator for the total
sensitivity index. *Computer Physics Communications* 181, 259–270.
Jansen, M. J. W. (1999). Analysis of variance designs for model output. *Computer Physics
Communications* 117, 35–43.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray
from scipy.stats import norm, rankdata

from sapa._random import RandomLike, as_generator
from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError, Problem
from sapa.indicators._table import ALL, indicator_table

__all__ = [
    "AGGREGATIONS",
    "COMPARISONS",
    "DEFAULT_FRAMEWORK",
    "FLAG_LEVELS",
    "NORMALISATIONS",
    "RANKED_LEVELS",
    "SOURCES",
    "WEIGHT_NOISE",
    "CompositeResult",
    "ContextFigure",
    "Dimension",
    "FlagRule",
    "Framework",
    "IndicatorSpec",
    "Uncertainty",
    "compare_with_similar",
    "composite_index",
    "similar_schools",
]

FloatArray = NDArray[np.float64]

NORMALISATIONS = ("minmax", "zscore", "percentile")
"""Normalisations a framework may name (Handbook, step 5)."""

AGGREGATIONS = ("arithmetic", "geometric")
"""Weighted means a framework may use within and across dimensions (Handbook, step 6)."""

WEIGHT_NOISE = ("none", "dirichlet", "uniform")
"""Ways the uncertainty analysis may perturb the weights."""

RANKED_LEVELS = ("school", "district")
"""Levels whose units a framework may rank."""

FLAG_LEVELS = ("school", "district", "region")
"""Levels a "needs support" rule may apply to."""

COMPARISONS = ("national", "threshold", "bottom_share")
"""What a "needs support" rule compares a unit's interval with."""

SOURCES = ("indicator values", "weights", "normalisation")
"""The uncertain inputs of the Monte Carlo, in the order of :meth:`CompositeResult.sensitivity`."""

DEFAULT_FRAMEWORK = "school-quality-2025"
"""Name of the framework file shipped in ``sapa/data/frameworks``."""

_CHUNK_ELEMENTS = 4_000_000
"""Draws are processed in blocks of about this many unit × indicator values."""

_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


# ----------------------------------------------------------------------------- framework
@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a dimension: its code in the indicator table, a readable name, its
    direction (1: higher is better, −1: lower is better) and its weight within the dimension."""

    code: str
    name: str
    direction: int
    weight: float


@dataclass(frozen=True)
class Dimension:
    """A group of indicators aggregated into one dimension score before the index."""

    code: str
    name: str
    weight: float
    indicators: tuple[IndicatorSpec, ...]


@dataclass(frozen=True)
class Uncertainty:
    """Settings of the Monte Carlo uncertainty analysis.

    Attributes
    ----------
    draws : int
        Number of Monte Carlo draws.
    interval : float
        Coverage of the reported score and rank intervals (0.90 gives the 5th and 95th
        percentiles over the draws).
    indicator_noise : bool
        Whether each draw perturbs indicator values by their standard errors.
    weight_noise : {"none", "dirichlet", "uniform"}
        How each draw perturbs the weights.
    concentration : float
        Dirichlet concentration κ: weights are drawn from Dirichlet(κ·w), with mean ``w`` and
        variance ``w(1 − w)/(κ + 1)``.
    spread : float
        Uniform perturbation: each weight is multiplied by ``1 + U(−spread, spread)`` and the
        weights rescaled.
    normalisations : tuple of str
        Normalisations sampled with equal probability, one per draw.
    """

    draws: int = 1000
    interval: float = 0.90
    indicator_noise: bool = True
    weight_noise: str = "none"
    concentration: float = 100.0
    spread: float = 0.0
    normalisations: tuple[str, ...] = ("minmax",)


@dataclass(frozen=True)
class ContextFigure:
    """A further figure quoted in a flag's evidence, such as the share below level 1.

    ``complement`` reports ``1 − value`` (a share at or above a level turned into the share
    below it); ``label`` is the text after the number.
    """

    indicator: str
    label: str
    complement: bool = False
    format: str = "percent"
    decimals: int = 0


@dataclass(frozen=True)
class FlagRule:
    """A "needs support" rule of a framework's ``flags:`` section.

    Attributes
    ----------
    reason : str
        Reason code reported with the flag, such as ``low_outcomes``.
    indicator : str
        Indicator code whose rows are tested.
    label : str
        Readable name of the indicator in the evidence sentence.
    compare : {"national", "threshold", "bottom_share"}
        ``national``: the unit's interval against the national value (± ``margin``);
        ``threshold``: against the fixed ``threshold``; ``bottom_share``: a rank interval
        entirely within the bottom ``share`` of the ranked units.
    side : {"below", "above", None}
        Which side of the comparison value flags (``None`` for ``bottom_share``).
    threshold, margin, share : float or None
    levels : tuple of str
        Levels the rule applies to.
    confidence : float
        Coverage of the intervals tested and quoted.
    format : {"number", "percent"}
        How values are written (``percent`` writes a share 0–1 as a percentage).
    decimals : int
    context : tuple of ContextFigure

    Examples
    --------
    In a framework file (``levels`` defaults to school and district, ``confidence`` to 0.95 or,
    for ``composite.*`` indicators, to the framework's interval; ``label`` to the indicator's
    name in the framework)::

        flags:
          - reason: low_outcomes
            indicator: outcomes.mean.MLIT
            compare: national          # national | threshold | bottom_share
            side: below                # below | above (not for bottom_share)
            margin: 0                  # national only: c = national -/+ margin
            context:
              - {indicator: outcomes.at_or_above_1.MLIT, label: below level 1, complement: true}
          - reason: overdue_attestations
            indicator: teachers.attestation_overdue
            compare: threshold
            side: above
            threshold: 0.10
            format: percent            # number | percent; decimals: 0..6
          - reason: rank_in_bottom_decile
            indicator: composite.rank
            compare: bottom_share
            share: 0.10
    """

    reason: str
    indicator: str
    label: str
    compare: str
    side: str | None = None
    threshold: float | None = None
    margin: float = 0.0
    share: float | None = None
    levels: tuple[str, ...] = ("school", "district")
    confidence: float = 0.95
    format: str = "number"
    decimals: int = 0
    context: tuple[ContextFigure, ...] = ()


@dataclass(frozen=True)
class Framework:
    """A versioned composite-index framework (see the module docstring for the YAML schema).

    Build one with :meth:`from_yaml`, :meth:`from_dict` or :meth:`builtin`, which validate
    every key; the constructor itself trusts its arguments.
    """

    name: str
    version: str
    level: str
    dimensions: tuple[Dimension, ...]
    normalisation: str = "minmax"
    minmax_range: tuple[float, float] = (0.0, 100.0)
    zscore_scale: tuple[float, float] = (0.0, 1.0)
    within: str = "arithmetic"
    across: str = "arithmetic"
    min_coverage: float = 0.75
    uncertainty: Uncertainty = Uncertainty()
    flags: tuple[FlagRule, ...] = ()
    description: str = ""

    @classmethod
    def from_yaml(cls, path: str | Path) -> Framework:
        """Read and validate a framework file.

        Raises
        ------
        DataValidationError
            When the file is not valid YAML or any key is missing, unknown or out of range;
            each problem names the file, the line and the key path.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
            lines = _line_numbers(yaml.compose(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
            raise DataValidationError(Problem(str(path), line, None, reason)) from exc
        return _parse(data, str(path), lines)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<framework>") -> Framework:
        """Validate a framework given as nested mappings (the parsed YAML); ``source`` names
        it in error messages."""
        return _parse(data, source, {})

    @classmethod
    def builtin(cls, name: str = DEFAULT_FRAMEWORK) -> Framework:
        """A framework shipped with Sapa in ``sapa/data/frameworks`` (by file name, without
        ``.yaml``)."""
        with resources.as_file(
            resources.files("sapa") / "data" / "frameworks" / f"{name}.yaml"
        ) as path:
            return cls.from_yaml(path)

    @property
    def indicators(self) -> tuple[IndicatorSpec, ...]:
        """Every indicator of every dimension, in framework order."""
        return tuple(spec for dimension in self.dimensions for spec in dimension.indicators)

    @property
    def weights(self) -> pd.Series:
        """Effective weight of each indicator in the index: its dimension's share of the
        dimension weights times its share within the dimension (sums to 1)."""
        total = sum(d.weight for d in self.dimensions)
        values = {}
        for dimension in self.dimensions:
            inner = sum(spec.weight for spec in dimension.indicators)
            for spec in dimension.indicators:
                values[spec.code] = dimension.weight / total * spec.weight / inner
        return pd.Series(values, name="weight")


_REQUIRED = object()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parent(path: str) -> str:
    return re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path) if ("." in path or "[" in path) else ""


def _line_numbers(node: yaml.Node | None, path: str = "") -> dict[str, int]:
    """The 1-based line of every key path in a composed YAML document."""
    lines: dict[str, int] = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = _join(path, str(key.value))
            lines.update(_line_numbers(value, child))
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            lines.update(_line_numbers(item, f"{path}[{position}]"))
    return lines


class _Reader:
    """Collects every problem of a framework document, each located by key path and line."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    def fail(self, path: str, reason: str) -> None:
        where = path
        while where and where not in self.lines:
            where = _parent(where)
        self.problems.append(Problem(self.source, self.lines.get(where), path or None, reason))

    def mapping(self, value: Any, path: str, known: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping of keys to values. Got {value!r} instead.")
            return {}
        for key in value:
            if key not in known:
                self.fail(
                    _join(path, str(key)),
                    f"is not a known key here; the known keys are {', '.join(known)}",
                )
        return value

    def section(
        self, mapping: Mapping[str, Any], key: str, path: str, known: Sequence[str]
    ) -> dict[str, Any]:
        """The optional sub-mapping ``key`` (empty when absent)."""
        if key not in mapping:
            return {}
        return self.mapping(mapping[key], _join(path, key), known)

    def get(
        self,
        mapping: Mapping[str, Any],
        key: str,
        path: str,
        accepts: Callable[[Any], bool],
        description: str,
        default: Any = _REQUIRED,
    ) -> Any:
        where = _join(path, key)
        if key not in mapping:
            if default is _REQUIRED:
                self.fail(where, "is required but missing")
                return None
            return default
        value = mapping[key]
        if not accepts(value):
            self.fail(where, f"must be {description}. Got {value!r} instead.")
            return None
        return value

    def number(
        self,
        mapping: Mapping[str, Any],
        key: str,
        path: str,
        interval: Interval,
        default: Any = _REQUIRED,
    ) -> Any:
        value = self.get(
            mapping,
            key,
            path,
            lambda v: interval.accepts(v) and math.isfinite(v),
            str(interval),
            default,
        )
        return None if value is None else (int(value) if interval.kind is int else float(value))

    def choice(
        self,
        mapping: Mapping[str, Any],
        key: str,
        path: str,
        options: Sequence[Any],
        default: Any = _REQUIRED,
    ) -> Any:
        description = "one of {" + ", ".join(repr(o) for o in options) + "}"
        return self.get(
            mapping,
            key,
            path,
            lambda v: isinstance(v, str | int) and v in options,
            description,
            default,
        )

    def text(
        self, mapping: Mapping[str, Any], key: str, path: str, default: Any = _REQUIRED
    ) -> Any:
        return self.get(
            mapping,
            key,
            path,
            lambda v: isinstance(v, str) and v.strip() != "",
            "a non-empty string",
            default,
        )

    def pattern(
        self,
        mapping: Mapping[str, Any],
        key: str,
        path: str,
        regex: re.Pattern[str],
        description: str,
        default: Any = _REQUIRED,
    ) -> Any:
        return self.get(
            mapping,
            key,
            path,
            lambda v: isinstance(v, str) and regex.fullmatch(v) is not None,
            description,
            default,
        )

    def boolean(self, mapping: Mapping[str, Any], key: str, path: str, default: bool) -> Any:
        return self.get(mapping, key, path, lambda v: isinstance(v, bool), "true or false", default)

    def items(
        self, mapping: Mapping[str, Any], key: str, path: str, *, required: bool
    ) -> list[Any]:
        where = _join(path, key)
        if key not in mapping:
            if required:
                self.fail(where, "is required but missing")
            return []
        value = mapping[key]
        if not isinstance(value, list) or (required and not value):
            wanted = "a non-empty list" if required else "a list"
            self.fail(where, f"must be {wanted}. Got {value!r} instead.")
            return []
        return value

    def pair(
        self,
        mapping: Mapping[str, Any],
        key: str,
        path: str,
        default: tuple[float, float],
        check: Callable[[float, float], bool],
        description: str,
    ) -> tuple[float, float] | None:
        def accepts(value: Any) -> bool:
            return (
                isinstance(value, list)
                and len(value) == 2
                and all(Interval(float, None, None).accepts(v) and math.isfinite(v) for v in value)
                and check(float(value[0]), float(value[1]))
            )

        value = self.get(mapping, key, path, accepts, description, list(default))
        return None if value is None else (float(value[0]), float(value[1]))


_CODE_TEXT = "an indicator code of letters, digits and underscores joined by dots"
_IDENTIFIER_TEXT = "a lower-case identifier of letters, digits and underscores"


def _parse(data: Any, source: str, lines: Mapping[str, int]) -> Framework:
    r = _Reader(source, lines)
    top = r.mapping(
        data,
        "",
        (
            "name",
            "version",
            "description",
            "level",
            "normalisation",
            "aggregation",
            "missing",
            "dimensions",
            "uncertainty",
            "flags",
        ),
    )
    name = r.text(top, "name", "")
    version = r.get(
        top,
        "version",
        "",
        lambda v: isinstance(v, str) and v.strip() != "",
        'a string such as "2025.1" (quote it, or YAML reads a number)',
    )
    description = r.get(top, "description", "", lambda v: isinstance(v, str), "text", "")
    level = r.choice(top, "level", "", RANKED_LEVELS)

    if isinstance(top, dict) and "normalisation" not in top:
        r.fail("normalisation", "is required but missing")
    norm_map = r.section(top, "normalisation", "", ("method", "minmax_range", "zscore_scale"))
    method = r.choice(norm_map, "method", "normalisation", NORMALISATIONS)
    minmax_range = r.pair(
        norm_map,
        "minmax_range",
        "normalisation",
        (0.0, 100.0),
        lambda low, high: low < high,
        "a list [low, high] of two numbers with low < high",
    )
    zscore_scale = r.pair(
        norm_map,
        "zscore_scale",
        "normalisation",
        (0.0, 1.0),
        lambda _mean, sd: sd > 0,
        "a list [mean, sd] of two numbers with sd > 0",
    )

    agg_map = r.section(top, "aggregation", "", ("within", "across"))
    within = r.choice(agg_map, "within", "aggregation", AGGREGATIONS, "arithmetic")
    across = r.choice(agg_map, "across", "aggregation", AGGREGATIONS, "arithmetic")

    missing_map = r.section(top, "missing", "", ("min_coverage",))
    min_coverage = r.number(
        missing_map, "min_coverage", "missing", Interval(float, 0, 1, closed="right"), 0.75
    )

    dimensions = _parse_dimensions(r, top)
    uncertainty = _parse_uncertainty(r, top, method)

    if "geometric" in (within, across):
        where = "aggregation.within" if within == "geometric" else "aggregation.across"
        used = [("normalisation.method", method)] + [
            (f"uncertainty.normalisations[{i}]", m)
            for i, m in enumerate(uncertainty.normalisations)
        ]
        for path, used_method in used:
            if used_method == "zscore":
                r.fail(
                    path,
                    f"z-scores can be zero or negative, and the geometric aggregation of {where} "
                    "needs strictly positive values; use minmax with a range starting above 0, "
                    "or percentile",
                )
        if minmax_range is not None and minmax_range[0] <= 0 and "minmax" in dict(used).values():
            r.fail(
                "normalisation.minmax_range",
                f"the geometric aggregation of {where} needs strictly positive values, so the "
                f"min-max range must start above 0 (e.g. [1, 100]). Got {list(minmax_range)}.",
            )

    names = {spec.code: spec.name for d in dimensions for spec in d.indicators}
    flags = tuple(
        rule
        for position, item in enumerate(r.items(top, "flags", "", required=False))
        if (rule := _parse_rule(r, item, f"flags[{position}]", names, level, uncertainty.interval))
        is not None
    )
    seen: set[str] = set()
    for position, rule in enumerate(flags):
        if rule.reason in seen:
            r.fail(
                f"flags[{position}].reason",
                f"reason {rule.reason!r} is used by an earlier rule; each reason names one rule "
                "(a unit is flagged at most once per reason)",
            )
        seen.add(rule.reason)
    if r.problems:
        raise DataValidationError(r.problems)
    return Framework(
        name=name,
        version=version,
        level=level,
        dimensions=dimensions,
        normalisation=method,
        minmax_range=minmax_range,  # type: ignore[arg-type]
        zscore_scale=zscore_scale,  # type: ignore[arg-type]
        within=within,
        across=across,
        min_coverage=min_coverage,
        uncertainty=uncertainty,
        flags=flags,
        description=description.strip(),
    )


def _parse_dimensions(r: _Reader, top: Mapping[str, Any]) -> tuple[Dimension, ...]:
    dimensions = []
    seen_dimensions: set[str] = set()
    seen_codes: dict[str, str] = {}
    positive = Interval(float, 0, None, closed="neither")
    for d_pos, item in enumerate(r.items(top, "dimensions", "", required=True)):
        path = f"dimensions[{d_pos}]"
        entry = r.mapping(item, path, ("code", "name", "weight", "indicators"))
        if not isinstance(item, dict):
            continue
        code = r.pattern(entry, "code", path, _IDENTIFIER, _IDENTIFIER_TEXT)
        if code is not None and code in seen_dimensions:
            r.fail(_join(path, "code"), f"dimension code {code!r} is used twice")
        seen_dimensions.add(code)
        specs = []
        for i_pos, spec_item in enumerate(r.items(entry, "indicators", path, required=True)):
            spec_path = f"{path}.indicators[{i_pos}]"
            spec = r.mapping(spec_item, spec_path, ("code", "name", "direction", "weight"))
            if not isinstance(spec_item, dict):
                continue
            spec_code = r.pattern(spec, "code", spec_path, _CODE, _CODE_TEXT)
            if spec_code is not None:
                if spec_code in seen_codes:
                    r.fail(
                        _join(spec_path, "code"),
                        f"indicator {spec_code!r} already appears at {seen_codes[spec_code]}",
                    )
                seen_codes[spec_code] = spec_path
            direction = r.get(
                spec,
                "direction",
                spec_path,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v in (1, -1),
                "1 (higher is better) or -1 (lower is better)",
            )
            specs.append(
                IndicatorSpec(
                    code=spec_code,
                    name=r.text(spec, "name", spec_path, spec_code),
                    direction=direction,
                    weight=r.number(spec, "weight", spec_path, positive, 1.0),
                )
            )
        dimensions.append(
            Dimension(
                code=code,
                name=r.text(entry, "name", path, code),
                weight=r.number(entry, "weight", path, positive),
                indicators=tuple(specs),
            )
        )
    return tuple(dimensions)


def _parse_uncertainty(r: _Reader, top: Mapping[str, Any], method: str | None) -> Uncertainty:
    path = "uncertainty"
    entry = r.section(
        top, path, "", ("draws", "interval", "indicator_noise", "weights", "normalisations")
    )
    weights = r.section(entry, "weights", path, ("method", "concentration", "spread"))
    weight_noise = r.choice(weights, "method", f"{path}.weights", WEIGHT_NOISE, "none")
    concentration = r.number(
        weights,
        "concentration",
        f"{path}.weights",
        Interval(float, 0, None, closed="neither"),
        _REQUIRED if weight_noise == "dirichlet" else 100.0,
    )
    spread = r.number(
        weights,
        "spread",
        f"{path}.weights",
        Interval(float, 0, 1, closed="left"),
        _REQUIRED if weight_noise == "uniform" else 0.0,
    )
    normalisations: list[str] = []
    if "normalisations" in entry:
        for position, item in enumerate(r.items(entry, "normalisations", path, required=True)):
            if item not in NORMALISATIONS:
                r.fail(
                    f"{path}.normalisations[{position}]",
                    f"must be one of {{{', '.join(map(repr, NORMALISATIONS))}}}. "
                    f"Got {item!r} instead.",
                )
            elif item in normalisations:
                r.fail(f"{path}.normalisations[{position}]", f"{item!r} is listed twice")
            else:
                normalisations.append(item)
    elif method is not None:
        normalisations = [method]
    return Uncertainty(
        draws=r.number(entry, "draws", path, Interval(int, 1, 100_000), 1000),
        interval=r.number(entry, "interval", path, Interval(float, 0, 1, closed="neither"), 0.90),
        indicator_noise=r.boolean(entry, "indicator_noise", path, True),
        weight_noise=weight_noise,
        concentration=concentration,
        spread=spread,
        normalisations=tuple(normalisations),
    )


def _parse_rule(
    r: _Reader,
    item: Any,
    path: str,
    names: Mapping[str, str],
    level: str | None,
    interval: float,
) -> FlagRule | None:
    entry = r.mapping(
        item,
        path,
        (
            "reason",
            "indicator",
            "label",
            "compare",
            "side",
            "threshold",
            "margin",
            "share",
            "levels",
            "confidence",
            "format",
            "decimals",
            "context",
        ),
    )
    if not isinstance(item, dict):
        return None
    indicator = r.pattern(entry, "indicator", path, _CODE, _CODE_TEXT)
    compare = r.choice(entry, "compare", path, COMPARISONS)
    real = Interval(float, None, None)
    share_interval = Interval(float, 0, 1, closed="neither")

    def only_with(key: str, wanted: str) -> None:
        if key in entry and compare is not None and compare != wanted:
            r.fail(_join(path, key), f"is only used with compare: {wanted}")

    for key, wanted in (
        ("threshold", "threshold"),
        ("margin", "national"),
        ("share", "bottom_share"),
    ):
        only_with(key, wanted)
    if compare == "bottom_share":
        if "side" in entry:
            r.fail(_join(path, "side"), "is not used with compare: bottom_share")
        side = None
    else:
        side = r.choice(entry, "side", path, ("below", "above"))
    threshold = r.number(
        entry, "threshold", path, real, _REQUIRED if compare == "threshold" else None
    )
    margin = r.number(entry, "margin", path, Interval(float, 0, None), 0.0)
    share = r.number(
        entry, "share", path, share_interval, _REQUIRED if compare == "bottom_share" else None
    )
    default_levels = [level] if compare == "bottom_share" and level else ["school", "district"]
    levels = r.get(
        entry,
        "levels",
        path,
        lambda v: isinstance(v, list) and bool(v) and all(x in FLAG_LEVELS for x in v),
        f"a non-empty list drawn from {list(FLAG_LEVELS)}",
        default_levels,
    )
    is_composite = isinstance(indicator, str) and indicator.startswith("composite.")
    confidence = r.number(
        entry, "confidence", path, share_interval, interval if is_composite else 0.95
    )
    context = []
    for position, figure_item in enumerate(r.items(entry, "context", path, required=False)):
        figure_path = f"{path}.context[{position}]"
        figure = r.mapping(
            figure_item, figure_path, ("indicator", "label", "complement", "format", "decimals")
        )
        if not isinstance(figure_item, dict):
            continue
        context.append(
            ContextFigure(
                indicator=r.pattern(figure, "indicator", figure_path, _CODE, _CODE_TEXT),
                label=r.text(figure, "label", figure_path),
                complement=r.boolean(figure, "complement", figure_path, False),
                format=r.choice(figure, "format", figure_path, ("number", "percent"), "percent"),
                decimals=r.number(figure, "decimals", figure_path, Interval(int, 0, 6), 0),
            )
        )
    return FlagRule(
        reason=r.pattern(entry, "reason", path, _IDENTIFIER, _IDENTIFIER_TEXT),
        indicator=indicator,
        label=r.text(entry, "label", path, _default_label(indicator, names)),
        compare=compare,
        side=side,
        threshold=threshold,
        margin=margin,
        share=share,
        levels=tuple(levels or ()),
        confidence=confidence,
        format=r.choice(entry, "format", path, ("number", "percent"), "number"),
        decimals=r.number(entry, "decimals", path, Interval(int, 0, 6), 0),
        context=tuple(context),
    )


def _default_label(indicator: str | None, names: Mapping[str, str]) -> str:
    if indicator is None:
        return ""
    if indicator in names:
        return names[indicator]
    base, _, suffix = indicator.rpartition(".")
    if suffix == "vs_similar" and base in names:
        return f"{names[base]} against similar schools"
    return indicator


# ----------------------------------------------------------------------------- numerics
@dataclass(frozen=True)
class _Design:
    """The framework's indicators for the ranked units, as arrays."""

    units: pd.Index
    values: FloatArray  # (U, I) indicator values times direction, NaN missing
    se: FloatArray  # (U, I) standard errors, 0 where unknown
    members: FloatArray  # (I, D) one-hot dimension membership
    w_indicator: FloatArray  # (I,) weight shares within each dimension
    w_dimension: FloatArray  # (D,) dimension weight shares
    coverage: FloatArray  # (U,) share of the effective weight present
    eligible: NDArray[np.bool_]  # (U,) coverage reaches the framework's minimum


@dataclass(frozen=True)
class _Goalposts:
    """Normalisation constants estimated once from the observed values of each indicator."""

    low: FloatArray
    high: FloatArray
    mean: FloatArray
    sd: FloatArray
    distinct: tuple[FloatArray, ...]  # the distinct observed values, sorted
    below: tuple[NDArray[np.int_], ...]  # observed values below each distinct value, and n


@dataclass(frozen=True)
class _Inputs:
    """The uncertain inputs of a block of draws."""

    noise: FloatArray | None  # (B, U, I) standard normal, or None without indicator noise
    w_indicator: FloatArray  # (B, I)
    w_dimension: FloatArray  # (B, D)
    method: NDArray[np.int_]  # (B,) position in the framework's sampled normalisations


def _design(table: pd.DataFrame, framework: Framework) -> _Design:
    missing_columns = [c for c in ("indicator", "level", "unit", "value") if c not in table]
    if missing_columns:
        raise DataValidationError(
            [
                Problem("<table>", None, c, "the indicator table lacks this column")
                for c in missing_columns
            ]
        )
    codes = [spec.code for spec in framework.indicators]
    rows = table[(table["level"] == framework.level) & table["indicator"].isin(codes)]
    if "subgroup" in rows:
        rows = rows[rows["subgroup"] == ALL]
    values = rows["value"].astype(float)
    if "suppressed" in rows:
        values = values.where(~rows["suppressed"].astype(bool))
    se = rows["se"].astype(float) if "se" in rows else pd.Series(np.nan, index=rows.index)
    frame = pd.DataFrame(
        {"unit": rows["unit"], "indicator": rows["indicator"], "value": values, "se": se}
    )
    problems = []
    duplicated = frame.duplicated(["unit", "indicator"], keep=False)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        problems.append(
            Problem(
                "<table>",
                None,
                "unit",
                f"{int(duplicated.sum())} rows repeat a unit and indicator, e.g. unit "
                f"{first['unit']!r} of {first['indicator']!r}",
            )
        )
    present = frame.dropna(subset=["value"]).groupby("indicator").size()
    for code in codes:
        if present.get(code, 0) == 0:
            problems.append(
                Problem(
                    "<table>",
                    None,
                    "indicator",
                    f"the framework {framework.name!r} needs {framework.level}-level values of "
                    f"{code!r}, and the table has none",
                )
            )
    if (frame["se"] < 0).any():
        problems.append(Problem("<table>", None, "se", "standard errors must not be negative"))
    if problems:
        raise DataValidationError(problems)
    wide = frame.pivot(index="unit", columns="indicator", values=["value", "se"])
    units = wide.index
    direction = np.array([spec.direction for spec in framework.indicators], dtype=float)
    x = wide["value"].reindex(columns=codes).to_numpy(dtype=float) * direction
    s = wide["se"].reindex(columns=codes).to_numpy(dtype=float)
    s = np.where(np.isfinite(s) & ~np.isnan(x), s, 0.0)

    members = np.zeros((len(codes), len(framework.dimensions)))
    w_indicator = np.zeros(len(codes))
    position = 0
    for d, dimension in enumerate(framework.dimensions):
        inner = sum(spec.weight for spec in dimension.indicators)
        for spec in dimension.indicators:
            members[position, d] = 1.0
            w_indicator[position] = spec.weight / inner
            position += 1
    w_dimension = np.array([d.weight for d in framework.dimensions], dtype=float)
    w_dimension /= w_dimension.sum()
    effective = w_indicator * (members @ w_dimension)
    coverage = (~np.isnan(x)) @ effective
    return _Design(
        units=pd.Index(units, name="unit"),
        values=x,
        se=s,
        members=members,
        w_indicator=w_indicator,
        w_dimension=w_dimension,
        coverage=coverage,
        eligible=coverage >= framework.min_coverage - 1e-12,
    )


def _goalposts(values: FloatArray) -> _Goalposts:
    columns = [values[~np.isnan(values[:, i]), i] for i in range(values.shape[1])]
    return _Goalposts(
        low=np.array([c.min() for c in columns]),
        high=np.array([c.max() for c in columns]),
        mean=np.array([c.mean() for c in columns]),
        sd=np.array([c.std(ddof=1) if c.size > 1 else 0.0 for c in columns]),
        distinct=tuple(np.unique(c) for c in columns),
        below=tuple(
            np.concatenate([[0], np.cumsum(np.unique(c, return_counts=True)[1])]) for c in columns
        ),
    )


def _normalise(x: FloatArray, method: str, goal: _Goalposts, framework: Framework) -> FloatArray:
    """Normalised values of ``x`` (…, units, indicators) with the observed goalposts."""
    if method == "minmax":
        low, high = framework.minmax_range
        span = goal.high - goal.low
        share = np.clip((x - goal.low) / np.where(span > 0, span, 1.0), 0.0, 1.0)
        share = np.where(span > 0, share, 0.5)
        y = low + (high - low) * share
    elif method == "zscore":
        mean, sd = framework.zscore_scale
        safe = np.where(goal.sd > 0, goal.sd, 1.0)
        y = mean + sd * np.where(goal.sd > 0, (x - goal.mean) / safe, 0.0)
    else:
        y = np.empty_like(x)
        by_indicator = np.ascontiguousarray(np.moveaxis(x, -1, 0))
        for i, (distinct, below) in enumerate(zip(goal.distinct, goal.below, strict=True)):
            column = by_indicator[i]
            k = np.searchsorted(distinct, column, side="left")
            last = np.minimum(k, distinct.size - 1)
            equal = np.where(distinct[last] == column, below[last + 1] - below[last], 0)
            y[..., i] = 100.0 * (2 * below[k] + equal + 1) / (2.0 * (below[-1] + 1))
    return np.where(np.isnan(x), np.nan, y)


def _weighted_mean(
    y: FloatArray, weights: FloatArray, members: FloatArray, geometric: bool
) -> FloatArray:
    """Weighted arithmetic or geometric mean of ``y`` (…, units, k) within each group of
    ``members`` (k, groups), over the values present; NaN where a group has none."""
    present = ~np.isnan(y)
    terms = np.where(present, np.log(np.where(present, y, 1.0)) if geometric else y, 0.0)
    w = weights[..., None, :] * present
    numerator = (terms * w) @ members
    denominator = w @ members
    mean = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=mean, where=denominator > 0)
    return np.exp(mean) if geometric else mean


class _Model:
    """The composite index as a function of its uncertain inputs."""

    def __init__(self, design: _Design, framework: Framework) -> None:
        self.design = design
        self.framework = framework
        self.goal = _goalposts(design.values)
        unc = framework.uncertainty
        self.active = (
            unc.indicator_noise and bool((design.se > 0).any()),
            unc.weight_noise != "none",
            len(set(unc.normalisations)) > 1,
        )
        n_units, n_indicators = design.values.shape
        self.chunk = max(1, _CHUNK_ELEMENTS // max(1, n_units * n_indicators))

    def scores(
        self, x: FloatArray, w_indicator: FloatArray, w_dimension: FloatArray, method: str
    ) -> tuple[FloatArray, FloatArray]:
        """Dimension scores (B, U, D) and index (B, U) of values ``x`` (B, U, I)."""
        fw = self.framework
        y = _normalise(x, method, self.goal, fw)
        dims = _weighted_mean(y, w_indicator, self.design.members, fw.within == "geometric")
        index = _weighted_mean(
            dims, w_dimension, np.ones((dims.shape[-1], 1)), fw.across == "geometric"
        )[..., 0]
        return dims, np.where(self.design.eligible, index, np.nan)

    def nominal(self) -> tuple[FloatArray, FloatArray]:
        """The deterministic dimension scores (U, D) and index (U,)."""
        d = self.design
        dims, index = self.scores(
            d.values[None], d.w_indicator[None], d.w_dimension[None], self.framework.normalisation
        )
        return dims[0], index[0]

    def sample(self, rng: np.random.Generator, n: int) -> _Inputs:
        """Uncertain inputs of ``n`` draws."""
        d = self.design
        unc = self.framework.uncertainty
        noise = rng.standard_normal((n, *d.values.shape)) if self.active[0] else None
        w_ind = np.broadcast_to(d.w_indicator, (n, d.w_indicator.size))
        w_dim = np.broadcast_to(d.w_dimension, (n, d.w_dimension.size))
        if unc.weight_noise == "dirichlet":
            w_ind = rng.gamma(unc.concentration * d.w_indicator, size=w_ind.shape)
            w_dim = rng.gamma(unc.concentration * d.w_dimension, size=w_dim.shape)
        elif unc.weight_noise == "uniform":
            w_ind = w_ind * (1 + rng.uniform(-unc.spread, unc.spread, size=w_ind.shape))
            w_dim = w_dim * (1 + rng.uniform(-unc.spread, unc.spread, size=w_dim.shape))
        w_ind = w_ind / ((w_ind @ d.members) @ d.members.T)
        w_dim = w_dim / w_dim.sum(axis=1, keepdims=True)
        method = rng.integers(len(unc.normalisations), size=n)
        return _Inputs(noise, w_ind, w_dim, method)

    def perturbed(self, inputs: _Inputs) -> FloatArray:
        """The indicator values of each draw (B, U, I)."""
        d = self.design
        if inputs.noise is None:
            return np.broadcast_to(d.values, (inputs.method.size, *d.values.shape))
        return d.values + d.se * inputs.noise

    def ranked(
        self, x: FloatArray, inputs: _Inputs, primary_index: FloatArray | None = None
    ) -> FloatArray:
        """The index of each draw under the draw's sampled normalisation, the one ranked;
        ``primary_index``, the index under the framework's normalisation, is reused."""
        primary = self.framework.normalisation
        ranked = np.empty(x.shape[:2]) if primary_index is None else primary_index.copy()
        for k, method in enumerate(self.framework.uncertainty.normalisations):
            chosen = inputs.method == k
            if chosen.any() and (primary_index is None or method != primary):
                _, ranked[chosen] = self.scores(
                    x[chosen], inputs.w_indicator[chosen], inputs.w_dimension[chosen], method
                )
        return ranked

    def ranks(self, index: FloatArray) -> FloatArray:
        """Ranks (1 = highest index, ties share the best rank) of the eligible units."""
        return rankdata(-index[:, self.design.eligible], axis=1, method="min")


def _sobol(model: _Model, rng: np.random.Generator, n_base: int) -> pd.DataFrame:
    """First-order and total Sobol indices of the units' ranks, pooled over units."""
    eligible = int(model.design.eligible.sum())
    centre = model.ranks(model.nominal()[1][None])[0]
    total_sum = np.zeros(eligible)
    total_sq = np.zeros(eligible)
    first = np.zeros((len(SOURCES), eligible))
    total = np.zeros((len(SOURCES), eligible))
    for start in range(0, n_base, model.chunk):
        n = min(model.chunk, n_base - start)
        a = model.sample(rng, n)
        b = model.sample(rng, n)
        f_a = model.ranks(model.ranked(model.perturbed(a), a)) - centre
        f_b = model.ranks(model.ranked(model.perturbed(b), b)) - centre
        total_sum += f_a.sum(axis=0) + f_b.sum(axis=0)
        total_sq += (f_a**2).sum(axis=0) + (f_b**2).sum(axis=0)
        mixes = (
            replace(a, noise=b.noise),
            replace(a, w_indicator=b.w_indicator, w_dimension=b.w_dimension),
            replace(a, method=b.method),
        )
        for s, (mixed, active) in enumerate(zip(mixes, model.active, strict=True)):
            if active:
                f_ab = model.ranks(model.ranked(model.perturbed(mixed), mixed)) - centre
                first[s] += (f_b * (f_ab - f_a)).sum(axis=0)
                total[s] += 0.5 * ((f_a - f_ab) ** 2).sum(axis=0)
    variance = total_sq / (2 * n_base) - (total_sum / (2 * n_base)) ** 2
    pooled = float(variance.sum())
    if pooled <= 0:
        share_first = np.full(len(SOURCES), np.nan)
        share_total = np.full(len(SOURCES), np.nan)
    else:
        share_first = first.sum(axis=1) / n_base / pooled
        share_total = total.sum(axis=1) / n_base / pooled
    return pd.DataFrame(
        {"first_order": share_first, "total": share_total, "active": model.active},
        index=pd.Index(SOURCES, name="source"),
    )


# ----------------------------------------------------------------------------- results
class CompositeResult:
    """The composite index of every unit, with Monte Carlo intervals for scores and ranks.

    Attributes
    ----------
    framework : Framework
    units : pandas.Index
        The units of the framework's level found in the table.
    params : Series
        The deterministic index: observed values, nominal weights, the framework's
        normalisation. NaN for a unit whose present indicators carry less than
        ``framework.min_coverage`` of the weight.
    dimension_scores : DataFrame
        The deterministic dimension scores, one column per dimension.
    coverage : Series
        Share of the effective weight whose indicator is present, per unit.
    n_indicators : Series
        Number of the framework's indicators present, per unit.
    index_draws : ndarray of shape (draws, n_units)
        The index in each draw under the framework's normalisation.
    rank_draws : ndarray of shape (draws, n_units)
        The rank in each draw (1 = best; NaN for units without an index; float32).

    Notes
    -----
    The draws are kept so that intervals of any coverage can be computed: about
    ``draws × units × (12 + 8 × dimensions)`` bytes (300 MB for 7,500 schools, 1,000 draws
    and 4 dimensions).

    The index is reported on the scale of the framework's normalisation; its interval covers
    indicator and weight uncertainty on that scale. Switching normalisation changes the scale,
    so normalisation uncertainty enters the ranks (which are scale-free) and not the index
    interval.
    """

    def __init__(
        self,
        *,
        model: _Model,
        index: FloatArray,
        dimensions: FloatArray,
        index_draws: FloatArray,
        rank_draws: NDArray[np.float32],
        dimension_draws: FloatArray,
        sensitivity_seed: int,
    ) -> None:
        self._model = model
        self._sensitivity_seed = sensitivity_seed
        self._dimension_draws = dimension_draws
        design = model.design
        self.framework = model.framework
        self.units = design.units
        self.params = pd.Series(index, index=self.units, name="composite.index")
        self.dimension_scores = pd.DataFrame(
            dimensions, index=self.units, columns=[d.code for d in self.framework.dimensions]
        )
        self.coverage = pd.Series(design.coverage, index=self.units, name="coverage")
        self.n_indicators = pd.Series(
            (~np.isnan(design.values)).sum(axis=1), index=self.units, name="n_indicators"
        )
        self.index_draws = index_draws
        self.rank_draws = rank_draws

    def _alpha(self, alpha: float | None) -> float:
        return 1 - self.framework.uncertainty.interval if alpha is None else alpha

    @cached_property
    def bse(self) -> pd.Series:
        """Standard deviation of the index over the draws."""
        sd = np.full(self.units.size, np.nan)
        eligible = self._model.design.eligible
        sd[eligible] = self.index_draws[:, eligible].std(axis=0)
        return pd.Series(sd, index=self.units, name="se")

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Percentile interval of the index over the draws, columns ``lower`` and ``upper``
        (``alpha`` defaults to ``1 − framework.uncertainty.interval``)."""
        alpha = self._alpha(alpha)
        bounds = _percentiles(self.index_draws, self._model.design.eligible, alpha, "linear")
        return pd.DataFrame(bounds, index=self.units, columns=["lower", "upper"])

    def rank_interval(self, alpha: float | None = None) -> pd.DataFrame:
        """Median rank and its percentile interval over the draws.

        Columns ``median``, ``lower``, ``upper``; the bounds are the ``alpha/2`` and
        ``1 − alpha/2`` quantiles by the inverted empirical distribution function, so they are
        ranks actually reached in the draws.
        """
        alpha = self._alpha(alpha)
        eligible = self._model.design.eligible
        median = np.full(self.units.size, np.nan)
        median[eligible] = np.median(self.rank_draws[:, eligible].astype(float), axis=0)
        bounds = _percentiles(self.rank_draws, eligible, alpha, "inverted_cdf")
        return pd.DataFrame(
            {"median": median, "lower": bounds[:, 0], "upper": bounds[:, 1]}, index=self.units
        )

    def sensitivity(self, n_base: int | None = None) -> pd.DataFrame:
        """Share of the rank variance due to each uncertain input (first-order and total
        Sobol indices).

        Parameters
        ----------
        n_base : int, optional
            Base sample size ``N``; the analysis evaluates the index ``N (2 + k)`` times for
            ``k`` active sources. Defaults to the framework's number of draws.

        Returns
        -------
        DataFrame
            Indexed by :data:`SOURCES`, with columns ``first_order`` (``S_i``), ``total``
            (``S_Ti``) and ``active`` (whether the framework varies that source at all;
            inactive sources have exactly 0). All NaN when no rank varies.

        Notes
        -----
        The output of the model is the vector of ranks ``Y_u`` of the ranked units. Each source
        ``i`` (all indicator perturbations together, all weights together, the normalisation)
        is a group of inputs. With two independent samples of inputs ``A`` and ``B`` of size
        ``N`` and ``A_B^(i)`` the sample ``A`` with source ``i`` taken from ``B``, the
        estimators are Saltelli et al.'s (2010) first-order

        .. math:: V_{u,i} = \\frac1N \\sum_j f(B)_j\\,(f(A_B^{(i)})_j - f(A)_j)

        and Jansen's (1999) total effect

        .. math:: E_{u,i} = \\frac1{2N} \\sum_j (f(A)_j - f(A_B^{(i)})_j)^2,

        with ranks centred on the deterministic rank to reduce the estimators' variance.
        Units are pooled by variance: ``S_i = Σ_u V_{u,i} / Σ_u Var(Y_u)`` and
        ``S_Ti = Σ_u E_{u,i} / Σ_u Var(Y_u)``, the share of the total rank variance of all
        units. ``1 − Σ S_i`` is the share due to interactions. The estimates carry Monte Carlo
        error of order ``1/√N`` and may be slightly negative for unimportant sources. The
        result is deterministic: the random stream was fixed when the index was computed.
        """
        n = self.framework.uncertainty.draws if n_base is None else n_base
        validate_params(
            "CompositeResult.sensitivity", {"n_base": Interval(int, 2, None)}, {"n_base": n}
        )
        return _sobol(self._model, np.random.default_rng(self._sensitivity_seed), n)

    def to_frame(self) -> pd.DataFrame:
        """The results as an indicator table at the framework's level.

        Rows: ``composite.index`` (value: the deterministic index; ``se`` and interval from
        the draws), ``composite.rank`` (value: the median rank; interval: the rank interval;
        ``se`` empty) and ``composite.dimension.<code>`` for every dimension score. ``n`` is the
        number of the framework's indicators present for the unit (for a dimension, of that
        dimension's indicators). Units without an index have no rows.
        """
        fw = self.framework
        eligible = self._model.design.eligible
        present = ~np.isnan(self._model.design.values)
        units = self.units[eligible]
        ci = self.conf_int().to_numpy()[eligible]
        ranks = self.rank_interval()
        parts = [
            _rows(
                "composite.index",
                fw.level,
                units,
                self.params.to_numpy()[eligible],
                self.bse.to_numpy()[eligible],
                ci,
                self.n_indicators.to_numpy()[eligible],
            ),
            _rows(
                "composite.rank",
                fw.level,
                units,
                ranks["median"].to_numpy()[eligible],
                np.full(units.size, np.nan),
                ranks[["lower", "upper"]].to_numpy()[eligible],
                self.n_indicators.to_numpy()[eligible],
            ),
        ]
        alpha = self._alpha(None)
        members = self._model.design.members.astype(bool)
        for d, dimension in enumerate(fw.dimensions):
            draws = self._dimension_draws[:, :, d]
            defined = ~np.isnan(self.dimension_scores.to_numpy()[:, d]) & eligible
            bounds = _percentiles(draws, defined, alpha, "linear")
            sd = np.full(self.units.size, np.nan)
            sd[defined] = draws[:, defined].std(axis=0)
            parts.append(
                _rows(
                    f"composite.dimension.{dimension.code}",
                    fw.level,
                    self.units[defined],
                    self.dimension_scores.to_numpy()[defined, d],
                    sd[defined],
                    bounds[defined],
                    present[defined][:, members[:, d]].sum(axis=1),
                )
            )
        return indicator_table(pd.concat(parts, ignore_index=True))

    def summary(self) -> str:
        """A short text report: framework, units ranked, draws, sources and rank precision."""
        fw = self.framework
        unc = fw.uncertainty
        eligible = self._model.design.eligible
        ranks = self.rank_interval()[eligible]
        width = (ranks["upper"] - ranks["lower"]).to_numpy()
        sources = [s for s, a in zip(SOURCES, self._model.active, strict=True) if a]
        lines = [
            f"Composite index {fw.name!r} version {fw.version} ({fw.level} level)",
            f"  units ranked / found:     {int(eligible.sum())} / {self.units.size}"
            f" (coverage ≥ {fw.min_coverage:g})",
            f"  normalisation:            {fw.normalisation}; aggregation {fw.within} within,"
            f" {fw.across} across dimensions",
            f"  Monte Carlo draws:        {unc.draws}; uncertain: "
            + (", ".join(sources) if sources else "nothing"),
            f"  {unc.interval:.0%} rank interval width: "
            + (
                f"median {np.median(width):g}, max {np.max(width):g}"
                if width.size
                else "no units ranked"
            ),
        ]
        return "\n".join(lines)


def _percentiles(
    draws: NDArray[Any],
    columns: NDArray[np.bool_],
    alpha: float,
    method: Literal["linear", "inverted_cdf"],
) -> FloatArray:
    """Lower and upper ``alpha/2`` quantiles of the chosen columns of ``draws`` (rows NaN
    elsewhere), shape (n_columns, 2)."""
    bounds = np.full((draws.shape[1], 2), np.nan)
    if columns.any():
        bounds[columns] = np.quantile(
            draws[:, columns].astype(float), [alpha / 2, 1 - alpha / 2], axis=0, method=method
        ).T
    return bounds


def _rows(
    indicator: str,
    level: str,
    units: pd.Index,
    value: FloatArray,
    se: FloatArray,
    ci: FloatArray,
    n: NDArray[Any],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": indicator,
            "level": level,
            "unit": np.asarray(units),
            "value": value,
            "se": se,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "n": n,
        }
    )


# ----------------------------------------------------------------------------- the index
def composite_index(
    table: pd.DataFrame, framework: Framework, *, rng: RandomLike = None
) -> CompositeResult:
    """Compute the composite index of a framework, with score and rank intervals.

    Parameters
    ----------
    table : DataFrame
        An indicator table holding, at ``framework.level`` and subgroup ``all``, the codes
        the framework names (other rows are ignored). Suppressed rows count as missing.
    framework : Framework
    rng : int, Generator or None
        Source of the Monte Carlo draws.

    Returns
    -------
    CompositeResult

    Raises
    ------
    DataValidationError
        When a named indicator has no value at the level, a unit repeats an indicator, or a
        standard error is negative.

    Notes
    -----
    **Construction** (Handbook, steps 5–6). Each indicator ``x`` is multiplied by its
    direction, then normalised with goalposts estimated from the observed values of all units:

    * min-max: ``y = a + (b − a)(x − min)/(max − min)`` to the range ``[a, b]``;
    * z-score: ``y = m + s (x − mean)/sd`` (sample SD, ``ddof = 1``) to mean ``m``, SD ``s``;
    * percentile: ``y = 100 r/(n + 1)`` with ``r`` the mid-rank of ``x`` among the ``n``
      observed values, in ``(0, 100)``.

    A constant indicator normalises to the middle of the scale. Indicators are aggregated into
    dimension scores, and dimensions into the index, by the weighted arithmetic mean
    ``Σ w y / Σ w`` or the weighted geometric mean ``exp(Σ w ln y / Σ w)``. The geometric
    mean rewards balance (low values cannot be fully compensated) and needs positive values,
    which the framework's validation guarantees.

    **Missing values.** A mean is taken over the values present, with the weights rescaled to
    them, so a missing indicator is in effect imputed by the unit's mean of the others in its
    dimension. A unit gets an index only if the indicators present carry at least
    ``framework.min_coverage`` of the effective weight (dimension share × share within the
    dimension); other units get no index and no rank.

    **Monte Carlo** (Handbook, step 7; Saisana et al. 2005). Each of
    ``uncertainty.draws`` draws

    1. perturbs every indicator value by ``N(0, se²)`` (values without an SE are fixed);
    2. perturbs the weights: Dirichlet(κ·w) within each dimension and across dimensions, or
       each weight times ``1 + U(−spread, spread)`` and rescaled;
    3. picks one of ``uncertainty.normalisations`` with equal probability;

    recomputes the index and ranks the units (1 = highest index, ties share the best rank).
    The goalposts are not re-estimated in a draw: the normalisation is a fixed transformation
    estimated once from the data, so a unit's score does not move with other units' noise,
    and noise does not stretch the min-max range (the maximum of noisy values is biased
    upwards). Min-max values beyond the goalposts are capped at the range ends.

    The ``composite.index`` interval is the percentile interval of the index in the draws
    under the framework's normalisation; the ``composite.rank`` value is the median rank and
    its interval the ``(1 − interval)/2`` and ``(1 + interval)/2`` quantiles of the rank
    over the draws (5th and 95th percentiles for 0.90).
    """
    generator = as_generator(rng)
    sensitivity_seed = int(generator.integers(2**63))
    model = _Model(_design(table, framework), framework)
    dims, index = model.nominal()
    n_draws = framework.uncertainty.draws
    n_units = model.design.units.size
    index_draws = np.empty((n_draws, n_units))
    rank_draws = np.full((n_draws, n_units), np.nan, dtype=np.float32)
    dimension_draws = np.empty((n_draws, n_units, dims.shape[1]))
    eligible = model.design.eligible
    for start in range(0, n_draws, model.chunk):
        stop = min(n_draws, start + model.chunk)
        inputs = model.sample(generator, stop - start)
        x = model.perturbed(inputs)
        dimension_draws[start:stop], index_draws[start:stop] = model.scores(
            x, inputs.w_indicator, inputs.w_dimension, framework.normalisation
        )
        rank_draws[start:stop, eligible] = model.ranks(
            model.ranked(x, inputs, index_draws[start:stop])
        )
    return CompositeResult(
        model=model,
        index=index,
        dimensions=dims,
        index_draws=index_draws,
        rank_draws=rank_draws,
        dimension_draws=dimension_draws,
        sensitivity_seed=sensitivity_seed,
    )


# ----------------------------------------------------------------------------- similar schools
def similar_schools(features: pd.DataFrame, *, k: int = 10) -> pd.DataFrame:
    """For each school, the ``k`` schools most similar in context.

    Parameters
    ----------
    features : DataFrame
        One row per school, indexed by school code; one column per context variable, e.g.
        urban/rural, small-class school, language of instruction, enrolment, share of pupils
        from low-income families. Numeric and boolean columns are used as numbers, other
        columns as categories. No value may be missing.
    k : int
        Number of similar schools per school (fewer when there are not ``k`` other schools).

    Returns
    -------
    DataFrame
        Columns ``school``, ``similar``, ``rank`` (1 = most similar) and ``distance``, one row
        per school and similar school, schools in input order.

    Raises
    ------
    DataValidationError
        When school codes repeat or a feature value is missing.

    Notes
    -----
    The distance is the standardised Euclidean distance
    ``d(i, j)² = Σ_v ((z_iv − z_jv)/s_v)²`` over the encoded variables: a numeric or boolean
    variable (booleans as 0/1) is one column; a categorical variable is one 0/1 column per
    category, each scaled by an extra ``1/√2`` so that two schools in different categories
    differ by one unit of the variable, not two (a two-category variable then weighs exactly
    as its boolean coding). ``s_v`` is the column's standard deviation over all schools, so
    every variable counts in units of its own spread and none dominates by its unit of
    measurement; a constant column is dropped. A school is never its own similar school;
    schools at equal distance are ordered arbitrarily but reproducibly.
    """
    validate_params("similar_schools", {"k": Interval(int, 1, None)}, {"k": k})
    problems = []
    if features.index.has_duplicates:
        repeated = features.index[features.index.duplicated()].unique()
        problems.append(
            Problem("<features>", None, None, f"school codes repeat: {list(repeated[:5])}")
        )
    for column in features.columns:
        missing = features.index[features[column].isna().to_numpy()]
        if missing.size:
            problems.append(
                Problem(
                    "<features>",
                    None,
                    str(column),
                    f"{missing.size} schools lack a value, e.g. {list(missing[:5])}",
                )
            )
    if problems:
        raise DataValidationError(problems)
    columns = []
    factors = []
    for _, column in features.items():
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            columns.append(column.astype(float).to_numpy()[:, None])
            factors.append(np.ones(1))
        else:
            dummies = pd.get_dummies(column.astype(str)).to_numpy(dtype=float)
            columns.append(dummies)
            factors.append(np.full(dummies.shape[1], 1 / np.sqrt(2.0)))
    n = len(features)
    encoded = np.hstack(columns) if columns else np.zeros((n, 0))
    factor = np.concatenate(factors) if factors else np.zeros(0)
    sd = encoded.std(axis=0)
    kept = sd > 0
    z = (encoded[:, kept] - encoded[:, kept].mean(axis=0)) / sd[kept] * factor[kept]
    take = min(k, n - 1)
    if take < 1:
        return pd.DataFrame(
            {
                "school": pd.Series(dtype=object),
                "similar": pd.Series(dtype=object),
                "rank": pd.Series(dtype=np.int64),
                "distance": pd.Series(dtype=float),
            }
        )
    codes = features.index.to_numpy()
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n * max(1, z.shape[1])))
    parts = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        diff = z[start:stop, None, :] - z[None, :, :]
        distance = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        distance[np.arange(stop - start), np.arange(start, stop)] = np.inf
        nearest = np.argpartition(distance, take - 1, axis=1)[:, :take]
        nearest_distance = np.take_along_axis(distance, nearest, axis=1)
        order = np.argsort(nearest_distance, axis=1, kind="stable")
        nearest = np.take_along_axis(nearest, order, axis=1)
        parts.append(
            pd.DataFrame(
                {
                    "school": np.repeat(codes[start:stop], take),
                    "similar": codes[nearest.ravel()],
                    "rank": np.tile(np.arange(1, take + 1), stop - start),
                    "distance": np.take_along_axis(nearest_distance, order, axis=1).ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def compare_with_similar(
    table: pd.DataFrame, similar: pd.DataFrame, indicator: str, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Each school's value of ``indicator`` minus the mean of its similar schools' values.

    Parameters
    ----------
    table : DataFrame
        An indicator table with school-level rows (subgroup ``all``) of ``indicator``.
    similar : DataFrame
        Pairs ``school``, ``similar``, as returned by :func:`similar_schools`.
    indicator : str
    confidence : float
        Coverage of the interval.

    Returns
    -------
    DataFrame
        An indicator table of ``<indicator>.vs_similar`` at school level: ``value`` the
        difference, ``se`` and a Wald interval, ``n`` the number of similar schools with a
        value. Schools without a value, or none of whose similar schools has one, have no row.

    Notes
    -----
    With ``v_s`` the school's value, ``P`` its ``m`` similar schools with a value,

    .. math:: \\Delta_s = v_s - \\frac1m \\sum_{p \\in P} v_p, \\qquad
              \\mathrm{se}(\\Delta_s) = \\sqrt{\\mathrm{se}_s^2 + \\frac1{m^2}
              \\sum_{p \\in P} \\mathrm{se}_p^2},

    treating the schools' estimation errors as independent; the interval is
    ``Δ ± z_{(1+confidence)/2} se``. A missing SE counts as 0 (a value known without error).
    The comparison targets the similar schools' actual values, so their spread around their
    mean is not part of the uncertainty.
    """
    validate_params(
        "compare_with_similar",
        {"confidence": Interval(float, 0, 1, closed="neither")},
        {"confidence": confidence},
    )
    rows = table[(table["indicator"] == indicator) & (table["level"] == "school")]
    if "subgroup" in rows:
        rows = rows[rows["subgroup"] == ALL]
    if "suppressed" in rows:
        rows = rows[~rows["suppressed"].astype(bool)]
    rows = rows[rows["value"].notna()]
    if rows["unit"].duplicated().any():
        raise DataValidationError(
            Problem("<table>", None, "unit", f"school rows of {indicator!r} repeat a school")
        )
    value = rows.set_index("unit")["value"].astype(float)
    se = (
        rows.set_index("unit")["se"].astype(float).fillna(0.0)
        if "se" in rows
        else pd.Series(0.0, index=value.index)
    )
    pairs = similar[["school", "similar"]].copy()
    pairs["peer"] = pairs["similar"].map(value)
    pairs["peer_var"] = pairs["similar"].map(se**2)
    pairs = pairs[pairs["peer"].notna() & pairs["school"].isin(value.index)]
    peers = pairs.groupby("school", sort=False).agg(
        mean=("peer", "mean"), n=("peer", "size"), var=("peer_var", "sum")
    )
    own = value.reindex(peers.index).to_numpy()
    own_se = se.reindex(peers.index).to_numpy()
    difference = own - peers["mean"].to_numpy()
    n = peers["n"].to_numpy()
    diff_se = np.sqrt(own_se**2 + peers["var"].to_numpy() / n**2)
    z = norm.ppf((1 + confidence) / 2)
    return indicator_table(
        pd.DataFrame(
            {
                "indicator": f"{indicator}.vs_similar",
                "level": "school",
                "unit": peers.index.to_numpy(),
                "value": difference,
                "se": diff_se,
                "ci_low": difference - z * diff_se,
                "ci_high": difference + z * diff_se,
                "n": n,
            }
        )
    )
