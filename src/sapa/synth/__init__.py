"""The synthetic nation: a seeded, realistic national dataset of every entity at any scale.

No real national data can be shipped, so Sapa builds a faithful synthetic Kazakhstan to demo,
test and benchmark on: 20 regions of districts, settlements and schools; pupils and pedagogues;
qualification categories and their history, attestations, training, awards, vacancies and young
specialists; the leadership programme; buildings, classrooms and construction projects; meals,
incidents, parents' surveys and appeals; and grade 4 and 9 achievement monitoring plus the
teachers' qualification test simulated from a known truth (written beside the data so that
recovery can be checked). It is calibrated to the national facts of 2024/25 (see
``docs/synthetic-nation.md``).

>>> from sapa.synth import SCALES
>>> sorted(SCALES)
['national', 'region', 'tiny']
"""

from sapa.synth._frame import SCALES, Scale, plan_nation
from sapa.synth._nation import FORMATS, NationSummary, RegionProgress, generate_nation, import_paths
from sapa.synth._output import MANIFEST
from sapa.synth._targets import REFERENCE_DATE

__all__ = [
    "FORMATS",
    "MANIFEST",
    "REFERENCE_DATE",
    "SCALES",
    "NationSummary",
    "RegionProgress",
    "Scale",
    "generate_nation",
    "import_paths",
    "plan_nation",
]
