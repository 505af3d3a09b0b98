"""Names and number formats of indicators, in the interface language.

Indicator codes are built from parts (``outcomes.mean.MLIT4``: family ``outcomes.mean``, domain
``MLIT``, grade 4; ``teachers.share.pedagogue_master``); the label is the family's message with
the domain, grade or category filled in, so a new domain or category needs one message, not
one per indicator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

__all__ = [
    "AREAS",
    "DOMAINS",
    "LOCALITIES",
    "REASONS",
    "ROLES",
    "SENSITIVITIES",
    "area_of",
    "format_value",
    "label",
    "percent_like",
]

Translate = Callable[[str], str]

DOMAINS = {
    "MLIT": "Mathematical literacy",
    "READ": "Reading literacy",
    "SLIT": "Science literacy",
}

AREAS = {
    "outcomes": "Learning outcomes",
    "teachers": "Teachers",
    "conditions": "Infrastructure",
    "welfare": "Meals, incidents and parents",
    "leadership": "Leadership programme",
    "composite": "Quality index",
}
"""Indicator families shown on their own pages, by the first part of the code."""

ROLES = {
    "ministry": "Ministry",
    "region": "Regional department",
    "district": "District department",
    "school": "School",
    "teacher": "Teacher",
    "analyst": "Analyst",
    "auditor": "Auditor",
}
LOCALITIES = {"urban": "urban", "rural": "rural"}
SENSITIVITIES = {"personal": "personal data", "restricted": "restricted"}

_FAMILIES = {
    "outcomes.mean": "Mean score, {domain}, grade {grade}",
    "outcomes.gap": "Gap between groups, {domain}, grade {grade}",
    "outcomes.at_or_above_1": "At or above level 1, {domain}, grade {grade}",
    "outcomes.level_below_1": "Below level 1, {domain}, grade {grade}",
    "outcomes.level_1": "Level 1, {domain}, grade {grade}",
    "outcomes.level_2": "Level 2, {domain}, grade {grade}",
    "outcomes.level_3": "Level 3, {domain}, grade {grade}",
    "outcomes.level_4": "Level 4, {domain}, grade {grade}",
    "value_added": "Value-added, {domain}, grade {grade}",
    "growth.median_sgp": "Median growth percentile, {domain}, grade {grade}",
    "outcomes.mean.all_grades": "Mean score, {domain}, grades 4 and 9",
    "outcomes.at_or_above_1.all_grades": "At or above level 1, {domain}, grades 4 and 9",
    "teachers.share": "Share of teachers: {category}",
    "teachers.attestation_due_12m": "Attestations due within 12 months",
    "teachers.attestation_overdue": "Attestations overdue",
    "teachers.awards_per_1000": "Awards per 1,000 teachers",
    "teachers.mean_weekly_hours": "Mean weekly teaching hours",
    "teachers.pd_coverage_3y": "Professional development in the last 3 years",
    "teachers.pupil_teacher_ratio": "Pupils per teacher",
    "teachers.qualification_pass_rate": "Qualification test pass rate",
    "teachers.rate_over_1_5": "Teachers with over 1.5 workloads",
    "teachers.vacancies_open": "Open vacancies",
    "teachers.vacancy_rate": "Vacancy rate",
    "teachers.young_retention_1y": "Young specialists retained after 1 year",
    "teachers.young_retention_3y": "Young specialists retained after 3 years",
    "teachers.young_specialists": "Young specialists",
    "conditions.emergency_schools": "Schools in emergency buildings",
    "conditions.forecast_deficit": "Forecast place deficit, {year}",
    "conditions.overcrowded": "Overcrowded schools",
    "conditions.overcrowded_pupils": "Pupils in overcrowded schools",
    "conditions.places_delivered": "Places delivered, {year}",
    "conditions.places_ratio": "Pupils per place",
    "conditions.projects": "Projects: {category}",
    "conditions.subject_classroom_coverage": "Subject classrooms: {category}",
    "conditions.three_shift_schools": "Three-shift schools",
    "welfare.appeals_overdue": "Complaints answered late",
    "welfare.catering_violations_per_inspection": "Catering violations per inspection",
    "welfare.incidents_per_1000": "Incidents per 1,000 pupils",
    "welfare.incidents_by_type": "Incidents per 1,000 pupils: {category}",
    "welfare.meal_coverage": "Meal coverage of eligible pupils",
    "welfare.parent_satisfaction": "Parent satisfaction",
    "welfare.trustee_meetings": "Board of trustees meetings",
    "leadership.admitted": "Admitted to the programme",
    "leadership.applicants": "Applicants",
    "leadership.appointed": "Appointed heads",
    "leadership.appointed_share": "Share of graduates appointed",
    "leadership.reservists": "In the reserve",
    "leadership.trained": "Trained",
    "composite.index": "Quality index",
    "composite.rank": "Rank (quality index)",
    "composite.dimension": "Quality index: {category}",
}

_CATEGORIES = {
    "pedagogue": "pedagogue",
    "pedagogue_moderator": "pedagogue-moderator",
    "pedagogue_expert": "pedagogue-expert",
    "pedagogue_researcher": "pedagogue-researcher",
    "pedagogue_master": "pedagogue-master",
    "biology": "biology",
    "chemistry": "chemistry",
    "physics": "physics",
    "computer_science": "computer science",
    "planned": "planned",
    "design": "design",
    "construction": "construction",
    "commissioned": "commissioned",
    "cancelled": "cancelled",
    "bullying": "bullying",
    "cyberbullying": "cyberbullying",
    "discrimination": "discrimination",
    "neglect": "neglect",
    "self_harm": "self-harm",
    "sexual_violence": "sexual violence",
    "violence": "violence",
    "other": "other",
    "outcomes": "outcomes",
    "teachers": "teachers",
    "conditions": "conditions",
    "welfare": "welfare",
}

REASONS = {
    "low_outcomes_mathematics": "Low outcomes in mathematics",
    "low_outcomes_reading": "Low outcomes in reading",
    "low_outcomes_vs_similar": "Below similar schools",
    "low_parent_satisfaction": "Low parent satisfaction",
    "overcrowded": "Overcrowded",
    "overdue_attestations": "Overdue attestations",
    "rank_in_bottom_decile": "Bottom tenth of the quality index",
    "emergency_building": "Emergency building",
    "low_meal_coverage": "Low meal coverage",
}

_PERCENT = re.compile(
    r"^(outcomes\.(at_or_above|level)|teachers\.(share|attestation|pd_coverage|qualification|"
    r"rate_over|vacancy_rate|young_retention)|conditions\.(overcrowded$|subject_classroom)|"
    r"welfare\.(meal_coverage|appeals_overdue)|leadership\.appointed_share)"
)
_DOMAIN_GRADE = re.compile(r"^(?P<domain>[A-Z]+)(?P<grade>\d+)$")


def area_of(indicator: str) -> str:
    """The page an indicator belongs to (first part of its code)."""
    return indicator.split(".", 1)[0]


def _family(indicator: str) -> tuple[str, str]:
    """The longest known family prefix and the remaining part of the code."""
    parts = indicator.split(".")
    for cut in range(len(parts), 0, -1):
        family = ".".join(parts[:cut])
        if family in _FAMILIES:
            return family, ".".join(parts[cut:])
    return indicator, ""


def label(indicator: str, _: Translate) -> str:
    """The indicator's name in the interface language (its code when unknown)."""
    if indicator.endswith(".vs_similar"):
        return _("{indicator}, against similar schools").format(
            indicator=label(indicator.removesuffix(".vs_similar"), _)
        )
    family, rest = _family(indicator)
    if rest in DOMAINS and f"{family}.all_grades" in _FAMILIES:
        family = f"{family}.all_grades"
    if family == "welfare.incidents_per_1000" and rest:
        family = "welfare.incidents_by_type"
    if family not in _FAMILIES:
        return indicator
    fields: dict[str, str] = {}
    match = _DOMAIN_GRADE.match(rest)
    if match:
        fields = {
            "domain": _(DOMAINS.get(match["domain"], match["domain"])),
            "grade": match["grade"],
        }
    elif rest in DOMAINS:
        fields = {"domain": _(DOMAINS[rest])}
    elif rest.isdigit():
        fields = {"year": rest}
    elif rest:
        fields = {"category": _(_CATEGORIES.get(rest, rest.replace("_", " ")))}
    try:
        return _(_FAMILIES[family]).format(**fields)
    except KeyError:
        return indicator


def percent_like(indicator: str) -> bool:
    """Whether the indicator is a share (stored 0–1, shown in per cent)."""
    return bool(_PERCENT.match(indicator))


def format_value(indicator: str, value: float | None, *, digits: int | None = None) -> str:
    """A value for display: shares in per cent, scale scores whole, ratios with one decimal;
    suppressed or missing values as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if percent_like(indicator):
        return f"{100 * value:.{1 if digits is None else digits}f}%"
    if indicator.startswith(("outcomes.mean", "outcomes.gap", "composite.rank", "value_added")):
        return f"{value:.{0 if digits is None else digits}f}"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{value:,.0f}".replace(",", "\u202f")
    return f"{value:.{2 if digits is None else digits}f}"
