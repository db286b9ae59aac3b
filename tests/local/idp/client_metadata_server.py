"""An https server on 127.0.0.1 serving OAuth client ID metadata documents (the MCP SDKs accept only https URLs for
them), with a self-signed certificate that is its own CA: give the CA file to the development authorization server
as ``client_metadata_ca_bundle``.

    with DocumentServer(tmp_path) as server:
        url = server.publish("/oauth/client.json", {"client_name": "x", "redirect_uris": [CALLBACK]})
        server.ca, server.fetched          # the CA file; the paths fetched so far
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path) -> tuple[str, str]:
    """(certificate file, key file) for 127.0.0.1, the certificate being its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class DocumentServer:
    """Serves ``documents`` (path → JSON) over https; ``root``, ``ca`` (the CA file) and ``fetched`` (paths)."""

    def __init__(self, directory: Path) -> None:
        self.ca, key = self_signed(directory)
        self.documents: dict[str, dict[str, Any]] = {}
        self.fetched: list[str] = []
        documents, fetched = self.documents, self.fetched

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fetched.append(self.path)
                body = json.dumps(documents.get(self.path, {})).encode()
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.root = f"https://127.0.0.1:{self._server.server_address[1]}"

    def publish(self, path: str, document: dict[str, Any]) -> str:
        """Serve ``document`` at ``path`` with its ``client_id`` set to its own URL; returns that URL."""
        url = self.root + path
        self.documents[path] = {"client_id": url, **document}
        return url

    def __enter__(self) -> DocumentServer:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
