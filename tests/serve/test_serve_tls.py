#!/usr/bin/env python3
"""test_serve_tls.py - `npswatch serve --tls-cert F --tls-key F` (libmicrohttpd's GnuTLS
support): a self-signed certificate for 127.0.0.1 is made here with the openssl command
(Debian package openssl; the test is skipped with exit 77 when it is missing); a client that
trusts it gets /health and stores a submission over HTTPS; a client that does not trust it is
refused by certificate verification; plain HTTP to the TLS port gets no answer; a missing key
or a key that does not belong to the certificate stops the service at start with exit 1.
"""
import os
import shutil
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servelib  # noqa: E402

a = servelib.args()
if not shutil.which("openssl"):
    print("SKIP: the openssl command is needed to make a test certificate (apt-get install openssl)")
    sys.exit(servelib.SKIP)
F = servelib.Failures()
hub = servelib.Hub(a, (("Lab A", "DE"),))
cert, key = os.path.join(hub.dir, "cert.pem"), os.path.join(hub.dir, "key.pem")
r = servelib.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                  "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
if r.returncode:
    print("FAIL: openssl req: " + r.stderr)
    sys.exit(1)
hub.start("--tls-cert", cert, "--tls-key", key)
hub.tls = cert
F.check(hub.healthy(), "GET /health over HTTPS with the certificate trusted")
rec = servelib.msp_records(os.path.join(hub.data, "examples", "lab_a.msp"))[0]
st, out = hub.submit("Lab A", rec.encode(), "tls.msp")
F.eq(st, 201, "a submission over HTTPS")
# a client that does not trust the certificate
ctx = ssl.create_default_context()
try:
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
            pass
    F.check(False, "an untrusted self-signed certificate must fail verification")
except ssl.SSLCertVerificationError:
    pass
except (ssl.SSLError, OSError) as e:
    F.check(False, "expected a certificate verification error, got %r" % e)
# plain HTTP on the TLS port
with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as s:
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        got = s.recv(200)
    except (socket.timeout, ConnectionResetError):
        got = b""
    F.check(b"200 OK" not in got, "plain HTTP to the TLS port is not answered with 200: %r" % got[:60])
F.check(hub.healthy(), "HTTPS still answers after a plain-HTTP client")
F.eq(hub.stop(), 0, "SIGTERM: exit 0")
hub.tls = None
# bad settings stop the service at start
r = servelib.run([hub.bin, "serve", "--ledger", hub.ledger, "-l", hub.lib, "--listen", "127.0.0.1:0",
                  "--tls-cert", cert, "--tls-key", os.path.join(hub.dir, "missing.pem")], timeout=60)
F.eq(r.returncode, 1, "a missing key file: exit 1")
F.check("missing.pem" in r.stderr, "the message names the missing file: %r" % r.stderr[-200:])
other = os.path.join(hub.dir, "other.pem")
servelib.run(["openssl", "genrsa", "-out", other, "2048"])
r = servelib.run([hub.bin, "serve", "--ledger", hub.ledger, "-l", hub.lib, "--listen", "127.0.0.1:0",
                  "--tls-cert", cert, "--tls-key", other], timeout=60)
F.check(r.returncode != 0, "a key that does not belong to the certificate: the service does not start")
r = servelib.run([hub.bin, "serve", "--ledger", hub.ledger, "-l", hub.lib, "--tls-cert", cert], timeout=60)
F.eq(r.returncode, 1, "--tls-cert without --tls-key: usage error")
F.done("test_serve_tls")
