"""The real stages of a region up to the workforce, for tests of those stages."""

from __future__ import annotations

import pandas as pd

from sapa.synth._frame import RegionFrame, RegionPlan
from sapa.synth._geography import add_geography
from sapa.synth._people import add_pupils, add_staff
from sapa.synth._schools import add_organizations, plan_schools
from sapa.synth._workforce import add_workforce


class PassingTest:
    """A stand-in for the assessment simulation: every sitter scores 75%."""

    def sit_qualification_test(self, frame: RegionFrame, sitters: pd.DataFrame) -> pd.DataFrame:
        return sitters[["teacher_code", "tested_on", "target_category"]].assign(
            score_percent=75.0, threshold_percent=60.0, passed=True
        )


def build_schools(plan: RegionPlan, seed: int = 5) -> RegionFrame:
    """Schools, geography and organisations of one region."""
    frame = RegionFrame(plan, seed)
    plan_schools(frame)
    add_geography(frame)
    add_organizations(frame)
    return frame


def build_people(plan: RegionPlan, seed: int = 5) -> RegionFrame:
    """Everything up to and including the workforce stage."""
    frame = build_schools(plan, seed)
    add_pupils(frame)
    add_staff(frame)
    add_workforce(frame, PassingTest())
    return frame
