"""Columnar storage of assessment response matrices as Parquet files.

A response file holds one row per person and one ``int8`` column per item, plus a leading
``person_code`` column (the pseudonymous student or teacher code). Categories are ``0..K-1``;
``-1`` marks an item that was not presented (booklet design) or not answered. Item columns are
named by item code, so the file is self-describing and a booklet's items can be read alone.

Files are written atomically (a temporary file in the same folder, then :func:`os.replace`), so a
reader never sees half a file. A matrix held in memory is written by :func:`write_responses`; one
too large for memory is streamed chunk by chunk (one row group per chunk) by
:class:`ResponseWriter`. Both write the same format, and the SHA-256 and shape they return fill
the :class:`~sapa.domain.assessment.ResponseFile` record that points to the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence, Set
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from sapa._files import atomic_destination
from sapa.domain.assessment import ResponseContent, ResponseFile
from sapa.errors import DataValidationError, Problem, StoreError

__all__ = [
    "MISSING",
    "PERSON_COLUMN",
    "ResponseFileInfo",
    "ResponseMatrix",
    "ResponseWriter",
    "file_sha256",
    "read_responses",
    "stack_responses",
    "write_responses",
]

MISSING = -1
"""Code for a response that was not presented or not given."""

PERSON_COLUMN = "person_code"
"""Name of the column holding the pseudonymous person code."""

_FORMAT_KEY = b"sapa.columnar"
_FORMAT = {"content": ResponseContent.RESPONSES.value, "missing": MISSING, "version": 1}
_HASH_CHUNK_BYTES = 1 << 20
_COMPRESSION = "zstd"


@dataclass(frozen=True)
class ResponseMatrix:
    """A persons × items response matrix with its person and item codes.

    Attributes
    ----------
    person_codes : tuple of str
        Pseudonymous codes, one per row.
    item_codes : tuple of str
        Item codes, one per column.
    values : ndarray of int8, shape (n_persons, n_items)
        Categories ``0..K-1``; :data:`MISSING` (−1) where not presented or not answered.
    """

    person_codes: tuple[str, ...]
    item_codes: tuple[str, ...]
    values: npt.NDArray[np.int8]

    @property
    def observed(self) -> npt.NDArray[np.bool_]:
        """Boolean mask, ``True`` where a response was observed."""
        return self.values != MISSING


@dataclass(frozen=True)
class ResponseFileInfo:
    """What the database records about a written Parquet file."""

    path: Path
    sha256: str
    n_persons: int
    n_items: int

    def to_record(
        self, code: str, administration_id: int, *, booklet_id: int | None = None
    ) -> ResponseFile:
        """A :class:`ResponseFile` row for this file (``path`` stored as given)."""
        return ResponseFile(
            code=code,
            administration_id=administration_id,
            booklet_id=booklet_id,
            content=ResponseContent.RESPONSES,
            path=str(self.path),
            sha256=self.sha256,
            n_persons=self.n_persons,
            n_items=self.n_items,
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _check_codes(
    codes: Sequence[str], what: str, source: str, seen: Set[str] = frozenset()
) -> list[Problem]:
    """Problems with ``codes``: empty or non-string codes, codes repeated among themselves or
    already in ``seen`` (the codes of earlier chunks of the same file)."""
    problems = []
    if any(not isinstance(code, str) or not code.strip() for code in codes):
        problems.append(Problem(source, None, what, f"every {what} must be a non-empty string"))
    duplicates = sorted(code for code, count in Counter(codes).items() if count > 1 or code in seen)
    if duplicates:
        shown = ", ".join(map(repr, duplicates[:5]))
        problems.append(Problem(source, None, what, f"duplicate {what}s: {shown}"))
    if what == "item code" and PERSON_COLUMN in codes:
        problems.append(Problem(source, None, what, f"{PERSON_COLUMN!r} is reserved"))
    return problems


def _validated_values(
    values: npt.ArrayLike, n_persons: int, n_items: int, source: str
) -> npt.NDArray[np.int8]:
    array = np.asarray(values)
    if array.shape != (n_persons, n_items):
        raise DataValidationError(
            Problem(
                source,
                None,
                None,
                f"responses have shape {array.shape}; expected ({n_persons}, {n_items}) "
                "for the person and item codes given",
            )
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise DataValidationError(
            Problem(source, None, None, f"responses must be integers; got dtype {array.dtype}")
        )
    out_of_range = (array < MISSING) | (array > np.iinfo(np.int8).max)
    if out_of_range.any():
        row, column = np.argwhere(out_of_range)[0]
        raise DataValidationError(
            Problem(
                source,
                int(row),
                None,
                f"response {array[row, column]} at item column {column} is outside "
                f"{MISSING}..{np.iinfo(np.int8).max} ({out_of_range.sum()} such values)",
            )
        )
    return array.astype(np.int8, copy=False)


def _response_schema(item_codes: Sequence[str]) -> pa.Schema:
    """The Arrow schema of a response file: ``person_code`` then one int8 column per item, with
    the format marker in the schema metadata."""
    return pa.schema(
        [pa.field(PERSON_COLUMN, pa.string(), nullable=False)]
        + [pa.field(code, pa.int8(), nullable=False) for code in item_codes],
        metadata={_FORMAT_KEY: json.dumps(_FORMAT).encode()},
    )


def _response_table(
    schema: pa.Schema, person_codes: Sequence[str], matrix: npt.NDArray[np.int8]
) -> pa.Table:
    """Validated codes and values as an Arrow table of ``schema``."""
    columns = [pa.array(list(person_codes), type=pa.string())]
    columns += [pa.array(matrix[:, j], type=pa.int8()) for j in range(matrix.shape[1])]
    return pa.Table.from_arrays(columns, schema=schema)


def write_responses(
    path: str | os.PathLike[str],
    values: npt.ArrayLike,
    *,
    person_codes: Sequence[str],
    item_codes: Sequence[str],
) -> ResponseFileInfo:
    """Write a persons × items response matrix to a Parquet file, atomically.

    Parameters
    ----------
    path : path-like
        Destination; its folder is created if needed and an existing file is replaced.
    values : array-like of int, shape (n_persons, n_items)
        Categories ``0..K-1`` with :data:`MISSING` (−1) for not presented or not answered.
    person_codes, item_codes : sequence of str
        Unique, non-empty codes for the rows and columns.

    Returns
    -------
    ResponseFileInfo
        Path, SHA-256 of the written bytes and the matrix shape.

    Raises
    ------
    DataValidationError
        If codes are empty or repeated, the shape disagrees, or a value is not an integer in
        −1..127.
    """
    destination = Path(path)
    source = str(destination)
    problems = _check_codes(person_codes, "person code", source)
    problems += _check_codes(item_codes, "item code", source)
    if problems:
        raise DataValidationError(problems)
    matrix = _validated_values(values, len(person_codes), len(item_codes), source)
    table = _response_table(_response_schema(item_codes), person_codes, matrix)

    with atomic_destination(destination) as temporary:
        pq.write_table(table, temporary, compression=_COMPRESSION)
        sha256 = file_sha256(temporary)
    return ResponseFileInfo(destination, sha256, matrix.shape[0], matrix.shape[1])


class ResponseWriter:
    """Write a response file chunk by chunk, so a matrix larger than memory can be stored.

    The file has the format of :func:`write_responses`; each :meth:`append` adds one row group.
    It is written atomically: rows go to a temporary file beside ``path``, which is renamed over
    ``path`` when the ``with`` block ends without error and removed when it ends with one.

    Parameters
    ----------
    path : path-like
        Destination; its folder is created if needed and an existing file is replaced.
    item_codes : sequence of str
        Unique, non-empty codes of the item columns.

    Raises
    ------
    DataValidationError
        If an item code is empty, repeated or the reserved ``person_code``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResponseWriter(f"{folder}/b1.parquet", ["I1", "I2"]) as writer:
    ...         writer.append(["S1", "S2"], np.array([[1, 0], [0, -1]]))
    ...         writer.append(["S3"], np.array([[1, 1]]))
    ...     read_responses(writer.info.path).values.shape
    (3, 2)
    """

    def __init__(self, path: str | os.PathLike[str], item_codes: Sequence[str]) -> None:
        self.path = Path(path)
        problems = _check_codes(item_codes, "item code", str(self.path))
        if problems:
            raise DataValidationError(problems)
        self.item_codes = tuple(item_codes)
        self._schema = _response_schema(self.item_codes)
        self._person_codes: set[str] = set()
        self._temporary: Path | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._files: ExitStack | None = None
        self._info: ResponseFileInfo | None = None

    def __enter__(self) -> ResponseWriter:
        if self._files is not None or self._info is not None:
            raise StoreError(f"The response writer of {self.path} can be opened only once.")
        with ExitStack() as stack:
            self._temporary = stack.enter_context(atomic_destination(self.path))
            stack.push(self._seal)
            self._parquet = stack.enter_context(
                pq.ParquetWriter(self._temporary, self._schema, compression=_COMPRESSION)
            )
            self._files = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        files, self._files, self._parquet = self._files, None, None
        if files is not None:
            files.__exit__(exc_type, exc, traceback)

    def _seal(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        """Hash the closed temporary file before it is renamed (only when no error occurred)."""
        if exc_type is None and self._temporary is not None:
            self._info = ResponseFileInfo(
                self.path,
                file_sha256(self._temporary),
                len(self._person_codes),
                len(self.item_codes),
            )
        return False

    def append(self, person_codes: Sequence[str], values: npt.ArrayLike) -> None:
        """Add rows to the file as one row group (an empty chunk adds nothing).

        Parameters
        ----------
        person_codes : sequence of str
            Unique, non-empty codes of the rows, none of them given in an earlier chunk.
        values : array-like of int, shape (len(person_codes), n_items)
            Categories ``0..K-1`` with :data:`MISSING` (−1) for not presented or not answered.

        Raises
        ------
        DataValidationError
            If a code is empty or repeated, the shape disagrees, or a value is not an integer in
            −1..127. Nothing of the chunk is written; raised inside the ``with`` block, the error
            discards the whole file.
        StoreError
            If the writer is not open (used outside its ``with`` block).
        """
        if self._parquet is None:
            raise StoreError(
                f"The response writer of {self.path} is not open; append inside its 'with' block."
            )
        source = str(self.path)
        problems = _check_codes(person_codes, "person code", source, self._person_codes)
        if problems:
            raise DataValidationError(problems)
        matrix = _validated_values(values, len(person_codes), len(self.item_codes), source)
        if matrix.shape[0]:
            self._parquet.write_table(_response_table(self._schema, person_codes, matrix))
            self._person_codes.update(person_codes)

    @property
    def info(self) -> ResponseFileInfo:
        """Path, SHA-256 and shape of the written file, once the writer closed without error.

        Raises
        ------
        StoreError
            If the file is not (or not successfully) written yet.
        """
        if self._info is None:
            raise StoreError(
                f"Response file {self.path} is not written yet; its record is available once "
                "the writer's 'with' block ends without error."
            )
        return self._info


def read_responses(
    path: str | os.PathLike[str],
    *,
    items: Sequence[str] | None = None,
    expected_sha256: str | None = None,
) -> ResponseMatrix:
    """Read a response matrix written by :func:`write_responses`.

    Parameters
    ----------
    path : path-like
        The Parquet file.
    items : sequence of str, optional
        Item codes to read, in this order (e.g. one booklet's items); all items by default.
    expected_sha256 : str, optional
        The hash recorded in the database; the file is refused if its bytes differ.

    Raises
    ------
    StoreError
        If the file is missing, was changed since it was recorded, or is not a response file.
    """
    source = Path(path)
    if not source.is_file():
        raise StoreError(f"Response file {source} does not exist.")
    if expected_sha256 is not None:
        actual = file_sha256(source)
        if actual != expected_sha256.lower():
            raise StoreError(
                f"Response file {source} has SHA-256 {actual}, not the recorded "
                f"{expected_sha256}; it was changed or replaced after it was registered."
            )
    schema = pq.read_schema(source)
    if PERSON_COLUMN not in schema.names or any(
        field.type != pa.int8() for field in schema if field.name != PERSON_COLUMN
    ):
        raise StoreError(
            f"{source} is not a response file: it needs a {PERSON_COLUMN!r} column and int8 "
            "item columns."
        )
    available = [name for name in schema.names if name != PERSON_COLUMN]
    wanted = list(available if items is None else items)
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise StoreError(f"{source} has no item column(s) {', '.join(map(repr, unknown))}.")
    table = pq.read_table(source, columns=[PERSON_COLUMN, *wanted])
    values = np.empty((table.num_rows, len(wanted)), dtype=np.int8)
    for j, code in enumerate(wanted):
        values[:, j] = table.column(code).to_numpy()
    return ResponseMatrix(
        person_codes=tuple(table.column(PERSON_COLUMN).to_pylist()),
        item_codes=tuple(wanted),
        values=values,
    )


def stack_responses(matrices: Sequence[ResponseMatrix]) -> ResponseMatrix:
    """Stack response matrices of different booklets into one persons × items matrix.

    The items are the union of the booklets' items, in order of first appearance; a person's
    cells for items their booklet did not hold are :data:`MISSING` (a booklet design, as the
    IRT engine expects).

    Raises
    ------
    StoreError
        If a person appears in more than one matrix.
    """
    items: dict[str, int] = {}
    for matrix in matrices:
        for code in matrix.item_codes:
            items.setdefault(code, len(items))
    persons = [code for matrix in matrices for code in matrix.person_codes]
    repeated = sorted(code for code, count in Counter(persons).items() if count > 1)
    if repeated:
        shown = ", ".join(map(repr, repeated[:5]))
        raise StoreError(f"Persons appear in more than one booklet: {shown}.")
    values = np.full((len(persons), len(items)), MISSING, dtype=np.int8)
    start = 0
    for matrix in matrices:
        columns = [items[code] for code in matrix.item_codes]
        values[start : start + len(matrix.person_codes), columns] = matrix.values
        start += len(matrix.person_codes)
    return ResponseMatrix(tuple(persons), tuple(items), values)
