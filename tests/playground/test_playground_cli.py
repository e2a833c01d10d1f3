"""``deltaprop playground``: prints its URL, serves the page, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
SRC = str(Path(__file__).parents[2] / "src")


def start(*flags: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "deltaprop", "playground", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_serves_then_stops_on_ctrl_c_with_exit_0():
    process = start("--no-browser", "--port", "0")
    try:
        line = process.stdout.readline()
        assert line.startswith("deltaprop playground: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=20) as response:
            assert b"deltaprop playground" in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_port_in_use_is_one_clear_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        process = start("--no-browser", "--port", str(port))
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.startswith(f"deltaprop playground: error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in err


def test_port_out_of_range_is_refused(capsys):
    from deltaprop.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["playground", "--port", "70000"])
    assert stop.value.code == 2
    assert "--port: must be an integer in [0, 65535], got '70000'" in capsys.readouterr().err


class _Interrupted:
    """A server that is stopped by Ctrl-C as soon as it starts."""

    def run(self, sockets):
        self.sockets = sockets
        raise KeyboardInterrupt


@pytest.mark.parametrize("flags, opened", [([], True), (["--no-browser"], False)])
def test_opens_the_browser_unless_told_not_to(monkeypatch, capsys, flags, opened):
    import webbrowser

    from deltaprop.cli import main
    from deltaprop.playground import server

    urls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", urls.append)
    monkeypatch.setattr(server, "make_server", lambda sock, **names: _Interrupted())
    assert main(["playground", "--port", "0", *flags]) == 0
    out = capsys.readouterr().out
    url = out.split()[2]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
    assert urls == ([url] if opened else [])
    assert out.endswith("deltaprop playground: stopped\n")


def test_a_host_other_machines_reach_is_said(monkeypatch, capsys):
    from deltaprop.cli import main
    from deltaprop.playground import server

    bind = server.bind
    monkeypatch.setattr(server, "bind", lambda host, port: bind("127.0.0.1", 0))   # tests
    monkeypatch.setattr(server, "make_server", lambda sock, **names: _Interrupted())  # bind here
    assert main(["playground", "--host", "0.0.0.0", "--no-browser"]) == 0
    assert "other machines can reach this page" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["", " 127.0.0.1"])
def test_an_empty_host_is_refused_not_every_interface(monkeypatch, capsys, host):
    """bind(("", port)) would listen on every interface: an empty --host is an error."""
    from deltaprop.cli import main
    from deltaprop.playground import server

    monkeypatch.setattr(server, "make_server", lambda sock, **names: _Interrupted())
    try:
        code = main(["playground", "--host", host, "--no-browser"])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert "--host: must be an address or a host name" in capsys.readouterr().err


def test_a_loopback_address_is_not_said_to_reach_other_machines(monkeypatch, capsys):
    from deltaprop.cli import main
    from deltaprop.playground import server

    monkeypatch.setattr(server, "make_server", lambda sock, **names: _Interrupted())
    assert main(["playground", "--host", "127.0.0.2", "--no-browser"]) == 0
    assert "other machines" not in capsys.readouterr().err


def test_the_page_answers_to_the_host_name_it_was_started_with():
    """--host mybox.lan: the browser sends Host: mybox.lan:PORT (was: refused with 403)."""
    import asyncio

    from deltaprop.playground import server

    sock = server.bind("127.0.0.1", 0)
    try:
        app = server.make_server(sock, names={"mybox.lan"}).config.app
    finally:
        sock.close()
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    for host in (b"mybox.lan:8765", b"other.lan:8765"):
        scope = {"type": "http", "method": "GET", "path": "/api/options", "raw_path":
                 b"/api/options", "query_string": b"", "headers": [(b"host", host)],
                 "root_path": "", "scheme": "http", "server": ("127.0.0.1", 8765)}
        asyncio.run(app(scope, receive, send))
    assert statuses == [200, 403]


def test_without_the_extra_it_says_what_to_install(monkeypatch, capsys):
    import sys as system

    from deltaprop.cli import main

    monkeypatch.delitem(system.modules, "deltaprop.playground.server", raising=False)
    monkeypatch.setitem(system.modules, "uvicorn", None)       # as if not installed
    assert main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltaprop playground: error: the playground needs starlette and "
                          "uvicorn") and "pip install 'deltaprop[playground]'" in err
