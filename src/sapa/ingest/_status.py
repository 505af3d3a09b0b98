"""Row counts per entity, and per region for entities whose references lead to a region.

An entity is attributed to a region through the shortest chain of references that ends at the
``region`` table (a settlement → its district → the district's region), preferring required
references; rows whose chain is broken by an empty reference are not counted in any region.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from sapa.errors import StoreError
from sapa.ingest._schema import FieldSpec, entity_schemas

__all__ = ["REGION_TABLE", "region_counts", "region_path", "row_counts"]

REGION_TABLE = "region"


def region_path(entity: str) -> list[FieldSpec] | None:
    """The reference fields leading from ``entity`` to the region, or ``None`` if none does."""
    schemas = entity_schemas()
    queue: deque[tuple[str, list[FieldSpec]]] = deque([(entity, [])])
    seen = {entity}
    while queue:
        name, path = queue.popleft()
        references = [spec for spec in schemas[name].fields if spec.target is not None]
        for spec in sorted(references, key=lambda spec: not spec.required):
            if spec.target == REGION_TABLE:
                return [*path, spec]
            if spec.target is not None and spec.target not in seen:
                seen.add(spec.target)
                queue.append((spec.target, [*path, spec]))
    return None


def row_counts(engine: Engine) -> dict[str, int]:
    """Number of rows of every entity, in dependency order."""
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(
                    select(func.count()).select_from(schema.table)
                ).scalar_one()
                for name, schema in entity_schemas().items()
            }
    except SQLAlchemyError as exc:
        raise StoreError(f"Cannot count rows at {engine.url!r}: {exc}") from exc


def region_counts(engine: Engine) -> dict[str, dict[str, int]]:
    """Rows per region code of every entity attributable to a region (empty regions omitted)."""
    schemas = entity_schemas()
    counts: dict[str, dict[str, int]] = {}
    try:
        with engine.connect() as connection:
            for name, schema in schemas.items():
                path = region_path(name)
                if path is None:
                    continue
                current: Any = schema.table
                joined: Any = schema.table
                for hop, spec in enumerate(path):
                    assert spec.target is not None
                    target = schemas[spec.target].table.alias(f"hop_{hop}")
                    joined = joined.join(target, current.c[spec.column] == target.c.id)
                    current = target
                statement = (
                    select(current.c.code, func.count())
                    .select_from(joined)
                    .group_by(current.c.code)
                    .order_by(current.c.code)
                )
                counts[name] = dict(connection.execute(statement).all())
    except SQLAlchemyError as exc:
        raise StoreError(f"Cannot count rows at {engine.url!r}: {exc}") from exc
    return counts
