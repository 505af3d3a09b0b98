"""Alembic environment: runs migrations on the engine handed over by :func:`sapa.store.upgrade`."""

from alembic import context

import sapa.domain
from sapa.store._engine import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=sapa.domain.Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
