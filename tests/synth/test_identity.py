"""Synthetic IINs and BINs are valid and unique; names are well formed."""

from __future__ import annotations

import numpy as np

from sapa.domain.identifiers import bin_problem, iin_birth_date, iin_problem, iin_sex
from sapa.synth._identity import bin_numbers, iin_numbers, person_names


def test_iins_are_valid_unique_and_encode_birth_date_and_sex() -> None:
    rng = np.random.default_rng(1)
    births = np.datetime64("2008-01-01") + rng.integers(0, 3650, 20_000).astype("timedelta64[D]")
    male = rng.random(20_000) < 0.5
    numbers = iin_numbers(births, male, serial_base=1500, serial_span=500)
    issued = [i for i, n in enumerate(numbers) if n is not None]
    assert len(issued) == len(numbers)
    assert len(set(numbers)) == len(numbers)
    for i in issued[:3000]:
        assert iin_problem(numbers[i]) is None
        assert iin_birth_date(numbers[i]) == births[i].astype(object)
        assert iin_sex(numbers[i]) == ("M" if male[i] else "F")
        assert 1500 <= int(numbers[i][7:11]) < 2000


def test_regions_own_disjoint_iin_serials() -> None:
    births = np.full(40, np.datetime64("2015-03-01"))
    male = np.ones(40, dtype=bool)
    first = iin_numbers(births, male, serial_base=0, serial_span=500)
    second = iin_numbers(births, male, serial_base=500, serial_span=500)
    assert not set(first) & set(second)


def test_people_beyond_the_serial_block_get_no_iin() -> None:
    births = np.full(10, np.datetime64("2015-03-01"))
    numbers = iin_numbers(births, np.ones(10, dtype=bool), serial_base=0, serial_span=8)
    assert sum(n is not None for n in numbers) == 4


def test_bins_are_valid() -> None:
    registered = np.array(["1998-05", "2024-08", "2010-01"], dtype="datetime64[M]")
    numbers = bin_numbers(registered, np.array([0, 17, 49_999]))
    assert [bin_problem(n) for n in numbers] == [None, None, None]
    assert [n[:4] for n in numbers] == ["9805", "2408", "1001"]


def test_names_follow_sex_and_language() -> None:
    rng = np.random.default_rng(2)
    male = np.array([True, False] * 200)
    kazakh = np.array([True] * 200 + [False] * 200)
    surname, given, patronymic = person_names(rng, male, kazakh)
    kazakh_patronymics = [p for p in patronymic[:200] if p is not None]
    assert all(p.endswith(("ұлы", "қызы")) for p in kazakh_patronymics)
    assert all(p.endswith(("ич", "на")) for p in patronymic[200:])
    assert not any(s.endswith(("ова", "ева")) for s in surname[male & ~kazakh])
    assert all(s.endswith("а") for s in surname[~male & kazakh])
    assert all(isinstance(g, str) and g for g in given)
