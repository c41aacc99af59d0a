"""The test suite's socket guard: no test may reach the network.

tests/conftest.py installs it in the test processes and puts this folder on the
PYTHONPATH of every process they start, where Python imports it as
``sitecustomize`` at start-up: the CLI a test runs, a worker, a Ray cluster.
Looking up a host name other than this machine's, or a TCP connection to an
address that is not this machine's (loopback or one of its own interfaces),
raises `NetworkUsed` and is written to the log that conftest reads after each
test, so a test fails even where the code under test swallows the error. (A UDP
socket's connect sends nothing, only picks a route, as Ray does to find this
node's address; it stays allowed.)
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket

LOG_ENV = "LABREPORT_TEST_NETWORK_LOG"
GUARDED = (socket.AF_INET, socket.AF_INET6)


class NetworkUsed(RuntimeError):
    """A test tried to reach another machine (not an OSError: code that expects
    network errors must not quietly carry on)."""


@functools.cache
def on_this_machine(host: str) -> bool:
    """Loopback, or an address this machine can bind (one of its own interfaces)."""
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host in ("localhost", socket.gethostname())
    if ip.is_loopback or ip.is_unspecified:
        return True
    with socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


def refuse_connection(sock: socket.socket, address) -> None:
    if sock.family in GUARDED and sock.type == socket.SOCK_STREAM and not on_this_machine(str(address[0])):
        refuse(f"connection to {address[0]}:{address[1]}")


def refuse_lookup(host) -> None:
    """A name to resolve asks a DNS server; an address (what Ray passes) asks nobody."""
    name = host.decode() if isinstance(host, bytes) else host
    if not name or name in ("localhost", socket.gethostname()):
        return
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        refuse(f"looking up {name}")


def refuse(what: str) -> None:
    message = (
        f"{what} refused by the test suite's socket guard "
        f"(tests/offline/sitecustomize.py, process {os.getpid()}): the default tests never use the network"
    )
    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(message + "\n")
    raise NetworkUsed(message)


def install() -> None:
    if getattr(socket.socket, "guarded", False):
        return
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    getaddrinfo, gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def guarded_connect(self, address):
        refuse_connection(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        refuse_connection(self, address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        refuse_lookup(host)
        return getaddrinfo(host, *args, **kwargs)

    def guarded_gethostbyname(host):
        refuse_lookup(host)
        return gethostbyname(host)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo
    socket.gethostbyname = guarded_gethostbyname
    socket.socket.guarded = True  # type: ignore[attr-defined]


if os.environ.get(LOG_ENV):  # started by a test
    install()
