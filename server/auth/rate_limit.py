"""Rate limits shared by every process through Redis counters that expire: failed sign-ins,
and how often a link (password reset, e-mail verification) may be asked for."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from server.edge.errors import APIError

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_IP = 50


@dataclass(frozen=True)
class LoginThrottle:
    redis: Redis
    ip: str
    email: str

    @property
    def _keys(self) -> tuple[tuple[str, int], ...]:
        return (
            (f"appointly:login-failures:account:{self.email.lower()}", MAX_FAILURES_PER_ACCOUNT),
            (f"appointly:login-failures:ip:{self.ip}", MAX_FAILURES_PER_IP),
        )

    async def check(self) -> None:
        """Raise 429 while either the account or the address has failed too often."""
        for key, limit in self._keys:
            failures = int(await self.redis.get(key) or 0)
            if failures >= limit:
                raise await _rate_limited(
                    self.redis, key, "Too many failed sign-in attempts. Try again later."
                )

    async def record_failure(self) -> None:
        await _count(self.redis, [key for key, _ in self._keys], WINDOW_SECONDS)

    async def record_success(self) -> None:
        await self.redis.delete(self._keys[0][0])


@dataclass(frozen=True)
class RequestQuota:
    """At most `limit` requests per key in a window that starts with the first one. Each key is
    checked and counted at once."""

    redis: Redis
    keys: tuple[tuple[str, int], ...]
    window_seconds: int
    message: str = "Too many requests for this. Try again later."

    async def spend(self) -> None:
        """Count one request against every key; 429 `rate_limited` if any is over its limit."""
        counts = await _count(self.redis, [key for key, _ in self.keys], self.window_seconds)
        for (key, limit), count in zip(self.keys, counts, strict=True):
            if count > limit:
                raise await _rate_limited(self.redis, key, self.message)


async def _count(redis: Redis, keys: list[str], window_seconds: int) -> list[int]:
    """Add one to each key's count in its window; the counts after that."""
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            # SET NX starts the window on the first count (EXPIRE NX needs Redis 7).
            pipe.set(key, 0, ex=window_seconds, nx=True)
            pipe.incr(key)
        results = await pipe.execute()
    return [int(count) for count in results[1::2]]


async def _rate_limited(redis: Redis, key: str, message: str) -> APIError:
    """429 with Retry-After: when `key`'s window ends."""
    retry_after = max(int(await redis.ttl(key)), 1)
    return APIError(429, "rate_limited", message, headers={"Retry-After": str(retry_after)})
