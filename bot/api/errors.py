"""Every failure of an API route is JSON `{"error": "…"}` with a fitting status, never a trace.

`ApiRoute` is the route class of the API router only, so the Slack endpoints and any other
router in the app keep FastAPI's and Starlette's own behaviour. It catches what a route or
its dependencies raise: our `ApiError`, FastAPI's validation errors (a bad query parameter
is a 400 with a sentence, not a 422 list), a database that cannot serve us (503, see
`database_unavailable`), and, as a last resort, anything else (500, logged with its
traceback, the body says nothing internal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

DB_UNAVAILABLE = "the database is unavailable; try again later"

# PostgreSQL SQLSTATEs that say "the database cannot serve this app now", not "this request
# is wrong": classes 08 (connection), 28 (authorization), 53 (resources), 57 (operator
# intervention: shutdown, cancel), 58 (system/I/O), 3D (no such database); and two codes of
# class 42: 42501 (privileges revoked) and 42P01 (a table is gone: schema dropped or not
# migrated).
_PG_CLASSES = frozenset({"08", "28", "53", "57", "58", "3D"})
_PG_CODES = frozenset({"42501", "42P01"})
# SQLite result codes of the same kind: the file is gone, unreadable, not a database,
# corrupt, read-only, full, or locked for longer than the busy timeout.
_SQLITE_CODES = (
    "SQLITE_CANTOPEN",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_IOERR",
    "SQLITE_PERM",
    "SQLITE_READONLY",
    "SQLITE_AUTH",
    "SQLITE_FULL",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot serve us now (answer 503, try again later).

    True for a lost or refused connection, revoked privileges, missing tables, and a SQLite
    file that is gone, unreadable or not a database. False for errors of the request itself
    (an integrity or data error) and for anything that is not a database error: those are
    bugs or bad input, and keep their own handling.
    """
    if not isinstance(exc, SQLAlchemyError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg 3
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in _PG_CLASSES or sqlstate in _PG_CODES
    name = getattr(orig, "sqlite_errorname", None)
    return isinstance(name, str) and name.startswith(_SQLITE_CODES)


def database_problem(exc: BaseException) -> str:
    """One line naming what the database said, for a log: class and first line, no trace."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


class ApiError(Exception):
    """Answer `status` with `{"error": message}` (and `headers`, e.g. WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """orjson, as `prm kpi --format json` uses: the same floats, and fast for 10,000 items."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def describe_validation(errors: Any) -> str:
    """FastAPI's error list as one sentence: `query parameter 'kpi': Input should be …`."""
    parts: list[str] = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        where = {"query": "query parameter", "header": "header", "body": "body"}.get(
            loc[0] if loc else "", "request"
        )
        name = ".".join(loc[1:])
        parts.append(f"{where} {name!r}: {error.get('msg', 'invalid')}" if name else where)
    return "; ".join(parts) or "invalid request"


class ApiRoute(APIRoute):
    """An APIRoute whose handler turns every exception into a JSON error response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response(exc.status, exc.message, exc.headers)
            except RequestValidationError as exc:
                return error_response(400, describe_validation(exc.errors()))
            except HTTPException as exc:
                return error_response(exc.status_code, str(exc.detail), exc.headers)
            except SQLAlchemyError as exc:
                if database_unavailable(exc):
                    log.warning(
                        "API %s: database unavailable (%s)",
                        request.url.path,
                        database_problem(exc),
                    )
                    return error_response(503, DB_UNAVAILABLE)
                log.exception("API %s: database error", request.url.path)
                return error_response(500, "internal error (logged on the server)")
            except Exception:
                log.exception("API %s: unexpected error", request.url.path)
                return error_response(500, "internal error (logged on the server)")

        return guarded
