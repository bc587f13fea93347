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
from jwt.types import Options

from shared.clock import now, timestamp
from shared.errors import ApiError, Forbidden, Unauthorized
from shared.events.envelope import Actor
from shared.settings import Settings, get_settings

Role = Literal["channel", "agent", "handler", "dept_head", "supervisor", "admin", "ops", "dispatcher"]
STAFF_ROLES: tuple[Role, ...] = ("agent", "handler", "dept_head", "supervisor", "admin", "ops", "dispatcher")


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "channel"]
    id: str
    role: Role
    department: str | None = None
    # The department the route's policy narrows this caller to (shared.policy `authorized`
    # sets it from the table); None: not narrowed, the caller sees every department's.
    scoped_to: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(kind=self.kind, id=self.id)

    def sees(self, *departments: str | None) -> bool:
        """Whether the policy's department scope admits something these departments take
        part in (always, for a caller the route does not narrow)."""
        return self.scoped_to is None or self.scoped_to in departments


def issue_staff_token(
    sub: str,
    role: Role,
    department: str | None = None,
    *,
    ttl: timedelta = timedelta(hours=12),
    settings: Settings | None = None,
) -> str:
    """Development tokens only: production tokens come from the identity provider. A service
    signs with its own settings; tests and `make` targets may leave them out and sign with
    the process's (a development helper, not business code)."""
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
# Expiry and not-before are checked against the platform's clock (shared.clock), which a test
# or a rehearsal may pin, rather than PyJWT's own reading of the wall clock.
_TIME_CLAIMS_OURS: Options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
_SKEW_SECONDS = 30  # an identity provider's clock may run a little ahead of ours


def _check_time_claims(claims: dict[str, object]) -> None:
    at = timestamp()
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise jwt.InvalidTokenError(f"{name} must be a number")
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if isinstance(exp, int | float) and exp <= at:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if isinstance(nbf, int | float) and nbf > at + _SKEW_SECONDS:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if isinstance(iat, int | float) and iat > at + _SKEW_SECONDS:
        raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")


def verify_staff_token(token: str, s: Settings) -> Principal:
    try:
        if s.jwt_jwks_url:
            client = _jwks_clients.setdefault(s.jwt_jwks_url, jwt.PyJWKClient(s.jwt_jwks_url))
            key = client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options=_TIME_CLAIMS_OURS,
            )
        else:
            claims = jwt.decode(
                token,
                s.jwt_secret,
                algorithms=["HS256"],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options={**_TIME_CLAIMS_OURS, "require": ["exp", "sub", "aud", "iss"]},
            )
        _check_time_claims(claims)
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
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self._url, headers={"X-API-Key": key})
        except httpx.HTTPError as exc:
            raise ApiError(
                "cannot check the API key now (intake is not reachable); try again",
                status=503,
                code="key_check_unavailable",
                headers={"Retry-After": "1"},
            ) from exc
        if response.status_code == 200:
            principal: Principal | None = Principal(
                kind="channel", id=response.json()["channel"], role="channel"
            )
        elif response.status_code == 401:
            principal = None
        else:
            raise Unauthorized(f"cannot check the API key now (intake answered {response.status_code})")
        if len(self._cache) > 10_000:  # distinct unknown keys must not grow it without end
            self._cache = {k: v for k, v in self._cache.items() if v[0] > clock}
            if len(self._cache) > 10_000:
                self._cache.clear()
        self._cache[digest] = (clock + self._ttl, principal)
        return principal


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        # Checked against the settings of the runtime serving the request (shared.runtime).
        settings: Settings = request.app.state.runtime.settings
        return verify_staff_token(header[7:].strip(), settings)
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
