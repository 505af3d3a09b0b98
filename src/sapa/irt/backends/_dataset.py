"""Response matrices stored as Parquet, read in partitions.

A :class:`ResponseDataset` names one Parquet file or a folder of them in Sapa's response-file
layout (``sapa.store.columnar``): one ``int8`` column per item holding categories ``0..K−1``
and ``−1`` for not presented or not answered, plus a ``person_code`` column that calibration
does not read. A folder may hold one file per booklet: the items are the union of the files'
item columns, and a file's missing items read as ``−1`` (a booklet design). A partition is a run
of consecutive row groups of one file, at most ``partition_rows`` rows, so that a worker reads
it alone from the file's footer offsets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sapa.errors import DataValidationError, Problem

__all__ = ["PERSON_COLUMN", "Partition", "PartitionData", "ResponseDataset", "load_partition"]

PERSON_COLUMN = "person_code"
"""The person column of Sapa's response files; never read by calibration."""


@dataclass(frozen=True)
class Partition:
    """Consecutive row groups of one file; ``first_row`` is the file row of their first row."""

    path: str
    row_groups: tuple[int, ...]
    first_row: int
    n_rows: int


@dataclass(frozen=True)
class PartitionData:
    """One partition read and checked: persons with no response (or zero weight) dropped.

    ``groups`` holds the group labels as read (strings) until the labels of the whole dataset
    are known, then their codes.
    """

    responses: np.ndarray
    weights: np.ndarray | None
    groups: np.ndarray | None
    problems: tuple[Problem, ...] = field(default=())


@dataclass(frozen=True)
class ResponseDataset:
    """A persons × items response matrix stored as Parquet, for ``IRTModel.fit``.

    With the ``dask`` backend the workers read the partitions and keep them in memory across EM
    cycles, so the calling process never holds the matrix; other backends read it whole into
    memory first (:meth:`read`).

    Parameters
    ----------
    path : path-like
        One ``.parquet`` file or a folder of them (every ``*.parquet`` file directly in it, in
        name order). With a Dask cluster every worker must be able to read this path (a shared
        file system).
    items : sequence of str, optional
        Item columns to calibrate, in this order; default: every ``int8`` column in order of
        first appearance across the files.
    weight_column : str, optional
        Column of non-negative frequency or sampling weights.
    group_column : str, optional
        Column of group labels (multiple-group calibration); read as strings.
    partition_rows : int, default 262144
        Most rows in one partition (whole row groups are never split).

    Examples
    --------
    >>> dataset = ResponseDataset("responses/", group_column="language")  # doctest: +SKIP
    >>> IRTModel(backend=DaskBackend("tcp://scheduler:8786")).fit(dataset)  # doctest: +SKIP
    """

    path: str | os.PathLike[str]
    items: Sequence[str] | None = None
    weight_column: str | None = None
    group_column: str | None = None
    partition_rows: int = 1 << 18

    def files(self) -> list[Path]:
        """The Parquet files of the dataset, in name order.

        Raises
        ------
        DataValidationError
            The path does not exist or holds no Parquet file.
        """
        root = Path(self.path)
        if root.is_dir():
            found = sorted(root.glob("*.parquet"))
        elif root.is_file():
            found = [root]
        else:
            raise DataValidationError(Problem(str(root), None, None, "file or folder not found"))
        if not found:
            raise DataValidationError(Problem(str(root), None, None, "no .parquet file in it"))
        return found

    def plan(self) -> tuple[tuple[str, ...], list[Partition]]:
        """Item names and partitions, from the files' footers only (no data is read)."""
        if self.partition_rows < 1:
            raise DataValidationError(
                f"partition_rows must be a positive number of rows; got {self.partition_rows}."
            )
        special = {PERSON_COLUMN, self.weight_column, self.group_column} - {None}
        items: dict[str, None] = {}
        columns: set[str] = set()
        partitions: list[Partition] = []
        problems: list[Problem] = []
        for path in self.files():
            try:
                metadata = pq.ParquetFile(path).metadata
            except (OSError, pa.ArrowException) as exc:
                raise DataValidationError(
                    Problem(str(path), None, None, f"unreadable Parquet: {exc}")
                ) from exc
            schema = metadata.schema.to_arrow_schema()
            columns.update(schema.names)
            for column in (self.weight_column, self.group_column):
                if column is not None and column not in schema.names:
                    problems.append(Problem(str(path), None, column, "column not found"))
            for name in schema.names:
                if name in special or name in items:
                    continue
                if self.items is None and schema.field(name).type == pa.int8():
                    items[name] = None
            partitions.extend(_partitions_of(str(path), metadata, self.partition_rows))
        names = tuple(self.items) if self.items is not None else tuple(items)
        problems.extend(
            Problem(str(self.path), None, name, "item column not found in any file")
            for name in names
            if name not in columns
        )
        if not names:
            problems.append(
                Problem(
                    str(self.path),
                    None,
                    None,
                    "no int8 item column (Sapa's response files hold one int8 column per item)",
                )
            )
        if problems:
            raise DataValidationError(problems)
        return names, partitions

    def read(self) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
        """The whole matrix in memory: responses (int8, items as columns), weights and group
        labels (None when the dataset has no such column).

        Raises
        ------
        DataValidationError
            A file is unreadable, a column is missing or of the wrong type, a response is below
            −1, a weight is negative or not finite, or a group label is missing.
        """
        names, partitions = self.plan()
        parts = [
            load_partition(p, names, self.weight_column, self.group_column, drop_empty=False)
            for p in partitions
        ]
        problems = [problem for part in parts for problem in part.problems]
        if problems:
            raise DataValidationError(problems)
        responses = pd.DataFrame(np.concatenate([part.responses for part in parts]), columns=names)
        weights = None
        if self.weight_column is not None:
            weights = np.concatenate([part.weights for part in parts if part.weights is not None])
        groups = None
        if self.group_column is not None:
            groups = np.concatenate([part.groups for part in parts if part.groups is not None])
        return responses, weights, groups


def _partitions_of(path: str, metadata: pq.FileMetaData, partition_rows: int) -> list[Partition]:
    partitions = []
    groups: list[int] = []
    first = rows = 0
    for index in range(metadata.num_row_groups):
        n = metadata.row_group(index).num_rows
        if groups and rows + n > partition_rows:
            partitions.append(Partition(path, tuple(groups), first, rows))
            first, groups, rows = first + rows, [], 0
        groups.append(index)
        rows += n
    if groups:
        partitions.append(Partition(path, tuple(groups), first, rows))
    return partitions


def load_partition(
    partition: Partition,
    items: Sequence[str],
    weight_column: str | None,
    group_column: str | None,
    *,
    drop_empty: bool = True,
) -> PartitionData:
    """Read one partition: item columns into an int8 matrix (absent items ``−1``), weights and
    group labels; problems are returned, not raised, so that a worker reports them as data.

    With ``drop_empty`` persons without any response, or with zero weight, are left out (they
    carry no information), as ``IRTModel.fit`` does with an in-memory matrix.
    """
    source = pq.ParquetFile(partition.path)
    names = set(source.schema_arrow.names)
    present = [name for name in items if name in names]
    wanted = present + [c for c in (weight_column, group_column) if c is not None]
    table = source.read_row_groups(list(partition.row_groups), columns=wanted)
    responses = np.full((table.num_rows, len(items)), -1, dtype=np.int8)
    problems: list[Problem] = []
    position = {name: j for j, name in enumerate(items)}
    for name in present:
        column = table.column(name)
        if column.type != pa.int8():
            problems.append(Problem(partition.path, None, name, f"type {column.type}, not int8"))
            continue
        values = column.to_numpy(zero_copy_only=False)
        if column.null_count:
            values = np.where(column.is_null().to_numpy(zero_copy_only=False), -1, values)
        responses[:, position[name]] = values
        below = np.flatnonzero(values < -1)
        if below.size:
            problems.append(
                Problem(
                    partition.path,
                    partition.first_row + int(below[0]) + 2,
                    name,
                    f"response {values[below[0]]} is below −1 ({below.size} such values here)",
                )
            )
    weights = None
    if weight_column is not None:
        weights = table.column(weight_column).to_numpy(zero_copy_only=False).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if bad.size:
            problems.append(
                Problem(
                    partition.path,
                    partition.first_row + int(bad[0]) + 2,
                    weight_column,
                    f"weights must be finite and non-negative; got {weights[bad[0]]!r}",
                )
            )
    groups = None
    if group_column is not None:
        labels = table.column(group_column)
        if labels.null_count:
            row = int(np.flatnonzero(labels.is_null().to_numpy(zero_copy_only=False))[0])
            problems.append(
                Problem(
                    partition.path,
                    partition.first_row + row + 2,
                    group_column,
                    "group label is missing",
                )
            )
        groups = np.asarray(labels.cast(pa.string()).to_pylist(), dtype=object)
    if drop_empty and not problems:
        keep = (responses >= 0).any(axis=1)
        if weights is not None:
            keep &= weights > 0
        if not keep.all():
            responses = np.ascontiguousarray(responses[keep])
            weights = None if weights is None else weights[keep]
            groups = None if groups is None else groups[keep]
    return PartitionData(responses, weights, groups, tuple(problems))
