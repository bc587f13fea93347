"""The error body of DESIGN §9: {"error": {"code", "message", "fields": [...]}}."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import KafkaError
from asyncpg import exceptions as asyncpg_exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.lifecycle import IllegalTransition


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        fields: list[dict[str, Any]] | None = None,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        current_state: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.current_state = current_state  # a 409's "you are here"
        self.fields = fields or []
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class Unprocessable(ApiError):
    status = 422
    code = "validation_failed"


def field_error(field: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field, "rule": rule, "message": message}


def error_body(code: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_fields(errors: Any) -> list[dict[str, str]]:
    fields = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        # Errors raised inside a model validator carry the field name in ctx.
        ctx = err.get("ctx") or {}
        field = ctx.get("field") if isinstance(ctx, dict) and ctx.get("field") else _location(loc)
        rule = ctx.get("rule") if isinstance(ctx, dict) and ctx.get("rule") else err.get("type", "invalid")
        fields.append(field_error(str(field), str(rule), str(err.get("msg", "invalid value"))))
    return fields


def _is_data_error(exc: DBAPIError) -> bool:
    """A value the database (or the driver) cannot hold: SQLSTATE class 22, or asyncpg's
    own refusal to encode an argument (an int over int64, a string for an integer)."""
    cause = getattr(exc.orig, "__cause__", None)
    return isinstance(cause, asyncpg_exceptions.DataError) or str(getattr(cause, "sqlstate", "")).startswith(
        "22"
    )


def _is_unreachable(exc: DBAPIError) -> bool:
    """No connection to be had (the server refuses more clients, is starting or shutting
    down, or cannot be reached): SQLSTATE classes 08 and 53 and 57P0x, or the socket's own
    error. Nothing was done; trying again later works."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    return sqlstate[:2] in ("08", "53") or sqlstate.startswith("57P") or isinstance(cause, OSError)


def _out_of_range() -> JSONResponse:
    # The last line of defence (the API types refuse out-of-range values first): a value
    # the database cannot hold is the caller's error, not ours. No parameter and no database
    # text goes back: they may quote the person's data.
    return JSONResponse(
        error_body("value_out_of_range", "a value is out of range or not valid for its field"), 422
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = error_body(exc.code, exc.message, exc.fields)
        if exc.current_state is not None:
            body["error"]["current_state"] = exc.current_state
        return JSONResponse(body, exc.status, headers=exc.headers)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        body = error_body("illegal_transition", str(exc))
        body["error"]["current_state"] = exc.current.value if exc.current else None
        return JSONResponse(body, 409)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = validation_fields(exc.errors())
        names = ", ".join(sorted({f["field"] for f in fields}))
        return JSONResponse(error_body("validation_failed", f"invalid fields: {names}", fields), 422)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return _out_of_range()

    @app.exception_handler(KafkaError)
    async def _broker(_: Request, exc: KafkaError) -> JSONResponse:
        # A route that reads the broker itself (KPI rebuild) while it is unreachable.
        return JSONResponse(
            error_body("broker_unavailable", "the event broker cannot be reached; try again"),
            503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return JSONResponse(
            error_body("value_out_of_range", "a date or number is too far out to compute with"), 422
        )

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if _is_data_error(exc):
            return _out_of_range()
        # The database cut this connection (restart, failover, terminated backend), or gave
        # none (too many clients): nothing was committed, and trying again works.
        if not (exc.connection_invalidated or _is_unreachable(exc)):
            raise exc
        return JSONResponse(
            error_body("database_unavailable", "the database connection was lost; try again"),
            503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )
