"""Servers on loopback for the browser tests: a TCP proxy whose requests can be held back
(lie-fi), and a small base-map tile server with cache headers.

Lie-fi is a network that is connected but answers late or never. The proxy passes bytes both
ways between the browser and the live server; while ``delay_s`` is set, every chunk the browser
sends waits that long first (so every request is answered at least that late). A real socket
pair, not a mock: the page, its service worker and Chromium see a slow server.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class DelayingProxy:
    """``with DelayingProxy(upstream) as proxy:`` serves on ``proxy.url``; set ``delay_s``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay_s = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> DelayingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        for s in list(self._sockets):
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, delayed: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if delayed and self.delay_s:
                    time.sleep(self.delay_s)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 1 × 1 PNG of one colour (the browser scales it to the 256 px tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


class TileServer:
    """A base-map tile server on loopback: ``with TileServer() as tiles:`` serves PNG tiles on
    ``tiles.template`` (``{z}/{x}/{y}.png``), with CORS, as a real tile server does.

    Its cache headers follow the tile: a tile of even ``x`` is sent ``Cache-Control: no-store``,
    one of odd ``x`` ``max-age`` of ``max_age_s``. ``requests`` lists what was asked for:
    ``(path, referer, origin)``.
    """

    def __init__(self, *, max_age_s: int = 3600) -> None:
        self.max_age_s = max_age_s
        self.requests: list[tuple[str, str | None, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                owner.requests.append(
                    (self.path, self.headers.get("Referer"), self.headers.get("Origin"))
                )
                parts = self.path.lstrip("/").removesuffix(".png").split("/")
                if len(parts) != 3 or not all(p.isdigit() for p in parts):
                    self.send_error(404)
                    return
                x = int(parts[1])
                body = _png((200, 200, 190) if x % 2 else (190, 200, 210))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header(
                    "Cache-Control", f"max-age={owner.max_age_s}" if x % 2 else "no-store"
                )
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.template = self.url + "/{z}/{x}/{y}.png"

    def __enter__(self) -> TileServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        """The tile paths asked for so far, in order."""
        return [r[0] for r in self.requests]
