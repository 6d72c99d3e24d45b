"""One conditional, bounded GET of an outside calendar.

At most MAX_BYTES of body and FETCH_SECONDS in all; ETag / Last-Modified of the last answer sent
back, so an unchanged feed costs a 304. Redirects are followed by hand (at most a few), each
hop checked like the first. Every failure comes back as a short message, never an exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from server.calendars.public_urls import check_public_host, check_url_syntax
from server.domain.rules import RuleBroken

MAX_BYTES = 5 * 1024 * 1024
FETCH_SECONDS = 20.0
MAX_REDIRECTS = 3
USER_AGENT = "Appointly busy-calendar sync"


@dataclass(frozen=True)
class Fetched:
    """What one fetch gave: a new body (with its validators), "not modified", or an error."""

    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None


async def fetch_calendar(
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    public_only: bool,
) -> Fetched:
    """GET `url` (only public addresses when `public_only`), conditionally."""
    try:
        async with asyncio.timeout(FETCH_SECONDS):
            return await _fetch(url, etag, last_modified, public_only)
    except TimeoutError:
        return Fetched(error=f"No answer within {FETCH_SECONDS:.0f} seconds.")
    except RuleBroken as rule:
        return Fetched(error=rule.message)
    except httpx.HTTPError as error:
        return Fetched(error=f"Could not fetch the calendar ({type(error).__name__}).")


async def _fetch(
    url: str, etag: str | None, last_modified: str | None, public_only: bool
) -> Fetched:
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(FETCH_SECONDS)
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=timeout, trust_env=False
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url_syntax(url)
            if public_only:
                await check_public_host(url)
            async with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code == 304:
                    return Fetched(not_modified=True, etag=etag, last_modified=last_modified)
                if response.status_code != 200:
                    return Fetched(error=f"The calendar answered HTTP {response.status_code}.")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_BYTES:
                    return Fetched(error=_too_big())
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_BYTES:
                        return Fetched(error=_too_big())
                return Fetched(
                    body=bytes(body),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
    return Fetched(error="Too many redirects.")


def _too_big() -> str:
    return f"The calendar is larger than {MAX_BYTES // (1024 * 1024)} MB."
