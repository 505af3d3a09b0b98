"""The public API is pinned: adding or removing a public name is a deliberate, reviewed change."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "sapa": {
        "AccessDeniedError",
        "BackendUnavailableError",
        "ConvergenceWarning",
        "DataValidationError",
        "ModelSpecError",
        "NotFittedError",
        "SapaError",
        "__version__",
    },
    "sapa.irt": {
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
    },
    "sapa.irt.backends": {
        "BACKEND_NAMES",
        "Backend",
        "BoundResponses",
        "DaskBackend",
        "NumpyBackend",
        "ResponseDataset",
        "TorchBackend",
        "resolve_backend",
    },
    "sapa.ingest": {
        "CHUNK_SIZE",
        "FORMATS",
        "MAX_PROBLEMS",
        "EntityCounts",
        "EntitySchema",
        "FieldSpec",
        "ImportReport",
        "ProgressCallback",
        "Range",
        "RawTable",
        "collect_files",
        "entity_schema",
        "entity_schemas",
        "export_all",
        "export_entity",
        "file_layout_select",
        "import_files",
        "import_tables",
        "initialise",
        "read_entity",
        "read_table",
        "region_counts",
        "region_path",
        "row_counts",
    },
    "sapa.store": {
        "current_revision",
        "head_revision",
        "make_engine",
        "refresh_statistics",
        "session_scope",
        "upgrade",
    },
    "sapa.indicators": {
        "ALL",
        "COLUMNS",
        "LEVELS",
        "MIN_CELL",
        "NATION",
        "CompositeResult",
        "DiDResult",
        "Framework",
        "GrowthPercentiles",
        "PVEstimate",
        "RandomInterceptModel",
        "SamplingDesign",
        "Units",
        "ValueAddedResult",
        "combine_pv",
        "compare_with_similar",
        "composite_index",
        "conditions_indicators",
        "contextual_value_added",
        "difference_in_differences",
        "enrolment_forecast",
        "growth_indicators",
        "indicator_table",
        "leadership_indicators",
        "level_shares",
        "mean_gap",
        "outcome_indicators",
        "parent_satisfaction_scores",
        "similar_schools",
        "student_growth_percentiles",
        "suppress",
        "support_flags",
        "weighted_mean",
        "welfare_indicators",
        "workforce_indicators",
    },
    "sapa.reports": {"unit_report_pdf", "unit_report_xlsx"},
    "sapa.web": {"DataAccess", "NotFound", "Principal", "add_user", "create_app"},
    "sapa.pipeline": {
        "ENTITIES",
        "DomainResult",
        "RunSettings",
        "RunSummary",
        "StageTiming",
        "run_assessment",
    },
    "sapa.synth": {
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
    },
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_exported_names_are_pinned_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_sapa_errors_share_one_root() -> None:
    errors = importlib.import_module("sapa.errors")
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, errors.SapaError), name
