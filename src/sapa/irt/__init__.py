"""Item response theory: item models, calibration, scoring, linking."""
