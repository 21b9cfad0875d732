"""Runs localstripe (a stateful fake Stripe server, from PyPI) on 127.0.0.1
only, at the port given: localstripe's own entry point listens on every
interface. For examples/service/tests/stripe.rs; scripts/test.sh installs
localstripe in a virtual environment."""
import socket
import sys

from aiohttp import web
from localstripe.server import app

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
web.run_app(app, sock=sock, print=None, access_log=None)
