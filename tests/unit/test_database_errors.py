"""What a caller reads when the database gives no connection or refuses a value: a 503 with
Retry-After (nothing was done; try again), a 422 for a value it cannot hold; a database error
that is neither is a fault of ours and stays a 500."""

from __future__ import annotations

import pytest
from asyncpg import exceptions as asyncpg_exceptions
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

from shared.errors import install_error_handlers


class _DriverError(Exception):
    """As SQLAlchemy's asyncpg dialect wraps the driver's error (the cause)."""


def _raised(cause: BaseException) -> DBAPIError:
    orig = _DriverError(str(cause))
    orig.__cause__ = cause
    return DBAPIError("SELECT 1", {}, orig)


def _client(exc: DBAPIError) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/v1/things")
    async def things() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "cause",
    [
        asyncpg_exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg_exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg_exceptions.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
)
def test_no_connection_to_be_had_is_a_503_to_try_again(cause: BaseException) -> None:
    answer = _client(_raised(cause)).get("/v1/things")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "database_unavailable"
    assert "too many" not in answer.text  # the database's own words stay in the log


def test_a_value_the_database_cannot_hold_is_the_callers_422() -> None:
    answer = _client(_raised(asyncpg_exceptions.NumericValueOutOfRangeError("integer out of range"))).get(
        "/v1/things"
    )
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "value_out_of_range"


def test_any_other_database_error_is_ours() -> None:
    answer = _client(_raised(asyncpg_exceptions.UndefinedColumnError("column x does not exist"))).get(
        "/v1/things"
    )
    assert answer.status_code == 500
