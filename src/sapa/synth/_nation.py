"""Building a whole synthetic nation, region by region, into an output folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from sapa.synth._assessment import AssessmentSimulation
from sapa.synth._casework import add_casework
from sapa.synth._frame import SCALES, RegionFrame, plan_nation
from sapa.synth._geography import add_geography
from sapa.synth._leadership import add_leadership, leadership_national_tables
from sapa.synth._output import OutputFolder, staged_folder, write_table
from sapa.synth._people import add_pupils, add_staff
from sapa.synth._projects import add_projects
from sapa.synth._schools import add_organizations, plan_schools
from sapa.synth._targets import REFERENCE_DATE
from sapa.synth._welfare import add_welfare, welfare_national_tables
from sapa.synth._workforce import add_workforce, workforce_national_tables

__all__ = ["FORMATS", "NationSummary", "RegionProgress", "generate_nation", "import_paths"]

FORMATS = ("parquet", "csv")
"""File formats ``generate_nation`` can write."""

RegionProgress = Callable[[str, int, int], None]
"""``progress(region_code, regions_done, regions_total)``, called after each region."""


@dataclass(frozen=True)
class NationSummary:
    """What was written: the folder, the scale and seed, and rows per entity."""

    out: Path
    scale: str
    seed: int
    rows: dict[str, int]

    @property
    def schools(self) -> int:
        """Schools in the nation."""
        return self.rows.get("organization", 0)


def import_paths(out: Path) -> list[Path]:
    """The folders to hand to :func:`sapa.ingest.import_files` to load a written nation."""
    return [out / "nation", *sorted((out / "regions").iterdir())]


def _truth_of_schools(frame: RegionFrame) -> pd.DataFrame:
    columns = ["code", "urban", "small_class", "language", "three_shift", "emergency"]
    return frame.schools[[*columns, "senior_teacher_share", "quality"]].assign(
        region_code=frame.code, region_shift=frame.plan.target.quality_shift
    )


def generate_nation(
    out: str | Path,
    *,
    scale: str = "region",
    seed: int = 2025,
    file_format: str = "parquet",
    progress: RegionProgress | None = None,
) -> NationSummary:
    """Build the synthetic nation and write it to ``out`` (replacing an earlier one).

    Parameters
    ----------
    out : path
        Destination folder: new, empty, or an earlier synthetic nation (it is replaced only
        when the new one is complete).
    scale : {"tiny", "region", "national"}
        See :data:`sapa.synth.SCALES`.
    seed : int
        The same seed gives byte-identical files.
    file_format : {"parquet", "csv"}
        Format of the entity files (responses are always Parquet).
    progress : callable, optional
        Called after each region.

    Returns
    -------
    NationSummary
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FORMATS)}; got {file_format!r}")
    plans = plan_nation(SCALES[scale])
    rows: dict[str, int] = {}
    with staged_folder(Path(out)) as root, AssessmentSimulation(seed, root) as assessment:
        folder = OutputFolder(root, file_format)
        national = {
            **assessment.national_tables(),
            **workforce_national_tables(),
            **welfare_national_tables(),
            **leadership_national_tables(),
        }
        schools_truth = []
        for done, plan in enumerate(plans, start=1):
            frame = RegionFrame(plan, seed)
            plan_schools(frame)
            add_geography(frame)
            add_organizations(frame)
            add_pupils(frame)
            add_staff(frame)
            add_workforce(frame, assessment)
            assessment.add_region(frame)
            add_welfare(frame)
            add_leadership(frame)
            add_projects(frame)
            add_casework(frame)
            folder.write(f"regions/{frame.code}", frame.tables)
            for entity, table in frame.tables.items():
                rows[entity] = rows.get(entity, 0) + len(table)
            schools_truth.append(_truth_of_schools(frame))
            if progress is not None:
                progress(frame.code, done, len(plans))
        national.update(assessment.finish())
        folder.write("nation", national)
        for entity, table in national.items():
            rows[entity] = rows.get(entity, 0) + len(table)
        write_table(pd.concat(schools_truth, ignore_index=True), root / "truth" / "schools.csv")
        folder.register_folder("responses")
        folder.register_folder("truth")
        folder.write_manifest(
            {
                "generator": f"sapa {version('sapa')}",
                "scale": scale,
                "seed": seed,
                "format": file_format,
                "reference_date": REFERENCE_DATE.isoformat(),
                "school_year": f"{REFERENCE_DATE.year - 1}/{REFERENCE_DATE.year % 100:02d}",
                "rows": dict(sorted(rows.items())),
            }
        )
    return NationSummary(out=Path(out), scale=scale, seed=seed, rows=dict(sorted(rows.items())))
