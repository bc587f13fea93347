"""Production tokens: RS256, verified against the identity provider's JWKS URL (served here
by a real HTTP server on loopback), with expiry, audience and issuer checked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import verify_staff_token
from shared.clock import timestamp
from shared.errors import Unauthorized
from shared.settings import Settings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


def token(key: rsa.RSAPrivateKey = KEY, **claims: object) -> str:
    now = int(timestamp())
    base = {
        "sub": "zhang.wei",
        "role": "supervisor",
        "aud": "service-requests",
        "iss": "https://idp.example",
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def test_rs256_tokens_from_the_identity_provider(jwks_url: str) -> None:
    settings = Settings(jwt_jwks_url=jwks_url, jwt_issuer="https://idp.example")
    principal = verify_staff_token(token(), settings)
    assert (principal.id, principal.role) == ("zhang.wei", "supervisor")
    for bad in (
        token(OTHER),
        token(exp=int(timestamp()) - 10),
        token(aud="someone-else"),
        token(iss="https://evil.example"),
        token(role="emperor"),
    ):
        with pytest.raises(Unauthorized):
            verify_staff_token(bad, settings)
    hs256 = jwt.encode(
        {
            "sub": "x",
            "role": "admin",
            "aud": "service-requests",
            "iss": "https://idp.example",
            "exp": int(timestamp()) + 60,
        },
        "a-guessed-shared-secret-of-32-bytes!",
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        verify_staff_token(hs256, settings)  # no algorithm confusion
