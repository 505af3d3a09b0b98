"""Reading a run's inputs from the store with their digest, and writing its results back.

The digest covers every entity table the run reads (hashed row by row with pandas' stable
object hash, in natural-key order) and the SHA-256 of every response file, plus the run's
settings: the same data and settings give the same run code, so a re-run replaces the earlier
run's rows with identical ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib.metadata import version

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from sapa.domain.quality import AssessmentRun, IndicatorValue, ItemResult, SupportFlag
from sapa.errors import StoreError
from sapa.indicators._table import COLUMNS
from sapa.ingest import read_entity
from sapa.store import refresh_statistics

__all__ = ["InputTables", "digest_of", "load_tables", "results_digest", "save_run", "versions"]

InputTables = Mapping[str, pd.DataFrame]
"""Entity name → its rows in file layout (see :func:`sapa.ingest.read_entity`)."""


def load_tables(engine: Engine, entities: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The named entities' rows in file layout."""
    return {entity: read_entity(engine, entity) for entity in entities}


def _frame_digest(frame: pd.DataFrame) -> bytes:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(frame.columns).encode()).digest()


def digest_of(tables: InputTables, settings: Mapping[str, object]) -> str:
    """SHA-256 over the input tables (they include ``response_file``, whose rows carry every
    response file's own SHA-256) and the settings."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(name.encode() + _frame_digest(tables[name]))
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def results_digest(values: pd.DataFrame, flags: pd.DataFrame, items: pd.DataFrame) -> str:
    """SHA-256 of the results, rounded to 10 significant digits so that the digest does not
    depend on the last bit of floating-point summation order."""
    rounded = values.copy()
    for column in ("value", "se", "ci_low", "ci_high"):
        rounded[column] = rounded[column].map(lambda v: "" if pd.isna(v) else f"{v:.10g}")
    digest = hashlib.sha256(_frame_digest(rounded))
    digest.update(_frame_digest(flags))
    digest.update(_frame_digest(items))
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Sapa and the libraries its numbers depend on."""
    return {name: version(name) for name in ("sapa", "numpy", "scipy", "pandas", "statsmodels")}


def _none_for_nan(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def save_run(
    engine: Engine,
    *,
    code: str,
    year: int,
    inputs_sha256: str,
    settings: Mapping[str, object],
    values: pd.DataFrame,
    flags: pd.DataFrame,
    items: pd.DataFrame,
    started_at: dt.datetime,
) -> str:
    """Write the run with its indicator values, flags and item results in one transaction,
    replacing an earlier run of the same code. Returns the results' digest."""
    digest = results_digest(values, flags, items)
    run = {
        "code": code,
        "year": year,
        "inputs_sha256": inputs_sha256,
        "settings": json.dumps(settings, sort_keys=True, default=str),
        "versions": json.dumps(versions(), sort_keys=True),
        "results_sha256": digest,
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    rows = values[list(COLUMNS)].to_dict("records")
    try:
        with engine.begin() as connection:
            previous = connection.scalar(select(AssessmentRun.id).where(AssessmentRun.code == code))
            if previous is not None:
                for table in (IndicatorValue, SupportFlag, ItemResult):
                    connection.execute(delete(table).where(table.assessment_run_id == previous))
                connection.execute(delete(AssessmentRun).where(AssessmentRun.id == previous))
            run_id = connection.execute(insert(AssessmentRun).values(**run)).inserted_primary_key[0]
            for start in range(0, len(rows), 20_000):
                connection.execute(
                    insert(IndicatorValue),
                    [
                        {
                            **row,
                            "assessment_run_id": run_id,
                            "value": _none_for_nan(row["value"]),
                            "se": _none_for_nan(row["se"]),
                            "ci_low": _none_for_nan(row["ci_low"]),
                            "ci_high": _none_for_nan(row["ci_high"]),
                            "n": int(row["n"]),
                            "suppressed": bool(row["suppressed"]),
                        }
                        for row in rows[start : start + 20_000]
                    ],
                )
            if len(flags):
                connection.execute(
                    insert(SupportFlag),
                    [{**row, "assessment_run_id": run_id} for row in flags.to_dict("records")],
                )
            if len(items):
                connection.execute(
                    insert(ItemResult),
                    [
                        {
                            **{k: (None if pd.isna(v) else v) for k, v in row.items()},
                            "assessment_run_id": run_id,
                        }
                        for row in items.to_dict("records")
                    ],
                )
    except SQLAlchemyError as exc:
        raise StoreError(f"The run {code} could not be saved at {engine.url!r}: {exc}") from exc
    refresh_statistics(engine)
    return digest
