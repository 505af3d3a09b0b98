"""Geography: the 20 first-level regions, their districts and settlements.

Kazakhstan has 17 oblasts and 3 cities of republican significance (Astana, Almaty, Shymkent) since
the reform in force from 8 June 2022. Regions are identified by ISO 3166-2 codes (``KZ-10`` …
``KZ-79``); the reference list ships in ``sapa/data/kz_regions.csv`` and is loaded by ``sapa init``.
"""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sapa.domain._base import Base, str_enum


class RegionKind(enum.StrEnum):
    OBLAST = "oblast"
    CITY = "city"


class Locality(enum.StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class Region(Base):
    """A first-level administrative unit (oblast or city of republican significance)."""

    __tablename__ = "region"
    __natural_key__ = ("code",)

    code: Mapped[str] = mapped_column(
        String(5), unique=True, comment="ISO 3166-2 code, e.g. KZ-71 for Astana."
    )
    kind: Mapped[RegionKind] = mapped_column(
        str_enum(RegionKind), comment="oblast or city (of republican significance)."
    )
    name_en: Mapped[str] = mapped_column(String(100), comment="Name in English.")
    name_kk: Mapped[str] = mapped_column(String(100), comment="Name in Kazakh.")
    name_ru: Mapped[str] = mapped_column(String(100), comment="Name in Russian.")
    centre_en: Mapped[str] = mapped_column(String(100), comment="Administrative centre, English.")
    centre_kk: Mapped[str] = mapped_column(String(100), comment="Administrative centre, Kazakh.")
    centre_ru: Mapped[str] = mapped_column(String(100), comment="Administrative centre, Russian.")

    districts: Mapped[list[District]] = relationship(back_populates="region")


class District(Base):
    """A second-level unit: a district (аудан) of an oblast or a city district."""

    __tablename__ = "district"
    __natural_key__ = ("code",)

    code: Mapped[str] = mapped_column(String(20), unique=True, comment="District code, unique.")
    region_id: Mapped[int] = mapped_column(
        ForeignKey("region.id"), index=True, comment="Region the district belongs to."
    )
    name_en: Mapped[str] = mapped_column(String(120), comment="Name in English.")
    name_kk: Mapped[str] = mapped_column(String(120), comment="Name in Kazakh.")
    name_ru: Mapped[str] = mapped_column(String(120), comment="Name in Russian.")

    region: Mapped[Region] = relationship(back_populates="districts")


class Settlement(Base):
    """A city, town or village where organizations are located."""

    __tablename__ = "settlement"
    __natural_key__ = ("code",)

    code: Mapped[str] = mapped_column(String(20), unique=True, comment="Settlement code, unique.")
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id"), index=True, comment="District the settlement belongs to."
    )
    name: Mapped[str] = mapped_column(String(120), comment="Name as commonly written.")
    locality: Mapped[Locality] = mapped_column(
        str_enum(Locality), comment="urban or rural, as classified by national statistics."
    )
    population: Mapped[int | None] = mapped_column(comment="Resident population (persons).")
