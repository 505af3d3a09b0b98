"""Item response theory for national assessments: pure numerics, no database.

Responses are ``(n_persons, n_items)`` integer arrays with categories ``0 … K−1`` and ``−1`` for a
response not presented or not given. Item parameters are held in slope–intercept form
(``logit P = a·θ + d``, D = 1) in an :class:`ItemBank`; reports also give the IRT form.

* calibration — :class:`IRTModel` (Rasch, 2PL, 3PL, GRM, GPCM; multiple groups; booklet designs;
  weights; priors and anchors through the parameter table), :class:`CalibrationResult`;
* scoring — :func:`score` (EAP, MAP, ML, WLE), :func:`sum_score_table`,
  :class:`PlausibleValues` (latent regression);
* item analysis — :func:`item_statistics`, :func:`cronbach_alpha`, :func:`distractor_analysis`,
  :func:`item_fit`, :func:`q3`, :func:`test_information`, reliabilities;
* DIF — :func:`mantel_haenszel`, :func:`logistic_dif`, :func:`dif_by`;
* linking and scales — :func:`link`, :func:`transform_bank`, :func:`fixed_item_table`,
  :class:`ReportingScale`, :class:`ProficiencyLevels`;
* simulation — :func:`simulate_responses`.
"""

from sapa.irt.ctt import (
    AlphaResult,
    cronbach_alpha,
    distractor_analysis,
    item_statistics,
    score_key,
)
from sapa.irt.dif import DIFResult, dif_by, logistic_dif, mantel_haenszel
from sapa.irt.estimate import CalibrationResult, IRTModel
from sapa.irt.fit import empirical_reliability, item_fit, marginal_reliability, q3, test_information
from sapa.irt.linking import (
    LinkingResult,
    compare_linking_methods,
    fixed_item_table,
    link,
    transform_bank,
)
from sapa.irt.models import ItemBank
from sapa.irt.plausible import PlausibleValues
from sapa.irt.scales import ProficiencyLevels, ReportingScale
from sapa.irt.score import ScoreResult, score, sum_score_table
from sapa.irt.simulate import simulate_responses

__all__ = [
    "AlphaResult",
    "CalibrationResult",
    "DIFResult",
    "IRTModel",
    "ItemBank",
    "LinkingResult",
    "PlausibleValues",
    "ProficiencyLevels",
    "ReportingScale",
    "ScoreResult",
    "compare_linking_methods",
    "cronbach_alpha",
    "dif_by",
    "distractor_analysis",
    "empirical_reliability",
    "fixed_item_table",
    "item_fit",
    "item_statistics",
    "link",
    "logistic_dif",
    "mantel_haenszel",
    "marginal_reliability",
    "q3",
    "score",
    "score_key",
    "simulate_responses",
    "sum_score_table",
    "test_information",
    "transform_bank",
]
