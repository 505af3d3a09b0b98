"""A refused step changes nothing: the check the workflow tests share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from conftest import TODAY, actor
from sapa.domain import Base
from sapa.domain.casework import WorkflowCase, WorkflowEvent
from sapa.workflows import act, find_case


def snapshot(connection: Connection, code: str, tables: Iterable[type[Base]]) -> tuple:
    """The case's state and values, its number of events and every row of ``tables``."""
    case = find_case(connection, code)
    assert case is not None
    events = connection.scalar(
        select(func.count())
        .select_from(WorkflowEvent)
        .join(WorkflowCase)
        .where(WorkflowCase.code == code)
    )
    rows = [
        [tuple(row) for row in connection.execute(select(table).order_by(table.id))]
        for table in tables
    ]
    return case.state, case.values, events, rows


def assert_refused(
    engine: Engine,
    code: str,
    action: str,
    role: str,
    given: Mapping[str, Any],
    error: type[Exception],
    message: str,
    *,
    tables: Iterable[type[Base]] = (),
    today: dt.date = TODAY,
) -> None:
    """Taking ``action`` in case ``code`` raises ``error`` matching ``message``, and the case,
    its history and the rows of ``tables`` are as they were."""
    tables = tuple(tables)
    with engine.connect() as connection:
        before = snapshot(connection, code, tables)
    with pytest.raises(error, match=message), engine.begin() as connection:
        case = find_case(connection, code)
        act(connection, case, action, actor(role), given, today=today)
    with engine.connect() as connection:
        assert snapshot(connection, code, tables) == before
