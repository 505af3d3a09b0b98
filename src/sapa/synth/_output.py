"""Writing the synthetic nation's tables: deterministic bytes, all or nothing.

Everything is written into a temporary sibling folder that replaces the destination only when
the whole nation is complete, so an interrupted run leaves the previous output (or nothing).
Tables are written in the formats :func:`sapa.ingest.import_files` reads: CSV with ``true`` /
``false``, ISO dates and empty cells for missing values, or Parquet (zstd).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sapa.errors import StoreError

__all__ = ["MANIFEST", "OutputFolder", "staged_folder", "write_table"]

MANIFEST = "manifest.json"
"""Name of the file that describes an output folder (and marks it as Sapa's)."""


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write one entity's rows to ``path`` (``.csv`` or ``.parquet``), byte for byte the same
    for the same rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        arrow = pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None)
        pq.write_table(arrow, path, compression="zstd")
        return
    text = table.copy()
    for column in text.columns:
        if text[column].dtype == bool:
            text[column] = text[column].map({True: "true", False: "false"})
    text.to_csv(path, index=False, lineterminator="\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class OutputFolder:
    """The folder a nation is being written into, with the manifest of what it holds."""

    def __init__(self, root: Path, file_format: str) -> None:
        self.root = root
        self.file_format = file_format
        self.files: dict[str, dict[str, int | str]] = {}

    def write(self, folder: str, tables: dict[str, pd.DataFrame]) -> None:
        """Write each entity's table as ``<folder>/<entity>.<format>``, in name order."""
        for entity in sorted(tables):
            relative = f"{folder}/{entity}.{self.file_format}"
            write_table(tables[entity], self.root / relative)
            self.files[relative] = {"rows": len(tables[entity])}

    def register_folder(self, folder: str) -> None:
        """Record the files written into ``folder`` by other stages (responses, truth)."""
        for path in sorted((self.root / folder).glob("*")):
            if path.suffix == ".parquet":
                rows = pq.ParquetFile(path).metadata.num_rows
            else:
                with path.open("rb") as stream:
                    rows = sum(1 for _ in stream) - 1
            self.files[f"{folder}/{path.name}"] = {"rows": rows}

    def write_manifest(self, description: dict[str, object]) -> None:
        """Write ``manifest.json``: the description plus every file's rows and SHA-256."""
        for relative, entry in self.files.items():
            entry["sha256"] = _sha256(self.root / relative)
        manifest = {**description, "files": dict(sorted(self.files.items()))}
        (self.root / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


@contextlib.contextmanager
def staged_folder(destination: Path) -> Iterator[Path]:
    """A temporary folder next to ``destination`` that replaces it on success.

    Refuses a destination that exists, is not empty and holds no manifest (it is not an earlier
    output), so nothing else is ever overwritten. On error the temporary folder is removed.
    """
    destination = destination.resolve()
    if destination.exists() and (
        not destination.is_dir()
        or (any(destination.iterdir()) and not (destination / MANIFEST).is_file())
    ):
        raise StoreError(
            f"{destination} exists and is not an earlier synthetic nation (no {MANIFEST}); "
            "choose an empty or new folder."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=destination.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = None
    if destination.exists():
        previous = destination.with_name(f".{destination.name}.old-{staging.name[-8:]}")
        destination.rename(previous)
    staging.rename(destination)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
