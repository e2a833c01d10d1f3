"""``deltaprop playground``: start the local backprop playground and open it in the browser.

The page trains a network live and, in step mode, shows one batch's forward and backward
pass a phase at a time: the equation in your notation, the shapes, the matrices.  It is
served on 127.0.0.1 (this machine only) unless ``--host`` says otherwise; Ctrl-C stops it.
Needs the playground extra: pip install 'deltaprop[playground]'.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import webbrowser

from . import CLIError

EXAMPLES = """\
examples:
  deltaprop playground
  deltaprop playground --port 8765 --no-browser
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 65535], got {text!r}")
    return value


def _host(text: str) -> str:
    """An address or a host name: not empty (an empty one would listen on every interface)."""
    if not text or text != text.strip():
        raise argparse.ArgumentTypeError("must be an address or a host name (127.0.0.1: this "
                                         f"machine only; 0.0.0.0: every interface), got {text!r}")
    return text


def _loopback(host: str) -> bool:
    """``host`` is this machine only: localhost or a loopback address (127.0.0.0/8, ::1)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:                                  # a name: it may resolve anywhere
        return False


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "playground", help="start the backprop playground (a local web page)",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", type=_host, default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=_port, default=0,
                        help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--no-browser", dest="browser", action="store_false",
                        help="print the address but do not open a browser")
    parser.set_defaults(run=run)


def run(args) -> int:
    try:
        from ..playground.server import bind, make_server, url_of
    except ImportError as error:
        raise CLIError(f"the playground needs starlette and uvicorn ({error}): "
                       "pip install 'deltaprop[playground]'") from None
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: "
                       f"{error.strerror or error}") from None
    url = url_of(sock)
    server = make_server(sock, names={args.host})  # the page may be reached by that name
    if not _loopback(args.host):
        print(f"deltaprop playground: note: listening on {args.host}: other machines can "
              "reach this page", file=sys.stderr)
    print(f"deltaprop playground: {url}  (Ctrl-C stops it)", flush=True)
    if args.browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:           # uvicorn re-raises the Ctrl-C after its clean stop
        pass
    finally:
        sock.close()
    print("deltaprop playground: stopped", flush=True)
    return 0
