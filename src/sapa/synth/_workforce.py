"""The teacher workforce of a synthetic region: categories and their history, attestation,
the qualification test, professional development, awards, vacancies and young specialists.

Categories are assigned by rank of a latent merit (experience plus noise; nobody with under two
years' experience above ``pedagogue``) so each region holds the national shares exactly
(moderator 23.1%, expert 21.8%, researcher 19.1%, master 0.9%; Zhambyl 436 masters per 40,000).
The current category was confirmed or assigned at the last attestation, within the last five
years (three for heads) for 96% of pedagogues; the other 4% are overdue. Pedagogues due in 2025
sit the national qualification test (ОЗП) from January to May; their attestation is decided
after the snapshot date.

A school's true effect on achievement (``quality``, SD units) is set here because it depends on
its teachers: ``0.8 × (share of expert, researcher and master teachers − 0.42) − 0.15 ×
three-shift − 0.10 × emergency building + 0.10 × urban − 0.05 × small-class + N(0, 0.2²)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np
import pandas as pd

from sapa.synth._frame import RegionFrame
from sapa.synth._targets import CATEGORY_SHARES, MRP_TENGE, NATIONAL, REFERENCE_DATE

__all__ = ["CATEGORIES", "QualificationTest", "add_workforce", "workforce_national_tables"]

CATEGORIES = ("pedagogue", *CATEGORY_SHARES)
"""Qualification categories from lowest to highest."""

_ZHAMBYL_MASTER_SHARE = 436 / 40_000
_HEAD_CYCLE_YEARS = 3
_CYCLE_YEARS = 5
_TEST_WINDOW = (dt.date(2025, 1, 13), dt.date(2025, 5, 23))
_YEAR_DAYS = 365

_COURSES = (
    (
        "ORL-CRIT-80",
        "Критериальное оценивание: теория и практика",
        "АО НЦПК «Өрлеу»",
        80,
        "blended",
    ),
    (
        "ORL-FUNC-72",
        "Развитие функциональной грамотности учащихся",
        "АО НЦПК «Өрлеу»",
        72,
        "online",
    ),
    (
        "ORL-INCL-80",
        "Инклюзивное образование в общеобразовательной школе",
        "АО НЦПК «Өрлеу»",
        80,
        "blended",
    ),
    ("ORL-DIGI-36", "Цифровые инструменты учителя", "АО НЦПК «Өрлеу»", 36, "online"),
    ("ORL-SMALL-72", "Обучение в малокомплектной школе", "АО НЦПК «Өрлеу»", 72, "in_person"),
    (
        "CPM-LEVEL-3",
        "Программа повышения квалификации: третий (базовый) уровень",
        "Центр педагогического мастерства АОО «НИШ»",
        240,
        "in_person",
    ),
    (
        "CPM-LEVEL-2",
        "Программа повышения квалификации: второй (основной) уровень",
        "Центр педагогического мастерства АОО «НИШ»",
        240,
        "in_person",
    ),
    (
        "CPM-STEM-80",
        "STEM-подход в обучении естественным наукам",
        "Центр педагогического мастерства АОО «НИШ»",
        80,
        "blended",
    ),
    ("UNI-MENT-36", "Наставничество молодых педагогов", "Региональный университет", 36, "blended"),
    (
        "UNI-PSY-72",
        "Психолого-педагогическое сопровождение и профилактика буллинга",
        "Региональный университет",
        72,
        "online",
    ),
    (
        "UNI-ENG-120",
        "English for subject teachers (CLIL)",
        "Региональный университет",
        120,
        "blended",
    ),
    ("ORL-LEAD-72", "Управление школой: лидерство в образовании", "АО НЦПК «Өрлеу»", 72, "blended"),
)
"""Course catalogue (``code``, title, provider, hours, format)."""

_AWARDS = (
    # kind, national winners per year, title, conferred by, payment in MRP
    (
        "best_pedagogue",
        64,
        "«Лучший педагог», победитель республиканского этапа",
        "Министерство просвещения РК",
        1000,
    ),
    ("honoured_teacher", 12, "«Қазақстанның еңбек сіңірген ұстазы»", "Указ Президента РК", 1000),
    ("ministry_badge", 450, "Нагрудный знак «Ы. Алтынсарин»", "Министерство просвещения РК", 0),
    ("regional_award", 1600, "Почётная грамота акима области", "Акимат области", 0),
)
"""Awards per year nationally (best pedagogue: 64 winners; the others assumed)."""


class QualificationTest(Protocol):
    """What the workforce stage needs from the assessment simulation."""

    def sit_qualification_test(self, frame: RegionFrame, sitters: pd.DataFrame) -> pd.DataFrame:
        """Simulate the sitters' test and return ``qualification_test_result`` rows."""
        ...


def workforce_national_tables() -> dict[str, pd.DataFrame]:
    """The national course catalogue."""
    return {
        "course": pd.DataFrame(
            list(_COURSES), columns=["code", "title", "provider", "hours", "format"]
        )
    }


def _days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(np.int64).astype("timedelta64[D]")


def _dates(values: np.ndarray) -> list[object]:
    return list(np.asarray(values, dtype="datetime64[D]").astype(object))


def add_workforce(frame: RegionFrame, test: QualificationTest) -> None:
    """Add categories, attestations, test results, courses, awards, vacancies and young
    specialists' support; finish the ``teacher`` table; set ``frame.schools['quality']``."""
    rng = frame.rng("workforce")
    teachers = frame.teachers
    current = teachers["left_on"].isna().to_numpy()
    category = _assign_categories(rng, frame, current)
    teachers["category"] = np.array(CATEGORIES)[category]
    teachers["ability"] = 0.5 * (category - category.mean()) / max(
        category.std(), 1e-9
    ) + rng.normal(0, 0.87, len(teachers))
    last_attestation = _category_history(rng, frame, category)
    _attestations(rng, frame, category, last_attestation, test)
    _school_quality(rng, frame)
    _courses(rng, frame)
    _awards(frame)
    _vacancies(rng, frame)
    _young_specialists(rng, frame)
    frame.tables["teacher"] = teachers[
        [
            "code",
            "iin",
            "sex",
            "birth_year",
            "organization_code",
            "position",
            "education_level",
            "experience_years",
            "weekly_hours",
            "hired_on",
            "left_on",
            "young_specialist",
            "young_specialist_since",
        ]
    ]


def _assign_categories(
    rng: np.random.Generator, frame: RegionFrame, current: np.ndarray
) -> np.ndarray:
    teachers = frame.teachers
    n = len(teachers)
    experience = teachers["experience_years"].to_numpy()
    leading = teachers["position"].isin(["head", "deputy_head"]).to_numpy()
    merit = experience / 8 + rng.normal(0, 1, n) + 0.4 * leading
    eligible = current & (experience >= 2)
    merit = np.where(eligible, merit, -np.inf)
    shares = dict(CATEGORY_SHARES)
    if frame.code == "KZ-31":
        shares["pedagogue_master"] = _ZHAMBYL_MASTER_SHARE
    counts = [round(shares[c] * current.sum()) for c in reversed(CATEGORIES[1:])]
    order = np.argsort(-merit, kind="stable")
    category = np.zeros(n, dtype=np.int64)
    start = 0
    for level, count in zip(range(len(CATEGORIES) - 1, 0, -1), counts, strict=True):
        chosen = order[start : start + count]
        category[chosen[eligible[chosen]]] = level
        start += count
    return category


def _category_history(
    rng: np.random.Generator, frame: RegionFrame, category: np.ndarray
) -> np.ndarray:
    """``category_assignment`` rows: ``pedagogue`` from the start of the career, then one step
    per attestation up to the current category. Returns the date of the last attestation
    (the career start for those never attested)."""
    teachers = frame.teachers
    n = len(teachers)
    reference = np.datetime64(str(REFERENCE_DATE))
    start = teachers["career_start"].to_numpy().astype("datetime64[D]")
    head = (teachers["position"] == "head").to_numpy()
    cycle = np.where(head, _HEAD_CYCLE_YEARS, _CYCLE_YEARS) * _YEAR_DAYS
    overdue = rng.random(n) < 0.04
    ago = np.where(overdue, cycle + rng.integers(10, 500, n), rng.integers(0, cycle))
    last = np.maximum(reference - _days(ago), start + np.timedelta64(2 * _YEAR_DAYS, "D"))
    # Holders of the basic category are attested too (their category is confirmed), except in
    # their first cycle.
    first_cycle = reference - start < _days(cycle)
    last = np.where((category > 0) | ~first_cycle, last, start)

    steps = category + 1
    teacher_index = np.repeat(np.arange(n), steps)
    level = np.concatenate([np.arange(s) for s in steps])
    # Steps every five years back from the last attestation, closer together for short careers.
    c = category[teacher_index]
    gap = np.minimum(
        _CYCLE_YEARS * _YEAR_DAYS, (last - start).astype(np.int64) // np.maximum(category, 1)
    )
    valid_from = np.where(
        level == 0,
        start[teacher_index],
        last[teacher_index] - _days((c - level) * gap[teacher_index]),
    )
    is_last = level == category[teacher_index]
    valid_to = np.where(
        is_last, np.datetime64("NaT"), np.roll(valid_from, -1) - np.timedelta64(1, "D")
    )
    left = pd.to_datetime(teachers["left_on"]).to_numpy().astype("datetime64[D]")[teacher_index]
    valid_to = np.where(is_last & ~np.isnat(left), left, valid_to)
    order_number = rng.integers(10, 400, len(level))
    frame.tables["category_assignment"] = pd.DataFrame(
        {
            "teacher_code": teachers["code"].to_numpy()[teacher_index],
            "category": np.array(CATEGORIES)[level],
            "valid_from": _dates(valid_from),
            "valid_to": _dates(valid_to),
            "basis": np.where(level == 0, "on_hire", "attestation"),
            "order_reference": [
                f"№ {k} от {d.strftime('%d.%m.%Y')}"
                for k, d in zip(order_number, valid_from.astype(object), strict=True)
            ],
        }
    )
    return last


def _attestations(
    rng: np.random.Generator,
    frame: RegionFrame,
    category: np.ndarray,
    last: np.ndarray,
    test: QualificationTest,
) -> None:
    """Past attestations (one per category step) and the next one due; pedagogues due by the
    end of 2025 sit the qualification test in the 2025 window."""
    teachers = frame.teachers
    history = frame.tables["category_assignment"]
    steps = history[history["basis"] == "attestation"]
    start = teachers["career_start"].to_numpy().astype("datetime64[D]")
    confirmed = (category == 0) & (last > start)
    held = np.concatenate(
        [pd.to_datetime(steps["valid_from"]).to_numpy().astype("datetime64[D]"), last[confirmed]]
    )
    past = pd.DataFrame(
        {
            "teacher_code": np.concatenate(
                [steps["teacher_code"].to_numpy(), teachers["code"].to_numpy()[confirmed]]
            ),
            "due_on": _dates(held + _days(rng.integers(0, 45, len(held)))),
            "period_years": _CYCLE_YEARS,
            "target_category": np.concatenate(
                [steps["category"].to_numpy(), np.full(confirmed.sum(), CATEGORIES[0])]
            ),
            "held_on": _dates(held - _days(rng.integers(1, 10, len(held)))),
            "result": np.repeat(["assigned", "confirmed"], [len(steps), confirmed.sum()]),
        }
    )
    active = teachers["left_on"].isna().to_numpy()
    head = (teachers["position"] == "head").to_numpy()
    period = np.where(head, _HEAD_CYCLE_YEARS, _CYCLE_YEARS)
    due = np.array(
        [_add_years(d, p) for d, p in zip(last.astype(object), period, strict=True)],
        dtype="datetime64[D]",
    )
    due_soon = active & (due <= np.datetime64("2025-12-31"))
    upgrade = (rng.random(len(teachers)) < 0.4) & (category < len(CATEGORIES) - 1)
    target = np.where(due_soon & upgrade, category + 1, category)
    early = active & ~due_soon & (category < 3) & (rng.random(len(teachers)) < 0.02)
    target = np.where(early, category + 1, target)
    sitting = (due_soon & (rng.random(len(teachers)) < 0.75)) | early
    window = (_TEST_WINDOW[1] - _TEST_WINDOW[0]).days
    tested_on = np.datetime64(_TEST_WINDOW[0]) + _days(rng.integers(0, window, len(teachers)))
    sitters = pd.DataFrame(
        {
            "teacher_code": teachers["code"].to_numpy()[sitting],
            "tested_on": _dates(tested_on[sitting]),
            "target_category": np.array(CATEGORIES)[target[sitting]],
            "main_subject": teachers["main_subject"].to_numpy()[sitting],
            "language": teachers["language"].to_numpy()[sitting],
            "ability": teachers["ability"].to_numpy()[sitting],
        }
    )
    frame.tables["qualification_test_result"] = test.sit_qualification_test(frame, sitters)
    upcoming = pd.DataFrame(
        {
            "teacher_code": teachers["code"].to_numpy()[active],
            "due_on": _dates(due[active]),
            "period_years": period[active],
            "target_category": np.array(CATEGORIES)[target[active]],
            "held_on": None,
            "result": None,
        }
    )
    table = pd.concat([past, upcoming], ignore_index=True)
    frame.tables["attestation"] = table.drop_duplicates(["teacher_code", "due_on"], keep="last")


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _school_quality(rng: np.random.Generator, frame: RegionFrame) -> None:
    teachers = frame.teachers[frame.teachers["left_on"].isna()]
    senior = teachers["category"].isin(CATEGORIES[2:]).groupby(teachers["organization_code"]).mean()
    schools = frame.schools
    share = schools["code"].map(senior).fillna(0).to_numpy()
    frame.schools["senior_teacher_share"] = share
    frame.schools["quality"] = (
        0.8 * (share - 0.42)
        - 0.15 * schools["three_shift"].to_numpy()
        - 0.10 * schools["emergency"].to_numpy()
        + 0.10 * schools["urban"].to_numpy()
        - 0.05 * schools["small_class"].to_numpy()
        + rng.normal(0, 0.2, len(schools))
    )


def _courses(rng: np.random.Generator, frame: RegionFrame) -> None:
    """Completions over the last three years: about 35% of pedagogues a year in towns, 25% in
    villages (assumed); young specialists take the mentoring course, heads the leadership one."""
    teachers = frame.teachers
    n = len(teachers)
    rows = []
    for year in (2022, 2023, 2024):
        rate = np.where(teachers["urban"].to_numpy(), 0.35, 0.25)
        took = rng.random(n) < rate
        course = rng.integers(0, len(_COURSES), n)
        course = np.where(teachers["position"].to_numpy() == "head", 11, course)
        start = np.datetime64(f"{year}-09-15") + _days(rng.integers(0, 270, n))
        hired = pd.to_datetime(teachers["hired_on"]).to_numpy().astype("datetime64[D]")
        left = pd.to_datetime(teachers["left_on"]).to_numpy().astype("datetime64[D]")
        ok = took & (start > hired) & (np.isnat(left) | (start < left))
        ok &= start <= np.datetime64(str(REFERENCE_DATE))
        for k in np.flatnonzero(ok):
            code, _, provider, hours, _ = _COURSES[course[k]]
            rows.append(
                (
                    teachers["code"].iat[k],
                    code,
                    start[k].astype(object),
                    hours,
                    f"{code[:3]}-{year % 100}-{frame.digits}{k:06d}",
                )
            )
    frame.tables["course_completion"] = pd.DataFrame(
        rows,
        columns=[
            "teacher_code",
            "course_code",
            "completed_on",
            "hours_credited",
            "certificate_number",
        ],
    ).drop_duplicates(["teacher_code", "course_code", "completed_on"])


def _awards(frame: RegionFrame) -> None:
    """Awards in 2023 and 2024: national numbers × the region's share of the nation's
    teachers, drawn among experienced teachers with higher categories."""
    rng = frame.rng("awards")
    teachers = frame.teachers[frame.teachers["left_on"].isna()]
    eligible = teachers[
        (teachers["experience_years"] >= 5) & teachers["category"].isin(CATEGORIES[2:])
    ]
    share = len(teachers) / NATIONAL.teachers
    rows = []
    for year, day in ((2023, "10-05"), (2024, "10-04")):
        for kind, per_year, title, conferred_by, mrp in _AWARDS:
            expected = per_year * share
            count = int(expected) + (rng.random() < expected - int(expected))
            for k in rng.choice(len(eligible), min(count, len(eligible)), replace=False):
                rows.append(
                    (
                        eligible["code"].iat[k],
                        kind,
                        f"{title} – {year}" if kind == "best_pedagogue" else title,
                        dt.date.fromisoformat(f"{year}-{day}"),
                        conferred_by,
                        mrp * MRP_TENGE if mrp else None,
                    )
                )
    frame.tables["award"] = pd.DataFrame(
        rows,
        columns=["teacher_code", "kind", "title", "awarded_on", "conferred_by", "payment_tenge"],
    ).astype({"payment_tenge": "Int64"})


def _vacancies(rng: np.random.Generator, frame: RegionFrame) -> None:
    """A filled vacancy for every teacher hired since June 2024, and open posts at about 1.5%
    of posts in villages and 0.8% in towns (assumed), mostly in sciences and languages."""
    teachers = frame.teachers
    hired = pd.to_datetime(teachers["hired_on"]).to_numpy().astype("datetime64[D]")
    recent = (hired >= np.datetime64("2024-06-01")) & (teachers["position"] == "teacher").to_numpy()
    filled = teachers[recent]
    opened = hired[recent] - _days(rng.integers(20, 90, len(filled)))
    rows = pd.DataFrame(
        {
            "organization_code": filled["organization_code"].to_numpy(),
            "subject_code": filled["main_subject"].to_numpy(),
            "position": "teacher",
            "weekly_hours": rng.choice([16.0, 18.0, 24.0], len(filled)),
            "opened_on": _dates(opened),
            "filled_on": _dates(hired[recent]),
            "teacher_code": filled["code"].to_numpy(),
        }
    )
    schools = frame.schools
    posts = teachers.groupby("organization_code").size().reindex(schools["code"]).fillna(0)
    rate = np.where(schools["urban"], 0.008, 0.015)
    open_count = rng.poisson(posts.to_numpy() * rate)
    school_of = np.repeat(schools["code"].to_numpy(), open_count)
    subjects = np.array(["MATH", "PHYS", "CHEM", "ENG", "INF", "BIO", "KAZ", "RUS", "PRIM"])
    open_rows = pd.DataFrame(
        {
            "organization_code": school_of,
            "subject_code": subjects[rng.integers(0, len(subjects), len(school_of))],
            "position": "teacher",
            "weekly_hours": rng.choice([16.0, 18.0, 24.0], len(school_of)),
            "opened_on": _dates(
                np.datetime64(str(REFERENCE_DATE)) - _days(rng.integers(5, 200, len(school_of)))
            ),
            "filled_on": None,
            "teacher_code": None,
        }
    )
    table = pd.concat([rows, open_rows], ignore_index=True)
    table.insert(0, "code", [f"V-{frame.digits}-{k + 1:06d}" for k in range(len(table))])
    frame.tables["vacancy"] = table


def _young_specialists(rng: np.random.Generator, frame: RegionFrame) -> None:
    """Support for everyone who started in the last three years: in villages the «С дипломом –
    в село!» programme (100 MRP lifting allowance; a housing loan up to 1,500 MRP for about 40%),
    in towns school-level support; a mentor of expert category or higher at the same school
    for about 85%."""
    teachers = frame.teachers
    start = pd.to_datetime(teachers["young_specialist_since"]).to_numpy().astype("datetime64[D]")
    young = np.flatnonzero(~np.isnat(start))
    seniors = teachers[teachers["category"].isin(CATEGORIES[2:]) & teachers["left_on"].isna()]
    mentors_by_school = seniors.groupby("organization_code")["code"].agg(list)
    rows = []
    for k in young:
        school = teachers["organization_code"].iat[k]
        rural = not teachers["urban"].iat[k]
        options = [c for c in mentors_by_school.get(school, []) if c != teachers["code"].iat[k]]
        mentor = options[rng.integers(len(options))] if options and rng.random() < 0.85 else None
        loan = rural and rng.random() < 0.4
        starts = start[k].astype(object)
        rows.append(
            (
                teachers["code"].iat[k],
                mentor,
                "diploma_to_village" if rural else "school",
                starts,
                _add_years(starts, 3),
                100 * MRP_TENGE if rural else None,
                int(rng.integers(800, 1501)) * MRP_TENGE if loan else None,
            )
        )
    frame.tables["young_specialist_support"] = pd.DataFrame(
        rows,
        columns=[
            "teacher_code",
            "mentor_code",
            "programme",
            "starts_on",
            "ends_on",
            "lifting_allowance_tenge",
            "housing_loan_tenge",
        ],
    ).astype({"lifting_allowance_tenge": "Int64", "housing_loan_tenge": "Int64"})
