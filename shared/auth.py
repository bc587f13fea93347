"""Who is calling: staff with a bearer JWT (role, department) or a channel adapter with an
API key. Development signs tokens with a local secret (HS256); production verifies RS256
tokens against the identity provider's JWKS URL. Expiry, audience and issuer are checked."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
import jwt
from fastapi import Request

from shared.clock import now
from shared.errors import Forbidden, Unauthorized
from shared.events.envelope import Actor
from shared.settings import Settings, get_settings

Role = Literal["channel", "agent", "handler", "dept_head", "supervisor", "admin", "ops"]
STAFF_ROLES: tuple[Role, ...] = ("agent", "handler", "dept_head", "supervisor", "admin", "ops")


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "channel"]
    id: str
    role: Role
    department: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(kind=self.kind, id=self.id)


def issue_staff_token(
    sub: str,
    role: Role,
    department: str | None = None,
    *,
    ttl: timedelta = timedelta(hours=12),
    settings: Settings | None = None,
) -> str:
    """Development tokens only: production tokens come from the identity provider."""
    s = settings or get_settings()
    issued = now()
    claims = {
        "sub": sub,
        "role": role,
        "department": department,
        "aud": s.jwt_audience,
        "iss": s.jwt_issuer,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, s.jwt_secret, algorithm="HS256")


_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def verify_staff_token(token: str, settings: Settings | None = None) -> Principal:
    s = settings or get_settings()
    try:
        if s.jwt_jwks_url:
            client = _jwks_clients.setdefault(s.jwt_jwks_url, jwt.PyJWKClient(s.jwt_jwks_url))
            key = client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token, key, algorithms=["RS256"], audience=s.jwt_audience, issuer=s.jwt_issuer
            )
        else:
            claims = jwt.decode(
                token,
                s.jwt_secret,
                algorithms=["HS256"],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    role = claims.get("role")
    if role not in STAFF_ROLES:
        raise Unauthorized("token has no valid staff role")
    return Principal(kind="staff", id=str(claims["sub"]), role=role, department=claims.get("department"))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# A service that accepts channel adapters supplies how to look an API key up.
ApiKeyLookup = Callable[[Request, str], Awaitable[Principal | None]]


class RemoteApiKeyLookup:
    """For services that do not hold the keys: ask intake who a key belongs to, and keep
    the answer for a short while (a revoked key stops working within that time)."""

    def __init__(self, intake_url: str, ttl_seconds: float) -> None:
        self._url = intake_url.rstrip("/") + "/v1/channel-keys/whoami"
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def __call__(self, request: Request, key: str) -> Principal | None:
        digest = hash_api_key(key)
        clock = time.monotonic()
        cached = self._cache.get(digest)
        if cached and cached[0] > clock:
            return cached[1]
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(self._url, headers={"X-API-Key": key})
        if response.status_code == 200:
            principal: Principal | None = Principal(
                kind="channel", id=response.json()["channel"], role="channel"
            )
        elif response.status_code == 401:
            principal = None
        else:
            raise Unauthorized(f"cannot check the API key now (intake answered {response.status_code})")
        self._cache[digest] = (clock + self._ttl, principal)
        return principal


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return verify_staff_token(header[7:].strip())
    api_key = request.headers.get("x-api-key")
    lookup: ApiKeyLookup | None = getattr(request.app.state, "api_key_lookup", None)
    if api_key and lookup is not None:
        principal = await lookup(request, api_key)
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        return principal
    raise Unauthorized(
        "authentication required: a bearer token or an X-API-Key", headers={"WWW-Authenticate": "Bearer"}
    )


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the caller, if their role is one of `roles`."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role} may not call this endpoint")
        return principal

    return dependency
