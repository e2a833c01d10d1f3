"""A live playground server on 127.0.0.1 (a free port), stopped after each test module."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from deltaprop.playground.server import bind, make_server, url_of
from deltaprop.playground.state import Playground


@dataclass
class Live:
    url: str
    session: Playground

    def call(self, method: str, path: str, body: Any = None,
             raw: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
        """``(status, JSON or bytes)`` of one request; errors are answers, not exceptions."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for key, value in ({"X-Deltaprop-Playground": "1"} if headers is None
                           else headers).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, payload, kind = response.status, response.read(), \
                    response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, payload, kind = error.code, error.read(), error.headers.get(
                "Content-Type", "")
        return status, json.loads(payload) if kind.startswith("application/json") else payload


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    sock = bind("127.0.0.1", 0)
    session = Playground()
    server = make_server(sock, session)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):                      # up to 10 s for the server to start
            if server.started:
                break
            thread.join(0.05)
        assert server.started, "the playground server did not start"
        yield Live(url_of(sock), session)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
