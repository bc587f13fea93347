from __future__ import annotations

import json

from shared.auth import issue_staff_token
from shared.limits import RateLimiter, caller_key, json_depth
from shared.settings import Settings


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": 1}') == 1
    assert json_depth(json.dumps({"a": [{"b": [1, 2]}]}).encode()) == 4
    assert json_depth(b'{"a": "[[[[{{{{", "b": "\\"[[["}') == 1
    assert json_depth(b"[" * 50 + b"]" * 50) == 50


def test_callers_are_their_credentials_so_a_forged_token_cannot_spend_anothers_allowance() -> None:
    token = issue_staff_token("agent-7", "agent")
    forged = issue_staff_token("agent-7", "agent", settings=Settings(jwt_secret="x" * 40))
    assert caller_key(f"Bearer {token}", None) == caller_key(f"bearer  {token} ", None)
    assert caller_key(f"Bearer {token}", None) != caller_key(f"Bearer {forged}", None)
    assert caller_key(None, "dev-web-key").startswith("key:")
    assert caller_key(None, None) is None


def test_token_bucket_allows_the_rate_and_says_when_to_retry() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.retry_after("k", now=100.0) for _ in range(3)] == [None, None, None]
    wait = limiter.retry_after("k", now=100.0)
    assert wait is not None and 19 < wait <= 20
    assert limiter.retry_after("other", now=100.0) is None
    assert limiter.retry_after("k", now=121.0) is None  # one token back after 20 s
    assert RateLimiter(per_minute=0).retry_after("k") is None
