"""A TCP proxy a test puts between the app and a server, which can black-hole the traffic.

A black hole is not a crash: connections stay open and nobody is told anything, bytes simply
stop arriving (a half-open connection, a network partition, a firewall dropping packets). New
connections are accepted but go nowhere either. `resume` lets everything flow again, the bytes
held meanwhile included, as TCP delivers them once a partition heals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

CHUNK = 65536


class BlackHoleProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, scheme: str = "redis", path: str = "/0") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def black_hole(self) -> None:
        """From now on nothing is forwarded either way; every connection stays open."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in tuple(self._pumps):
            pump.cancel()
        for writer in tuple(self._writers):
            writer.close()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        self._writers.add(client_out)
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()
            return
        self._writers.add(server_out)
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            pump = asyncio.create_task(self._pump(source, sink, (client_out, server_out)))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        both: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            while True:
                await self._flowing.wait()
                data = await source.read(CHUNK)
                if not data:
                    break
                # Bytes read just before the black hole began wait here with the rest.
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side hung up (not a black hole): hang up the other, as TCP would.
            for writer in both:
                self._writers.discard(writer)
                with contextlib.suppress(OSError, RuntimeError):
                    writer.close()


@asynccontextmanager
async def black_hole_proxy(target_port: int) -> AsyncIterator[BlackHoleProxy]:
    proxy = BlackHoleProxy(target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
