"""Pupils and pedagogues of a synthetic region, with their restricted identities.

Pupils: each school's enrolment is split over its grades (1–4, 1–9 or 1–11 by school type) in
the national grade proportions, into classes of at most 25 (up to 34 where the school is over
capacity), in the school's language (both streams in a mixed school). About 8% of pupils come
from low-income families (more in villages), 10% from socially vulnerable ones and 3% have
recognised special needs (assumed rates).

Pedagogues: the region's total is split over schools by need (≈ 10.8 pupils per pedagogue in
ordinary schools, ≈ 20 pedagogues per small-class school: 14% of pedagogues work in them).
Every school has a head; larger ones deputy heads, a psychologist, a social pedagogue and a
librarian. Ages follow TALIS 2024 (mean 41, 18% under 30, 25% aged 50 or over), 78% are women
(71% in villages, 83% in cities). Young specialists (under three years' experience) who left in
the last three years stay on file with ``left_on`` so that retention can be measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sapa.synth._frame import TEACHING_SUBJECT_SHARES, RegionFrame, allocate
from sapa.synth._identity import iin_numbers, person_names
from sapa.synth._targets import CLASS_SIZE_LIMIT, GRADE_WEIGHTS, REFERENCE_DATE

__all__ = ["add_pupils", "add_staff"]

_LETTERS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"
_OVERCROWDED_CLASS = 34
_LAST_GRADE = {"primary": 4, "basic": 9}
_IIN_SPAN = 500
_YEAR = np.timedelta64(365, "D")


def add_pupils(frame: RegionFrame) -> None:
    """Create ``frame.students`` and the ``student`` table."""
    rng = frame.rng("pupils")
    schools = frame.schools
    weights = np.array(GRADE_WEIGHTS)
    counts = []
    for row in schools.itertuples():
        last = _LAST_GRADE.get(row.school_type, 11)
        p = weights[:last] / weights[:last].sum()
        counts.append(np.pad(rng.multinomial(row.enrolment, p), (0, 11 - last)))
    per_grade = np.array(counts)  # schools × 11
    school_index = np.repeat(np.repeat(np.arange(len(schools)), 11), per_grade.reshape(-1))
    grade = np.repeat(np.tile(np.arange(1, 12), len(schools)), per_grade.reshape(-1))
    n = len(grade)

    school_language = schools["language"].to_numpy()[school_index]
    kazakh = np.where(school_language == "mixed", rng.random(n) < 0.5, school_language == "kk")
    language = np.where(kazakh, "kk", "ru")
    urban = schools["urban"].to_numpy()[school_index]
    overcrowded = (schools["enrolment"] > schools["capacity"] * schools["shifts"]).to_numpy()

    pupils = pd.DataFrame({"school": school_index, "grade": grade, "language": language})
    pupils = pupils.sample(frac=1.0, random_state=rng).sort_values(
        ["school", "grade", "language"], kind="stable"
    )
    group = pupils.groupby(["school", "grade", "language"], sort=False)
    size = group["grade"].transform("size").to_numpy()
    limit = np.where(overcrowded[pupils["school"].to_numpy()], _OVERCROWDED_CLASS, CLASS_SIZE_LIMIT)
    n_classes = -(-size // limit)
    within = group.cumcount().to_numpy() % n_classes
    # Letters run on across the two streams of a mixed school's grade: Russian-medium classes
    # follow the Kazakh-medium ones.
    kazakh_rows = pupils["language"].to_numpy() == "kk"
    kazakh_classes = (
        pd.Series(np.where(kazakh_rows, n_classes, 0), index=pupils.index)
        .groupby([pupils["school"], pupils["grade"]])
        .transform("max")
        .to_numpy()
    )
    letter_index = within + np.where(kazakh_rows, 0, kazakh_classes)
    letters = np.array([_LETTERS[i] if i < len(_LETTERS) else f"-{i + 1}" for i in range(64)])
    class_label = pupils["grade"].astype(str).to_numpy() + letters[np.minimum(letter_index, 63)]

    school_index = pupils["school"].to_numpy()
    grade = pupils["grade"].to_numpy()
    language = pupils["language"].to_numpy()
    urban = urban[pupils.index.to_numpy()]
    male = rng.random(n) < 0.51
    older = rng.random(n) < 0.05
    cohort_start = np.datetime64("2017-09-01") - (grade - 1 + older) * _YEAR
    birth = cohort_start + rng.integers(0, 365, n).astype("timedelta64[D]")
    iin = iin_numbers(birth, male, frame.plan.target.index * _IIN_SPAN, _IIN_SPAN)
    iin[rng.random(n) < 0.04] = None
    low_income = rng.random(n) < np.where(urban, 0.05, 0.11)
    codes = np.array([f"S{frame.digits}-{k + 1:07d}" for k in range(n)])

    frame.students = pd.DataFrame(
        {
            "code": codes,
            "iin": iin,
            "sex": np.where(male, "M", "F"),
            "birth_year": pd.DatetimeIndex(birth).year.to_numpy(),
            "organization_code": schools["code"].to_numpy()[school_index],
            "grade": grade,
            "class_label": class_label,
            "instruction_language": language,
            "low_income": low_income,
            "socially_vulnerable": low_income | (rng.random(n) < 0.05),
            "special_needs": rng.random(n) < 0.03,
        }
    )
    frame.tables["student"] = frame.students
    frame.tables["person_identity"] = _identities(rng, "student", frame.students, language)


def _identities(
    rng: np.random.Generator, kind: str, people: pd.DataFrame, language: np.ndarray
) -> pd.DataFrame:
    """Names: Kazakh for nearly everyone taught or teaching in Kazakh, and for about 40% of
    those in Russian-medium classes (many Kazakh families choose Russian-medium schools)."""
    kazakh = np.where(
        language == "kk", rng.random(len(people)) < 0.97, rng.random(len(people)) < 0.4
    )
    surname, given, patronymic = person_names(rng, people["sex"].to_numpy() == "M", kazakh)
    return pd.DataFrame(
        {
            "person_kind": kind,
            "person_code": people["code"].to_numpy(),
            "surname": surname,
            "given_name": given,
            "patronymic": patronymic,
        }
    )


def _posts(enrolment: int, staff: int) -> list[str]:
    """Posts other than subject teacher in a school of this size, most important first."""
    posts = ["head"]
    posts += ["deputy_head"] * (
        0 if enrolment < 100 else 1 if enrolment < 500 else 2 if enrolment < 1200 else 3
    )
    posts += ["psychologist"] * (enrolment >= 300) + ["librarian"] * (enrolment >= 200)
    posts += ["social_pedagogue"] * (enrolment >= 500) + ["methodologist"] * (enrolment >= 1500)
    return posts[: max(1, staff // 2)]


def add_staff(frame: RegionFrame) -> None:
    """Create ``frame.teachers`` (current pedagogues and recently departed young specialists)
    and the ``teacher`` and ``teacher_subject`` tables; appends to ``person_identity``."""
    rng = frame.rng("staff")
    schools = frame.schools
    enrolment = schools["enrolment"].to_numpy()
    small = schools["small_class"].to_numpy()
    need = np.where(small, 20 * np.sqrt(enrolment / 68), enrolment / 10.8)
    staff = allocate(frame.plan.teachers, need, minimum=3)
    school_index = np.repeat(np.arange(len(schools)), staff)
    positions = np.concatenate(
        [
            np.array(_posts(int(e), int(s)) + ["teacher"] * (s - len(_posts(int(e), int(s)))))
            for e, s in zip(enrolment, staff, strict=True)
        ]
    )
    n = len(positions)
    urban = schools["urban"].to_numpy()[school_index]
    city = frame.plan.target.kind == "city"
    female = rng.random(n) < np.where(urban, 0.83 if city else 0.79, 0.71)
    leading = np.isin(positions, ["head", "deputy_head"])
    age = np.clip(np.where(leading, rng.normal(48, 7, n), rng.normal(40, 12, n)), 21, 68).round()
    gap = rng.exponential(1.5, n).round()
    experience = np.clip(age - 22 - gap, 0, None)
    experience = np.where(age < 24, rng.integers(0, 3, n), experience).astype(np.int64)

    # Departed young specialists: about 12% leave after the first year, 25% within three.
    young = experience < 3
    leaving = young & (positions == "teacher") & (rng.random(n) < 0.22)
    joined = np.datetime64(str(REFERENCE_DATE)) - (
        experience * 365 + rng.integers(0, 270, n)
    ).astype("timedelta64[D]")
    career_start = _august_of(joined)
    tenure_days = (np.datetime64(str(REFERENCE_DATE)) - career_start).astype(np.int64)
    moved = (rng.random(n) < 0.3) & ~leaving
    hired = career_start + np.where(moved, rng.random(n) * tenure_days, 0).astype("timedelta64[D]")
    left = np.where(
        leaving,
        career_start + (rng.uniform(0.4, 1.0, n) * tenure_days).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )

    birth = np.datetime64(str(REFERENCE_DATE)) - (age * 365 + rng.integers(0, 365, n)).astype(
        "timedelta64[D]"
    )
    iin = iin_numbers(birth, ~female, frame.plan.target.index * _IIN_SPAN, _IIN_SPAN)
    iin[rng.random(n) < 0.02] = None
    subjects = list(TEACHING_SUBJECT_SHARES)
    shares = np.array(list(TEACHING_SUBJECT_SHARES.values()))
    main_subject = np.array(subjects)[rng.choice(len(subjects), n, p=shares / shares.sum())]
    education = rng.choice(
        ["secondary_vocational", "bachelor", "specialist", "master", "doctorate"],
        n,
        p=[0.12, 0.68, 0.155, 0.042, 0.003],
    )
    hours = np.select(
        [positions == "head", positions == "deputy_head", positions == "teacher"],
        [
            rng.choice([6, 8], n),
            rng.choice([8, 10, 12], n),
            rng.choice([12, 16, 18, 20, 22, 24, 27], n, p=[0.05, 0.3, 0.06, 0.08, 0.06, 0.4, 0.05]),
        ],
        default=0,
    )
    school_language = schools["language"].to_numpy()[school_index]
    language = np.where(
        school_language == "mixed", np.where(rng.random(n) < 0.5, "kk", "ru"), school_language
    )
    frame.teachers = pd.DataFrame(
        {
            "code": [f"T{frame.digits}-{k + 1:06d}" for k in range(n)],
            "iin": iin,
            "sex": np.where(female, "F", "M"),
            "birth_year": pd.DatetimeIndex(birth).year.to_numpy(),
            "organization_code": schools["code"].to_numpy()[school_index],
            "position": np.where(leaving, "teacher", positions),
            "education_level": education,
            "experience_years": experience,
            "weekly_hours": np.where(leaving, 0, hours),
            "hired_on": _dates(hired),
            "left_on": _dates(left),
            "young_specialist": young & ~leaving,
            "young_specialist_since": _dates(np.where(young, career_start, np.datetime64("NaT"))),
            "main_subject": main_subject,
            "language": language,
            "urban": urban,
            "career_start": career_start,
        }
    )
    frame.tables["teacher_subject"] = _teacher_subjects(rng, frame.teachers, subjects)
    frame.tables["person_identity"] = pd.concat(
        [frame.tables["person_identity"], _identities(rng, "teacher", frame.teachers, language)],
        ignore_index=True,
    )


def _august_of(dates: np.ndarray) -> np.ndarray:
    """25 August of the school year each date falls in (teachers start before 1 September)."""
    years = dates.astype("datetime64[Y]")
    this_year = (years.astype("datetime64[M]") + 7).astype("datetime64[D]") + 24
    last_year = ((years - 1).astype("datetime64[M]") + 7).astype("datetime64[D]") + 24
    return np.where(this_year <= dates, this_year, last_year)


def _dates(values: np.ndarray) -> list[object]:
    """``datetime.date`` objects, ``None`` for NaT (how the tables carry optional dates)."""
    return list(np.asarray(values, dtype="datetime64[D]").astype(object))


def _teacher_subjects(
    rng: np.random.Generator, teachers: pd.DataFrame, subjects: list[str]
) -> pd.DataFrame:
    """Each pedagogue's main subject, and a second one for about 30% of them."""
    teaching = teachers["position"].isin(["teacher", "head", "deputy_head", "methodologist"])
    main = teachers.loc[teaching, ["code", "main_subject"]]
    second = main[rng.random(len(main)) < 0.3].copy()
    second["main_subject"] = np.array(subjects)[rng.integers(0, len(subjects), len(second))]
    second = second[
        second["main_subject"].to_numpy() != main.loc[second.index, "main_subject"].to_numpy()
    ]
    table = pd.concat([main.assign(main=True), second.assign(main=False)])
    table = table.rename(columns={"code": "teacher_code", "main_subject": "subject_code"})
    return table.sort_values(["teacher_code", "main"], ascending=[True, False], kind="stable")[
        ["teacher_code", "subject_code", "main"]
    ].reset_index(drop=True)
