"""The national quality assessment run: stored data → IRT → indicators → stored results.

:func:`run_assessment` executes one year's assessment on the database and the response files it
references, records the run (inputs' digest, settings, versions) and writes every indicator
value and support flag; ``sapa assess --year Y`` is its command line.
"""

from sapa.pipeline._monitoring import DomainResult
from sapa.pipeline._run import ENTITIES, RunSettings, RunSummary, StageTiming, run_assessment

__all__ = ["ENTITIES", "DomainResult", "RunSettings", "RunSummary", "StageTiming", "run_assessment"]
