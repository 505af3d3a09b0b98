"""Kazakhstan's personal (IIN) and business (BIN) identification numbers.

Both are 12 digits whose last digit is a check digit computed by the same two-pass mod-11 rule:
``S1 = Σ d_i·i`` for ``i = 1..11``; ``C = S1 mod 11``; if ``C == 10`` recompute with weights
``3,4,5,6,7,8,9,10,11,1,2``; a result of 10 again means the number is never issued.

IIN layout ``YYMMDD G NNNN C``: birth date, a century/sex digit ``G`` (1/2 = 1800s, 3/4 = 1900s,
5/6 = 2000s; odd = male), a serial and the check digit (Law No. 223 of 12 Jan 2007; decree No. 406
of 22 May 2007). BIN layout ``YYMM T A NNNNN C``: registration year and month, entity type ``T``
(4 resident legal entity, 5 non-resident, 6 individual entrepreneur on a joint basis), attribute
``A`` (0 head unit, 1 branch, 2 representative office, 3 peasant farm), serial, check digit.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["check_digit", "iin_birth_date", "iin_sex", "iin_problem", "bin_problem"]

_FIRST_WEIGHTS = tuple(range(1, 12))
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


def check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 leading digits, or ``None`` when no valid number has this prefix."""
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def _shape_problem(value: str, kind: str) -> str | None:
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return f"{kind} must be exactly 12 digits; got {value!r}"
    expected = check_digit(value[:11])
    if expected is None:
        return f"{kind} {value} has a prefix for which no check digit exists (never issued)"
    if expected != int(value[11]):
        return f"{kind} {value} fails the check digit (expected {expected}, found {value[11]})"
    return None


def iin_birth_date(iin: str) -> dt.date:
    """Birth date encoded in an IIN (raises ``ValueError`` if the date is impossible)."""
    century = _CENTURY[int(iin[6])]
    return dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))


def iin_sex(iin: str) -> str:
    """``"M"`` or ``"F"`` from the IIN's century/sex digit (odd = male)."""
    return "M" if int(iin[6]) % 2 == 1 else "F"


def iin_problem(value: str) -> str | None:
    """Why ``value`` is not a valid IIN, or ``None`` if it is valid."""
    problem = _shape_problem(value, "IIN")
    if problem:
        return problem
    if int(value[6]) not in _CENTURY:
        return f"IIN {value} has century/sex digit {value[6]}; it must be 1–6"
    try:
        iin_birth_date(value)
    except ValueError:
        return f"IIN {value} encodes an impossible birth date {value[:6]} (YYMMDD)"
    return None


def bin_problem(value: str) -> str | None:
    """Why ``value`` is not a valid BIN, or ``None`` if it is valid."""
    problem = _shape_problem(value, "BIN")
    if problem:
        return problem
    month = int(value[2:4])
    if not 1 <= month <= 12:
        return f"BIN {value} encodes registration month {value[2:4]}; it must be 01–12"
    if value[4] not in "456":
        return f"BIN {value} has entity-type digit {value[4]}; it must be 4, 5 or 6"
    if value[5] not in "0123":
        return f"BIN {value} has attribute digit {value[5]}; it must be 0–3"
    return None
