"""A real HTTP server on 127.0.0.1 in a thread, for the tests of outgoing requests (documents
by URL, webhook deliveries): each path answers what the test sets, and every request is kept."""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Send the body without a Content-Length, then this many more bytes (an endless stream
    # that the client must stop reading).
    stream_extra: int = 0


@dataclass
class LocalServer:
    base_url: str
    answers: dict[str, Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def received(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.seen.append(Seen(self.command, self.path, headers, body))
            answer = server.answers.get(self.path, Answer(404, b"not here"))
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.stream_extra:
                self.send_header("Connection", "close")
                self.end_headers()
                _stream(self.wfile.write, answer.body, answer.stream_extra)
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return None  # quiet tests

    return Handler


def _stream(write: Callable[[bytes], object], head: bytes, extra: int) -> None:
    try:
        write(head)
        chunk = b"\n" * 65536
        for _ in range(0, extra, len(chunk)):
            write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        return  # the client stopped reading, as it should


@contextmanager
def local_server(tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    """A server on an ephemeral port of 127.0.0.1; https with `tls` (see self_signed)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state = LocalServer(f"{scheme}://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(state)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="local-http", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def self_signed(hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str]]:
    """(the server's context, a client context that trusts only this certificate, the server
    names clients asked for by SNI) for a certificate valid for `hostname` alone."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tempfile.mkdtemp(prefix="tls-")
    cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    asked: list[str] = []

    def remember(_sock: object, server_name: str | None, _ctx: object) -> None:
        asked.append(server_name or "")

    server.sni_callback = remember
    return server, ssl.create_default_context(cafile=cert_path), asked
