"""Limits against hostile or runaway clients: JSON nesting depth, and request rates per API
key and per staff member (token buckets, per process)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def caller_key(authorization: str | None, api_key: str | None) -> str | None:
    """Who is calling, for rate limits: a hash of the credential itself (bearer token or API
    key). Not the token's unverified subject: a forged token naming somebody else must not
    use up that person's allowance; it only limits itself."""
    if authorization and authorization.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:20]
    if api_key:
        return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:20]
    return None


@dataclass
class RateLimiter:
    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float | None = None) -> float | None:
        """None if the call may go ahead (and takes a token), else seconds to wait."""
        if self.per_minute <= 0:
            return None
        moment = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        if len(self._buckets) > 100_000:
            self._prune(moment, rate)
        tokens, last = self._buckets.get(key, (float(self.per_minute), moment))
        tokens = min(float(self.per_minute), tokens + (moment - last) * rate)
        if tokens < 1:
            self._buckets[key] = (tokens, moment)
            return (1 - tokens) / rate
        self._buckets[key] = (tokens - 1, moment)
        return None

    def _prune(self, moment: float, rate: float) -> None:
        """Forget the callers whose bucket has filled up again (a flood of distinct keys or
        addresses must not grow this dict without end)."""
        full = [k for k, (t, last) in self._buckets.items() if t + (moment - last) * rate >= self.per_minute]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > 100_000:
            self._buckets.clear()
