"""Alembic environment: runs migrations on the engine handed over by :func:`sapa.store.upgrade`."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

import sapa.domain
from sapa.store._engine import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine()


def _render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render checked identifier types by their stored type, so migrations import only ``sa``."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=sapa.domain.Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
