"""Sapa's national data model, one module per area.

Importing this package registers every entity on :data:`Base.metadata`.
"""

from sapa.domain import (
    access,  # noqa: F401  (registers the application's own tables)
    assessment,
    casework,
    geography,
    infrastructure,
    leadership,
    organizations,
    people,
    quality,
    welfare,
    workforce,
)
from sapa.domain._base import Base, BINType, IINType

ENTITY_MODULES = (
    geography,
    organizations,
    people,
    workforce,
    leadership,
    infrastructure,
    welfare,
    assessment,
    quality,
    casework,
)

__all__ = ["Base", "BINType", "ENTITY_MODULES", "IINType", "entities"]


def entities() -> list[type[Base]]:
    """Every entity of the national data (the file entities), referenced entities first.

    The application's own tables (:mod:`sapa.domain.access`) are mapped too but are not
    entities of the data: they are never imported, exported or documented as data formats.
    """
    by_table = {mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers}
    return [
        by_table[table.name]
        for table in Base.metadata.sorted_tables
        if by_table[table.name].__file_entity__
    ]
