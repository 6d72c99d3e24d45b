"""Login throttling shared by every process through Redis counters that expire."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from server.infra.errors import APIError

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
                retry_after = max(int(await self.redis.ttl(key)), 1)
                raise APIError(
                    429,
                    "rate_limited",
                    "Too many failed sign-in attempts. Try again later.",
                    headers={"Retry-After": str(retry_after)},
                )

    async def record_failure(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key, _ in self._keys:
                # SET NX starts the window on the first failure (EXPIRE NX needs Redis 7).
                pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def record_success(self) -> None:
        await self.redis.delete(self._keys[0][0])
