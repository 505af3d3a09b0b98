"""Parsing cell values into typed Python values, and writing them back as text.

Cells arrive as text (CSV), or already typed (XLSX cells, Parquet columns). Every parser accepts
both, so one validator serves all formats. The text forms written on export are the canonical
ones the parsers read: ISO 8601 dates (``2024-09-01``), ``true``/``false``, a dot as the decimal
separator and the shortest decimal text that round-trips a float (``84`` rather than
``84.0``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sapa.ingest._schema import FieldSpec

__all__ = ["format_text", "is_empty", "parse_value"]

_INTEGER = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def is_empty(raw: Any) -> bool:
    """A missing cell: ``None``, blank text or a floating-point NaN."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return isinstance(raw, float) and math.isnan(raw)


def _text(raw: Any) -> str:
    """Text of a cell; integral numbers typed by a spreadsheet lose the ``.0``."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime | dt.date):
        return raw.isoformat()
    return str(raw).strip()


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expected a whole number; got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float | decimal.Decimal) and raw == int(raw):
        return int(raw)
    text = _text(raw)
    if not _INTEGER.match(text):
        raise ValueError(f"expected a whole number; got {text!r}")
    return int(text.split(".")[0])


def _parse_real(raw: Any, kind: type[float] | type[decimal.Decimal]) -> Any:
    if isinstance(raw, bool):
        raise ValueError(f"expected a number; got {raw!r}")
    if isinstance(raw, int | float | decimal.Decimal):
        value = raw
    else:
        text = _text(raw)
        if "," in text and "." not in text:
            raise ValueError(f"expected a number with a dot as decimal separator; got {text!r}")
        try:
            value = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"expected a number; got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number; got {value}")
    return float(value) if kind is float else decimal.Decimal(str(value))


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false (also 1/0, yes/no); got {_text(raw)!r}")


def _parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time():
            raise ValueError(f"expected a date without a time of day; got {raw.isoformat()}")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _text(raw)
    dotted = _DOTTED_DATE.match(text)
    try:
        if dotted:
            day, month, year = map(int, dotted.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD (or DD.MM.YYYY); got {text!r}") from None


def _parse_datetime(raw: Any) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    text = _text(raw)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date and time YYYY-MM-DDTHH:MM:SS; got {text!r}") from None


def _parse_enum(raw: Any, spec: FieldSpec) -> enum.Enum:
    text = _text(raw)
    assert spec.enum_class is not None
    if text not in spec.allowed:
        allowed = ", ".join(spec.allowed)
        raise ValueError(f"{text!r} is not an allowed value; allowed: {allowed}")
    return spec.enum_class(text)


def _parse_identifier(raw: Any, spec: FieldSpec) -> str:
    # A spreadsheet that typed the identifier as a number dropped its leading zeros.
    text = str(raw).zfill(12) if isinstance(raw, int) and not isinstance(raw, bool) else _text(raw)
    assert spec.identifier_problem is not None
    reason = spec.identifier_problem(text)
    if reason:
        raise ValueError(reason)
    return text


def _parse_text(raw: Any, spec: FieldSpec) -> str:
    text = _text(raw)
    if spec.max_length is not None and len(text) > spec.max_length:
        raise ValueError(f"is {len(text)} characters long; at most {spec.max_length} allowed")
    return text


_PARSERS: dict[str, Callable[[Any, FieldSpec], Any]] = {
    "str": _parse_text,
    "code": _parse_text,
    "int": lambda raw, _: _parse_int(raw),
    "float": lambda raw, _: _parse_real(raw, float),
    "decimal": lambda raw, _: _parse_real(raw, decimal.Decimal),
    "bool": lambda raw, _: _parse_bool(raw),
    "date": lambda raw, _: _parse_date(raw),
    "datetime": lambda raw, _: _parse_datetime(raw),
    "enum": _parse_enum,
    "IIN": _parse_identifier,
    "BIN": _parse_identifier,
}


def parse_value(spec: FieldSpec, raw: Any) -> Any:
    """The typed value of a non-empty cell for ``spec``.

    Raises
    ------
    ValueError
        With the reason, phrased for the person who filled the file in.
    """
    value = _PARSERS[spec.kind](raw, spec)
    if spec.range is not None:
        reason = spec.range.problem(value)
        if reason:
            raise ValueError(reason)
    return value


def format_text(value: Any) -> str:
    """The canonical text of a typed value, as written to CSV (empty for ``None``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)
