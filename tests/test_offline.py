"""The suite needs nothing outside itself: the socket guard (tests/offline) in the test
process and in every process a test starts."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import labreport

ELSEWHERE = ("192.0.2.1", 80)  # TEST-NET-1: an address no machine has


def test_a_connection_beyond_this_machine_is_refused_and_recorded(offline):
    with socket.socket() as sock, pytest.raises(RuntimeError, match="socket guard") as refused:
        sock.connect(ELSEWHERE)
    assert type(refused.value).__name__ == "NetworkUsed"
    with pytest.raises(RuntimeError, match="looking up example.com"):
        socket.getaddrinfo("example.com", 443)
    tried = offline.new()  # taken here, so this test passes
    assert len(tried) == 2 and "connection to 192.0.2.1:80 refused" in tried[0], tried


def test_a_refusal_the_code_swallows_still_reaches_the_test(offline):
    swallowing = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80))\nexcept Exception as e:\n    print(type(e).__name__)"
    result = subprocess.run([sys.executable, "-c", swallowing], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "NetworkUsed", result.stderr
    assert ["connection to 192.0.2.1:80 refused" in line for line in offline.new()] == [True]


def test_the_cli_asked_to_download_is_stopped_before_the_network(tmp_path, offline):
    """What test_handin's doctor test did: an init folder downloads CIFAR-10 when it is missing."""
    labreport(tmp_path, "init", "mine", "--name", "A", "--id", "1", "--class", "C", check=0)
    result = labreport(tmp_path / "mine", "doctor", "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "NetworkUsed: looking up www.cs.toronto.edu refused" in result.stderr
    assert ["looking up www.cs.toronto.edu refused" in line for line in offline.new()] == [True]


def test_loopback_and_this_machine_stay_open():
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname()):
            server.accept()[0].close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as route:  # how Ray finds this node's address
        route.connect(("8.8.8.8", 80))
        own = route.getsockname()[0]
    with socket.create_server((own, 0)) as server, socket.create_connection(server.getsockname()):
        server.accept()[0].close()
