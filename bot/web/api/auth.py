"""The API's one credential: `Authorization: Bearer $PRM_API_TOKEN`.

Never open by default: without PRM_API_TOKEN every route answers 503 and says how to turn
the API on. The comparison hashes both sides first, so it takes the same time whatever the
token's length or its first wrong character.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.core.settings import Settings
from bot.web.api.errors import ApiError

DISABLED = "the API is disabled: set PRM_API_TOKEN"
MISSING = "missing bearer token: send the header Authorization: Bearer <PRM_API_TOKEN>"
WRONG = "wrong bearer token"

# auto_error=False: a missing or non-Bearer header comes through as None, so we answer 401
# in our own JSON shape (and 503 first when the API is off).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="The value of PRM_API_TOKEN.",
)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def token_guard(settings: Settings) -> Callable[..., Awaitable[None]]:
    """A dependency that lets a request through only with the configured bearer token.

    Surrounding whitespace in the setting is ignored (a token read from a file often ends
    in a newline); a blank setting disables the API.
    """
    expected = settings.api_token.strip()
    expected_digest = _digest(expected) if expected else b""

    async def require_token(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        if not expected:
            raise ApiError(503, DISABLED)
        if credentials is None or not credentials.credentials:
            raise ApiError(401, MISSING, {"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(_digest(credentials.credentials), expected_digest):
            raise ApiError(401, WRONG, {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    return require_token
