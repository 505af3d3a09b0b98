"""Districts and settlements of a synthetic region.

The three cities keep their real city districts. An oblast gets its centre's city administration
plus rural districts (one per ~35 schools at full scale) named from common Kazakh toponyms; each
district has a town and villages. Settlements are created on demand as schools are placed: a
school in the oblast centre or a district town is urban, a village school rural.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sapa.synth._frame import RegionFrame

__all__ = ["CITY_DISTRICTS", "add_geography"]

CITY_DISTRICTS = {
    "KZ-71": (
        ("Almaty", "Алматы", "Алматы"),
        ("Baikonyr", "Байқоңыр", "Байконыр"),
        ("Yesil", "Есіл", "Есиль"),
        ("Saryarka", "Сарыарқа", "Сарыарка"),
        ("Nura", "Нұра", "Нура"),
    ),
    "KZ-75": (
        ("Alatau", "Алатау", "Алатау"),
        ("Almaly", "Алмалы", "Алмалы"),
        ("Auezov", "Әуезов", "Ауэзов"),
        ("Bostandyk", "Бостандық", "Бостандык"),
        ("Zhetysu", "Жетісу", "Жетысу"),
        ("Medeu", "Медеу", "Медеу"),
        ("Nauryzbay", "Наурызбай", "Наурызбай"),
        ("Turksib", "Түрксіб", "Турксиб"),
    ),
    "KZ-79": (
        ("Abay", "Абай", "Абай"),
        ("Al-Farabi", "Әл-Фараби", "Аль-Фараби"),
        ("Enbekshi", "Еңбекші", "Енбекши"),
        ("Karatau", "Қаратау", "Каратау"),
        ("Turan", "Тұран", "Туран"),
    ),
}
"""The real city districts of Astana, Almaty and Shymkent: ``(English, Kazakh, Russian)``."""

_TOPONYMS = (
    ("Akbulak", "Ақбұлақ", "Акбулак"),
    ("Karasu", "Қарасу", "Карасу"),
    ("Koktobe", "Көктөбе", "Коктобе"),
    ("Sarykol", "Сарыкөл", "Сарыколь"),
    ("Besagash", "Бесағаш", "Бесагаш"),
    ("Birlik", "Бірлік", "Бирлик"),
    ("Zhanaaul", "Жаңаауыл", "Жанаауыл"),
    ("Karatal", "Қаратал", "Каратал"),
    ("Akkol", "Ақкөл", "Акколь"),
    ("Shalkar", "Шалқар", "Шалкар"),
    ("Aksu", "Ақсу", "Аксу"),
    ("Koksai", "Көксай", "Коксай"),
    ("Taskala", "Тасқала", "Таскала"),
    ("Zhailau", "Жайлау", "Жайлау"),
    ("Kyzylzhar", "Қызылжар", "Кызылжар"),
    ("Baiterek", "Бәйтерек", "Байтерек"),
    ("Kokterek", "Көктерек", "Коктерек"),
    ("Akzhar", "Ақжар", "Акжар"),
    ("Tasbulak", "Тасбұлақ", "Тасбулак"),
    ("Saryozek", "Сарыөзек", "Сарыозек"),
    ("Karabulak", "Қарабұлақ", "Карабулак"),
    ("Kainar", "Қайнар", "Кайнар"),
    ("Ushtobe", "Үштөбе", "Уштобе"),
    ("Bereke", "Береке", "Береке"),
    ("Talap", "Талап", "Талап"),
    ("Zhuldyz", "Жұлдыз", "Жулдыз"),
    ("Kenes", "Кеңес", "Кенес"),
    ("Ortalyk", "Орталық", "Орталык"),
    ("Akshi", "Ақши", "Акши"),
    ("Bayan", "Баян", "Баян"),
    ("Kogaly", "Көғалы", "Когалы"),
    ("Tauken", "Таукен", "Таукен"),
    ("Sholakkorgan", "Шолаққорған", "Шолаккорган"),
    ("Zhanatalap", "Жаңаталап", "Жанаталап"),
    ("Kumkol", "Құмкөл", "Кумколь"),
    ("Esil", "Есіл", "Есиль"),
    ("Tobyl", "Тобыл", "Тобол"),
    ("Ertis", "Ертіс", "Иртыш"),
    ("Shu", "Шу", "Шу"),
    ("Ile", "Іле", "Или"),
)

_RURAL_SCHOOLS_PER_VILLAGE = 1.15
"""Rural schools per village: most villages have one school, a few large ones two."""


def add_geography(frame: RegionFrame) -> None:
    """Add ``district`` and ``settlement`` tables and place every school: fills
    ``frame.schools`` with ``code``, ``urban``, ``district_code`` and ``settlement_code``.

    Needs ``frame.schools`` with one row per school and a boolean ``urban`` column.
    """
    rng = frame.rng("geography")
    target = frame.plan.target
    schools = frame.schools
    n_urban = int(schools["urban"].sum())
    n_rural = len(schools) - n_urban
    if target.kind == "city":
        names = CITY_DISTRICTS[target.code]
        n_districts = min(len(names), max(1, len(schools) // 3))
        district_names = list(names[:n_districts])
    else:
        n_rural_districts = int(np.clip(round(n_rural / 35), 1 if n_rural else 0, 18))
        picks = rng.choice(len(_TOPONYMS), size=n_rural_districts, replace=False)
        en, kk, ru = target.centre
        district_names = [
            (f"{en} City Administration", f"{kk} қалалық әкімдігі", f"городская администрация {ru}")
        ] + [
            (f"{_TOPONYMS[i][0]} District", f"{_TOPONYMS[i][1]} ауданы", f"{_TOPONYMS[i][2]} район")
            for i in picks
        ]
    districts = pd.DataFrame(
        {
            "code": [f"KZ{frame.digits}-D{k + 1:02d}" for k in range(len(district_names))],
            "region_code": target.code,
            "name_en": [n[0] for n in district_names],
            "name_kk": [n[1] for n in district_names],
            "name_ru": [n[2] for n in district_names],
        }
    )

    # Urban schools: in cities across the city districts; in an oblast mostly in the centre
    # (district 1) and the rest in district towns. Rural schools in villages of rural districts.
    district_of = np.empty(len(schools), dtype=np.int64)
    urban = schools["urban"].to_numpy()
    if target.kind == "city":
        district_of[:] = rng.integers(0, len(districts), len(schools))
    else:
        rural_districts = np.arange(1, len(districts)) if len(districts) > 1 else np.array([0])
        in_centre = rng.random(n_urban) < 0.7
        district_of[urban] = np.where(in_centre, 0, rng.choice(rural_districts, n_urban))
        district_of[~urban] = rng.choice(rural_districts, n_rural)

    rows = []
    settlement_of = np.empty(len(schools), dtype=object)
    for d, district_code in enumerate(districts["code"]):
        here = np.flatnonzero(district_of == d)
        towns = here[urban[here]]
        villages = here[~urban[here]]
        if len(towns):
            number = len(rows) + 1
            code = f"{district_code}-{number:03d}"
            if target.kind == "city":
                name = districts.loc[d, "name_kk"] + " ауданы"
            elif d == 0:
                name = target.centre[1]
            else:
                name = districts.loc[d, "name_kk"].removesuffix(" ауданы")
            population = int(max(len(towns) * 1400 * rng.uniform(2.5, 4.0), 8000))
            rows.append((code, district_code, name, "urban", population))
            settlement_of[towns] = code
        if len(villages):
            n_villages = max(1, round(len(villages) / _RURAL_SCHOOLS_PER_VILLAGE))
            village_of = np.concatenate(
                [np.arange(n_villages), rng.integers(0, n_villages, len(villages) - n_villages)]
            )
            rng.shuffle(village_of)
            names = rng.choice(len(_TOPONYMS), n_villages)
            for v in range(n_villages):
                code = f"{district_code}-{len(rows) + 1:03d}"
                population = int(rng.lognormal(np.log(900), 0.8)) + 80
                rows.append((code, district_code, _TOPONYMS[names[v]][1], "rural", population))
                settlement_of[villages[village_of == v]] = code
    settlements = pd.DataFrame(
        rows, columns=["code", "district_code", "name", "locality", "population"]
    )
    frame.tables["district"] = districts
    frame.tables["settlement"] = settlements
    frame.schools["district_code"] = districts["code"].to_numpy()[district_of]
    frame.schools["settlement_code"] = settlement_of
