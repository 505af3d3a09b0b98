"""Synthetic identities: valid IINs and BINs, and plausible Kazakh and Russian names.

Identifiers follow :mod:`sapa.domain.identifiers` (two-pass mod-11 check digit), computed for
whole arrays at once. Uniqueness across the nation comes from the serial digits: each region owns
a block of serials, so regions can be built independently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["bin_numbers", "iin_numbers", "person_names"]

_FIRST = np.arange(1, 12)
_SECOND = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
_POWERS = 10 ** np.arange(10, -1, -1, dtype=np.int64)


def _digits(prefixes: np.ndarray) -> np.ndarray:
    """The 11 digits of each 11-digit integer prefix, shape (n, 11)."""
    return (prefixes[:, None] // _POWERS) % 10


def _check_digits(prefixes: np.ndarray) -> np.ndarray:
    """Check digit per prefix, or −1 where none exists (the number is never issued)."""
    digits = _digits(prefixes)
    first = (digits * _FIRST).sum(axis=1) % 11
    second = (digits * _SECOND).sum(axis=1) % 11
    check = np.where(first != 10, first, second)
    return np.where(check != 10, check, -1)


def _with_check(prefixes: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """12-digit strings for the prefixes (or their fallbacks where a prefix has no check
    digit); ``None`` where neither has one."""
    check = _check_digits(prefixes)
    chosen = np.where(check >= 0, prefixes, fallback)
    check = np.where(check >= 0, check, _check_digits(fallback))
    numbers = chosen * 10 + check
    return np.array(
        [f"{n:012d}" if c >= 0 else None for n, c in zip(numbers, check, strict=True)],
        dtype=object,
    )


def iin_numbers(
    birth_dates: np.ndarray, male: np.ndarray, serial_base: int, serial_span: int
) -> np.ndarray:
    """Valid, unique IINs for people born on ``birth_dates`` (``datetime64[D]``).

    Within one call the serial is ``serial_base`` plus twice the person's rank among those born
    the same day with the same sex, so a caller that gives each region its own ``serial_base``
    block of ``serial_span`` serials gets nationally unique numbers; the odd serial after each is
    the fallback when a prefix has no check digit. People beyond the block get ``None`` (IIN is
    optional in the data model).
    """
    dates = pd.DatetimeIndex(birth_dates)
    years = dates.year.to_numpy()
    century_digit = np.where(years >= 2000, 5, 3) + (~np.asarray(male)).astype(np.int64)
    key = pd.DataFrame({"d": dates, "s": century_digit})
    rank = key.groupby(["d", "s"], sort=False).cumcount().to_numpy()
    serial = serial_base + 2 * rank
    date_part = (years % 100) * 10_000 + dates.month.to_numpy() * 100 + dates.day.to_numpy()
    prefix = (date_part.astype(np.int64) * 10 + century_digit) * 10_000 + serial
    numbers = _with_check(prefix, prefix + 1)
    numbers[2 * rank + 1 >= serial_span] = None
    return numbers


def bin_numbers(registered: np.ndarray, serials: np.ndarray) -> np.ndarray:
    """Valid BINs of resident legal entities (head units) registered in the months of
    ``registered`` (``datetime64``) with unique five-digit ``serials`` below 50,000; serial
    + 50,000 is the fallback when a prefix has no check digit."""
    dates = pd.DatetimeIndex(registered)
    yymm = (dates.year.to_numpy() % 100) * 100 + dates.month.to_numpy()
    prefix = (yymm.astype(np.int64) * 100 + 40) * 100_000 + np.asarray(serials, dtype=np.int64)
    return _with_check(prefix, prefix + 50_000)


# Common given names and surname stems; Russian patronymics are given in full because their
# endings follow the father's name irregularly.
_KAZAKH_MALE = (
    "Айбек Арман Асхат Бауыржан Данияр Ерлан Жандос Ержан Қайрат Мұрат Нұрлан Серік Талғат "
    "Тимур Әлихан Ернар Дәурен Марат Рустем Санжар Нұрсұлтан Алмас Бекзат Мирас Амир Әли Ислам "
    "Ахмет Елдос Абылай"
).split()
_KAZAKH_FEMALE = (
    "Айгүл Айжан Ақбота Әсел Гүлнар Динара Жанар Мадина Меруерт Назерке Салтанат Сәуле Толғанай "
    "Ұлжан Анар Аружан Дана Жансая Іңкәр Камила Томирис Айым Алина Аяжан Балжан Гүлмира Зарина "
    "Индира Сымбат Әйгерім"
).split()
_KAZAKH_STEMS = (
    "Ахмет Әбдірахман Бекмұхамед Жақып Жұмабек Исабек Қасым Мұқан Нұрмағанбет Оспан Сейіт "
    "Тұрсын Омар Сарсенбай Төлеген Байжан Ермек Құдайберген Шәкен Дүйсен Есім Мақаш Сұлтан "
    "Әміржан Ибраев Жанұзақ Кенжебек Әлі Рахым Серікбай"
).split()
_RUSSIAN_MALE = (
    ("Александр", "Александрович", "Александровна"),
    ("Андрей", "Андреевич", "Андреевна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Виктор", "Викторович", "Викторовна"),
    ("Владимир", "Владимирович", "Владимировна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Иван", "Иванович", "Ивановна"),
    ("Игорь", "Игоревич", "Игоревна"),
    ("Максим", "Максимович", "Максимовна"),
    ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"),
    ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"),
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Артём", "Артёмович", "Артёмовна"),
    ("Роман", "Романович", "Романовна"),
)
_RUSSIAN_FEMALE = (
    "Анна Анастасия Виктория Галина Дарья Екатерина Елена Ирина Людмила Мария Наталья Ольга "
    "Светлана Татьяна Юлия Полина Алина Ксения Вера Надежда"
).split()
_RUSSIAN_SURNAMES = (
    ("Иванов", "Иванова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Смирнов", "Смирнова"),
    ("Васильев", "Васильева"),
    ("Петров", "Петрова"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
    ("Лебедев", "Лебедева"),
    ("Козлов", "Козлова"),
    ("Степанов", "Степанова"),
    ("Павленко", "Павленко"),
    ("Шевченко", "Шевченко"),
    ("Ким", "Ким"),
    ("Белов", "Белова"),
    ("Захаров", "Захарова"),
    ("Шмидт", "Шмидт"),
    ("Бондаренко", "Бондаренко"),
)


def _kazakh_surname(stem: str, male: bool) -> str:
    if stem.endswith("ев") or stem.endswith("ов"):
        return stem if male else stem + "а"
    ending = "ев" if stem[-1] in "жшйиі" else "ов"
    return stem + ending + ("" if male else "а")


def person_names(
    rng: np.random.Generator, male: np.ndarray, kazakh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surname, given name and patronymic for each person.

    ``kazakh`` chooses Kazakh names (patronymic ``…ұлы`` / ``…қызы``) over Russian ones; about
    one Kazakh in ten has no patronymic recorded.
    """
    n = len(male)
    male = np.asarray(male, dtype=bool)
    kazakh = np.asarray(kazakh, dtype=bool)
    kz_surnames = np.array(
        [[_kazakh_surname(s, False), _kazakh_surname(s, True)] for s in _KAZAKH_STEMS],
        dtype=object,
    )
    ru_surnames = np.array(_RUSSIAN_SURNAMES, dtype=object)[:, ::-1]
    ru_fathers = np.array(_RUSSIAN_MALE, dtype=object)
    kz_pick = rng.integers(0, len(_KAZAKH_STEMS), n)
    ru_pick = rng.integers(0, len(_RUSSIAN_SURNAMES), n)
    surname = np.where(
        kazakh, kz_surnames[kz_pick, male.astype(int)], ru_surnames[ru_pick, male.astype(int)]
    )
    given = np.where(
        kazakh,
        np.where(
            male,
            np.array(_KAZAKH_MALE, dtype=object)[rng.integers(0, len(_KAZAKH_MALE), n)],
            np.array(_KAZAKH_FEMALE, dtype=object)[rng.integers(0, len(_KAZAKH_FEMALE), n)],
        ),
        np.where(
            male,
            ru_fathers[rng.integers(0, len(ru_fathers), n), 0],
            np.array(_RUSSIAN_FEMALE, dtype=object)[rng.integers(0, len(_RUSSIAN_FEMALE), n)],
        ),
    )
    kz_father = np.array(_KAZAKH_MALE, dtype=object)[rng.integers(0, len(_KAZAKH_MALE), n)]
    ru_father = ru_fathers[rng.integers(0, len(ru_fathers), n)]
    patronymic = np.where(
        kazakh,
        kz_father + np.where(male, "ұлы", "қызы"),
        np.where(male, ru_father[:, 1], ru_father[:, 2]),
    )
    patronymic[kazakh & (rng.random(n) < 0.1)] = None
    return surname, given, patronymic
