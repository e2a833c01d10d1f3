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
    monkeypatch.setattr(server, "make_server", lambda sock: _Interrupted())
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
    monkeypatch.setattr(server, "make_server", lambda sock: _Interrupted())         # bind here
    assert main(["playground", "--host", "0.0.0.0", "--no-browser"]) == 0
    assert "other machines can reach this page" in capsys.readouterr().err


def test_without_the_extra_it_says_what_to_install(monkeypatch, capsys):
    import sys as system

    from deltaprop.cli import main

    monkeypatch.delitem(system.modules, "deltaprop.playground.server", raising=False)
    monkeypatch.setitem(system.modules, "uvicorn", None)       # as if not installed
    assert main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltaprop playground: error: the playground needs starlette and "
                          "uvicorn") and "pip install 'deltaprop[playground]'" in err
