"""Sapa's national data model, one module per area.

Importing this package registers every entity on :data:`Base.metadata`.
"""

from sapa.domain import (
    assessment,
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
)

__all__ = ["Base", "BINType", "ENTITY_MODULES", "IINType", "entities"]


def entities() -> list[type[Base]]:
    """Every mapped entity class, in an order where referenced entities come first."""
    by_table = {mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers}
    return [by_table[table.name] for table in Base.metadata.sorted_tables]
