"""Request deadlines and body caps against real local socket servers (no mocks of the network).

A server that trickles its answer one byte at a time cannot keep a request alive past the
deadline (``--timeout``, connect + send + every read together); a body over its endpoint's cap is
abandoned while streaming (or refused from its ``Content-Length``) and never read whole.

No assertion is on wall time: the servers count the bytes they managed to send before the
client went away, which is what a deadline or a cap bounds.
"""

from __future__ import annotations

import socket
import threading
import tracemalloc

import pytest
from typer.testing import CliRunner

from hashdesk.cli import app
from hashdesk.sources.base import (
    BodyTooLargeError,
    DeadlineExceededError,
    RetryPolicy,
    SourceError,
)
from hashdesk.sources.esplora import MAX_PAGE_BYTES, MAX_TEXT_BYTES, EsploraSource
from hashdesk.store import Store


class SocketServer:
    """A raw TCP server on 127.0.0.1 that answers every connection with ``behaviour``.

    ``behaviour(conn)`` writes whatever it likes and returns the bytes it sent; the counts
    (one per connection) land in ``sent``.
    """

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sent: list[int] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            buf = b""
            while b"\r\n\r\n" not in buf:
                try:
                    part = conn.recv(4096)
                except OSError:
                    return
                if not part:
                    return
                buf += part
            self.sent.append(self.behaviour(conn, self._stop))

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        # the acceptor first: a connection it accepted just before the stop has its thread
        # listed only once the acceptor is done, and its count must be in ``sent``
        self._acceptor.join(30)
        for t in self._threads:
            t.join(30)


def trickle(response: bytes, every_s: float, limit: int):
    """Send ``response`` one byte per ``every_s`` seconds, at most ``limit`` bytes."""
    def behaviour(conn, stop) -> int:
        n = 0
        for b in response[:limit]:
            if stop.wait(every_s):
                break
            try:
                conn.sendall(bytes([b]))
            except OSError:
                break
            n += 1
        return n
    return behaviour


def flood(total: int, declared: int | None):
    """Send a 200 header (``Content-Length: declared`` if given) and ``total`` body bytes."""
    def behaviour(conn, stop) -> int:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += (f"Content-Length: {declared}\r\n" if declared is not None else "Connection: close\r\n").encode()
        head += b"\r\n"
        chunk = b"[" + b"0," * 32_767 + b"0"  # 64 KiB of a JSON list that never ends
        n = 0
        try:
            conn.sendall(head)
            while n < total and not stop.is_set():
                conn.sendall(chunk)
                n += len(chunk)
        except OSError:
            pass
        return n
    return behaviour


def stall(conn, stop) -> int:
    """Accept the request and send nothing until the client gives up."""
    stop.wait(10)
    return 0


@pytest.fixture()
def servers():
    made: list[SocketServer] = []

    def make(behaviour) -> SocketServer:
        made.append(SocketServer(behaviour))
        return made[-1]
    yield make
    for s in made:
        s.close()


# 1,000 digits: under the tip-height cap (1 KiB), about 54 s to send at 0.05 s a byte
SLOW_TIP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
            + b"1" * 1000)


def test_src_cli_sync_timeout_2_against_a_trickling_server_exits_2(servers, tmp_path):
    srv = servers(trickle(SLOW_TIP, 0.05, limit=len(SLOW_TIP)))
    db = tmp_path / "t.duckdb"
    res = CliRunner().invoke(app, ["--db", str(db), "sync", "--chain", "esplora", "--url", srv.url,
                                   "--timeout", "2"])  # default --retries 4
    srv.close()
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "DeadlineExceededError" in out and "within the 2 s deadline" in out
    assert "trickling" in out
    # one connection (a trickle is not retried), abandoned long before its 1,066 bytes: a 2 s
    # deadline allows about 40 bytes at this pace; 400 would be 20 s
    assert len(srv.sent) == 1 and 0 < srv.sent[0] < 400
    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM blocks") == 0


def test_src_deadline_bounds_trickled_headers_too(servers, make_client):
    srv = servers(trickle(SLOW_TIP, 0.05, limit=len(SLOW_TIP)))
    client = make_client(srv.url, policy=RetryPolicy(timeout_s=1.0, max_retries=3))
    with pytest.raises(DeadlineExceededError, match="within the 1 s deadline"):
        client.get_text("/blocks/tip/height", max_bytes=MAX_TEXT_BYTES)
    srv.close()
    assert len(srv.sent) == 1 and srv.sent[0] < 200  # headers were still arriving


def test_src_silent_server_times_out_and_is_retried(servers, make_client, sleeps):
    srv = servers(stall)
    client = make_client(srv.url, policy=RetryPolicy(timeout_s=0.5, max_retries=1))
    with pytest.raises(SourceError, match="failed after 2 attempts: timeout after 0.5 s"):
        client.get_text("/blocks/tip/height")
    srv.close()
    assert len(srv.sent) == 2 and sleeps == [0.5]  # nothing came: a retry may help


def test_src_body_over_the_cap_is_abandoned_while_streaming(servers, make_client):
    srv = servers(flood(300 * 2**20, declared=None))  # 300 MB, no Content-Length
    client = make_client(srv.url)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLargeError, match=f"cap of {MAX_PAGE_BYTES:,} bytes"):
            EsploraSource(client, flavor="mempool").blocks(0, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    srv.close()
    # the client read a little over 1 MiB; the server got rid of what the socket buffers held
    assert srv.sent[0] < 64 * 2**20
    assert peak < 16 * 2**20  # Python allocations while refusing a 300 MB body [bytes]


def test_src_declared_body_over_the_cap_is_refused_without_reading(servers, make_client):
    srv = servers(flood(300 * 2**20, declared=300 * 2**20))
    with pytest.raises(BodyTooLargeError, match="300,000,000|314,572,800") as exc:
        EsploraSource(make_client(srv.url), flavor="mempool").blocks(0, 0)
    assert "refused without reading it" in str(exc.value)
    srv.close()
    assert srv.sent[0] < 64 * 2**20


def test_src_cli_sync_body_over_the_cap_exits_2(servers, tmp_path):
    srv = servers(flood(300 * 2**20, declared=None))
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "c.duckdb"), "sync", "--chain", "mempool",
                                   "--url", srv.url, "--from-height", "0"])
    srv.close()
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "BodyTooLargeError" in out and "exceeds this endpoint's cap of 1,024 bytes" in out


def test_src_error_bodies_are_read_only_in_part(servers, make_client):
    srv = servers(_huge_error)
    client = make_client(srv.url, policy=RetryPolicy(max_retries=0))
    with pytest.raises(SourceError, match="HTTP 500"):
        client.get_text("/x")
    srv.close()
    assert srv.sent[0] < 64 * 2**20


def _huge_error(conn, stop) -> int:
    """HTTP 500 with a 300 MB body: only its first 4 KiB are read, for the message."""
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n")
    n = 0
    try:
        while n < 300 * 2**20 and not stop.is_set():
            conn.sendall(b"e" * 65536)
            n += 65536
    except OSError:
        pass
    return n


def test_src_redirects_are_followed_but_their_bodies_are_capped(servers, make_client, httpserver):
    httpserver.expect_request("/api/a").respond_with_data("", status=302,
                                                          headers={"Location": "/api/b"})
    httpserver.expect_request("/api/b").respond_with_data("ok")
    assert make_client(httpserver.url_for("/api")).get_text("/a") == "ok"

    def redirect_flood(conn, stop) -> int:
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /api/elsewhere\r\nConnection: close\r\n\r\n")
        n = 0
        try:
            while n < 300 * 2**20 and not stop.is_set():
                conn.sendall(b"r" * 65536)
                n += 65536
        except OSError:
            pass
        return n
    srv = servers(redirect_flood)
    with pytest.raises(BodyTooLargeError, match="redirect body exceeds 65,536 bytes"):
        make_client(srv.url).get_text("/x")
    srv.close()
    assert srv.sent[0] < 64 * 2**20
