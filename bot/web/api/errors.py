"""Every failure of an API route is JSON `{"error": "…"}` with a fitting status, never a trace.

`ApiRoute` is the route class of the API router only, so the Slack endpoints and any other
router in the app keep FastAPI's and Starlette's own behaviour. It catches what a route or
its dependencies raise: our `ApiError`, FastAPI's validation errors (a bad query parameter
is a 400 with a sentence, not a 422 list), a database that cannot serve us (503, see
`bot.store.engine.unavailable`), and, as a last resort, anything else (500, logged with its
traceback, the body says nothing internal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from bot.store.engine import describe_problem, unavailable

log = logging.getLogger(__name__)

DB_UNAVAILABLE = "the database is unavailable; try again later"


class ApiError(Exception):
    """Answer `status` with `{"error": message}` (and `headers`, e.g. WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """orjson, as `prm kpi --format json` uses: the same floats, and fast for 10,000 items."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
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
                if unavailable(exc):
                    log.warning(
                        "API %s: database unavailable (%s)",
                        request.url.path,
                        describe_problem(exc),
                    )
                    return error_response(503, DB_UNAVAILABLE)
                log.exception("API %s: database error", request.url.path)
                return error_response(500, "internal error (logged on the server)")
            except Exception:
                log.exception("API %s: unexpected error", request.url.path)
                return error_response(500, "internal error (logged on the server)")

        return guarded
