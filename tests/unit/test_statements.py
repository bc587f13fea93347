"""The prebuilt statements of shared.db: an upsert changes only the columns it is given."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement

from shared.db import insert_new, upsert

TABLE = Table(
    "cases",
    MetaData(),
    Column("request_id", String, primary_key=True),
    Column("department", String, primary_key=True),
    Column("state", String),
    Column("handler_id", String),
    Column("extensions", Integer),
)


def sql(statement: ClauseElement, params: Mapping[str, object]) -> str:
    return str(statement.compile(dialect=postgresql.dialect(), column_keys=list(params)))


def test_an_upsert_sets_only_the_columns_it_is_given_and_never_the_key() -> None:
    row = {"request_id": "r1", "department": "urban", "state": "routed"}
    text = sql(upsert(TABLE, ("request_id", "department"), tuple(row)), row)
    assert "ON CONFLICT (request_id, department) DO UPDATE SET state = excluded.state" in text
    assert "handler_id" not in text and "extensions" not in text  # left as they are
    assert "SET request_id" not in text and "department = excluded" not in text


def test_prebuilt_statements_are_built_once_per_shape() -> None:
    first = upsert(TABLE, ("request_id", "department"), ("request_id", "department", "state"))
    again = upsert(TABLE, ("request_id", "department"), ("request_id", "department", "state"))
    wider = upsert(TABLE, ("request_id", "department"), ("request_id", "department", "state", "handler_id"))
    assert first is again and wider is not first
    assert insert_new(TABLE) is insert_new(TABLE)


def test_insert_new_does_nothing_on_a_conflict_and_returns_the_column_asked_for() -> None:
    row = {"request_id": "r1", "department": "urban"}
    text = sql(insert_new(TABLE, ("request_id", "department"), returning="request_id"), row)
    assert "ON CONFLICT (request_id, department) DO NOTHING RETURNING cases.request_id" in text
