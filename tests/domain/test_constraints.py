"""The database itself refuses impossible records (checks, uniqueness, references, vocabularies).

Each case changes one row of the loaded sample dataset with plain SQL, bypassing the ORM, and
expects the database to refuse it; the same statements run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

VIOLATIONS = {
    "shifts above 3": "UPDATE organization SET shifts = 4 WHERE code = 'SCH-71-001'",
    "negative enrolment": "UPDATE organization SET enrolment = -1 WHERE code = 'SCH-71-001'",
    "closed before opened": (
        "UPDATE organization SET closed_on = '1990-01-01' WHERE code = 'SCH-71-001'"
    ),
    "school type on a preschool": (
        "UPDATE organization SET school_type = 'lyceum' WHERE code = 'PRE-11-001'"
    ),
    "unknown vocabulary value": (
        "UPDATE organization SET ownership = 'municipal' WHERE code = 'SCH-71-001'"
    ),
    "grade 13": "UPDATE student SET grade = 13 WHERE code = 'S-000001'",
    "left before hired": "UPDATE teacher SET left_on = '2000-01-01' WHERE code = 'T-000001'",
    "score above 100 %": "UPDATE qualification_test_result SET score_percent = 100.5",
    "attestation every 4 years": "UPDATE attestation SET period_years = 4",
    "mentor is the mentee": "UPDATE young_specialist_support SET mentor_id = teacher_id",
    "more fed than eligible": "UPDATE meal_provision SET covered_count = eligible_count + 1",
    "Likert answer 6": "UPDATE survey_answer SET answer = 6",
    "more present than members": (
        "UPDATE trustee_council_meeting SET members_present = members_total + 1"
    ),
    "answered before received": "UPDATE feedback SET answered_on = '2000-01-01'",
    "choice item without key": (
        "UPDATE item SET answer_key = NULL WHERE item_type = 'multiple_choice'"
    ),
    "short hash": "UPDATE response_file SET sha256 = 'abc'",
    "grade on a teachers' test": "UPDATE assessment_programme SET grade = 9 WHERE code = 'OZP'",
    "duplicate natural key": "UPDATE teacher SET code = 'T-000002' WHERE code = 'T-000001'",
    "duplicate composite key": (
        "UPDATE category_assignment SET valid_from = '2019-06-01' WHERE valid_from = '2016-06-01'"
    ),
    "duplicate IIN": (
        "UPDATE student SET iin = (SELECT iin FROM student WHERE code = 'S-000001') "
        "WHERE code = 'S-000002'"
    ),
    "dangling reference": "UPDATE student SET organization_id = 999999 WHERE code = 'S-000001'",
    "missing required value": "UPDATE teacher SET sex = NULL WHERE code = 'T-000001'",
}


@pytest.mark.parametrize("statement", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_database_refuses(sample_engine: Engine, statement: str) -> None:
    with pytest.raises(IntegrityError), sample_engine.begin() as connection:
        connection.execute(text(statement))


def test_valid_changes_are_accepted(sample_engine: Engine) -> None:
    """The same kind of statements within the rules succeed (the refusals above are specific)."""
    with sample_engine.begin() as connection:
        connection.execute(text("UPDATE organization SET shifts = 3 WHERE code = 'SCH-71-001'"))
        connection.execute(text("UPDATE survey_answer SET answer = 5"))
        connection.execute(text("UPDATE meal_provision SET covered_count = eligible_count"))
        connection.execute(
            text("UPDATE organization SET closed_on = '2030-06-30' WHERE code = 'SCH-71-001'")
        )
