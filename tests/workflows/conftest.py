"""Fixtures of the workflow tests: the sample dataset imported into a fresh database, and the
accounts that take steps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sapa.domain.access import Role
from sapa.ingest import import_files
from sapa.workflows import Actor

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"
TODAY = dt.date(2025, 5, 20)
"""The working day of the tests (the sample's records run to spring 2025)."""


@pytest.fixture
def sample(engine: Engine) -> Engine:
    """The sample dataset (two regions, a few schools and teachers of each) in the database."""
    import_files(engine, [SAMPLE])
    return engine


def actor(role: str) -> Actor:
    """An account of the role, named after it."""
    return Actor(username=f"{role}-user", role=Role(role))
