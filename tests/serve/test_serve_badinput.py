#!/usr/bin/env python3
"""test_serve_badinput.py - bad input never crashes or blocks `npswatch serve` (docs/service.md,
"Limits"): fuzzed and malformed bodies (mutations of a real MSP record, random bytes, made with
a seeded generator), wrong content types, bad multipart, oversize bodies (Content-Length and
chunked), huge headers and URLs, garbage request lines, slow and idle clients, bad query values,
path traversal against the static files, and the per-token rate limit. Each answer must be the
documented 4xx with a JSON error (libmicrohttpd answers the header-size limits itself), the
service must answer the next good request, and at the end the ledger holds exactly the
submissions that were acknowledged with 201 and its audit chain verifies.

Every loop is bounded in count, every wait in time.
"""
import http.client
import json
import os
import random
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servelib  # noqa: E402

a = servelib.args()
F = servelib.Failures()
hub = servelib.Hub(a)
rec = servelib.msp_records(os.path.join(hub.data, "examples", "lab_a.msp"))[0]
MAXB = 65536
hub.start("--rate", "0", "--max-body", str(MAXB), "--max-header", "8192", "--timeout", "2",
          "--max-per-ip", "200")
acked = 0
good_n = 0


def good(what):
    """The service still answers: health, and a real record submitted by lab A."""
    global acked, good_n
    good_n += 1
    ok = hub.healthy()
    F.check(ok, "after %s: the service answers /health" % what)
    if not ok:
        return
    st, out = hub.submit("Lab A", servelib.renamed(rec, "good %d" % good_n).encode(), "good.msp")
    F.eq(st, 201, "after %s: a good submission is stored" % what)
    acked += st == 201


def expect(st_h_b, want, what, json_err=True):
    st, h, body = st_h_b
    F.eq(st, want, what)
    if json_err and st >= 400:
        try:
            e = json.loads(body)["error"]
            F.check(e["status"] == st and e["message"], what + ": JSON error with status and message")
        except (ValueError, KeyError, TypeError):
            F.check(False, what + ": not a JSON error body: %r" % body[:120])
    return st, h, body


def post_sub(body, ctype="text/plain", who="Lab A", name="x.msp", headers=None):
    return hub.req("POST", "/api/v1/submissions?name=" + name, who, body, ctype, headers)


def raw(data, read_timeout=10.0):
    """Send raw bytes on a new connection; return what came back before close/timeout."""
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=read_timeout)
    out = b""
    try:
        s.sendall(data)
        t0 = time.time()
        while time.time() - t0 < read_timeout:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out and (b"Content-Length: 0" in out or out.rstrip().endswith(b"}")
                                        or b"</html>" in out.lower()):
                break
    finally:
        s.close()
    return out


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# ---- authentication -------------------------------------------------------------------------
expect(post_sub(rec.encode(), who=None), 401, "submission without a token")
expect(hub.req("GET", "/api/v1/me", None, headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "Basic auth")
expect(hub.req("GET", "/api/v1/me", None, headers={"Authorization": "Bearer "}), 401, "empty bearer token")
expect(hub.req("GET", "/api/v1/me", None, headers={"Authorization": "Bearer npsw_" + "A" * 43}), 401,
       "well-formed unknown token")
expect(hub.req("GET", "/api/v1/me", None, headers={"Authorization": "Bearer " + "\u00e9".encode().decode("latin-1") * 20}),
       401, "non-ASCII token")
good("authentication failures")

# ---- content types and multipart -------------------------------------------------------------
expect(post_sub(rec.encode(), ctype="application/json"), 415, "a spectra file sent as application/json")
expect(post_sub(rec.encode(), ctype=None), 415, "a spectra file without a content type")
expect(post_sub(rec.encode(), ctype="image/png"), 415, "a spectra file sent as image/png")
expect(post_sub(rec.encode(), ctype="multipart/form-data"), 400, "multipart without a boundary")


def multipart(fields, boundary="npswtestboundary"):
    out = b""
    for name, fname, data in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % fname if fname else "")
        out += b"Content-Disposition: " + disp.encode() + b"\r\n"
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n", "multipart/form-data; boundary=" + boundary


body, ct = multipart([("file", "a.msp", rec.encode()), ("file", "b.msp", rec.encode())])
expect(post_sub(body, ctype=ct), 400, "multipart with two file fields")
body, ct = multipart([("other", None, b"x")])
expect(post_sub(body, ctype=ct), 400, "multipart without a file field")
body, ct = multipart([("file", "../../etc/up load.msp", servelib.renamed(rec, "multipart").encode()),
                      ("format", None, b"msp")])
st, h, out = expect(post_sub(body, ctype=ct), 201, "a good multipart upload")
acked += st == 201
if st == 201:
    F.eq(json.loads(out).get("file_name"), "up load.msp", "the stored name is the upload's base name")
body, ct = multipart([("file", "x.msp", rec.encode())])
expect(post_sub(body[: len(body) // 2], ctype=ct), 400, "a truncated multipart body")
good("content types")

# ---- fuzzed bodies: never 5xx, 201 or 422 with the reason --------------------------------------
rng = random.Random(20261127)
base = rec.encode()
n_fuzz = max(10, int(60 * min(1.0, a.scale * 3)))
codes = {}
t0 = time.time()
for i in range(n_fuzz):
    if time.time() - t0 > 60:
        F.check(False, "fuzzing took more than 60 s")
        break
    kind = i % 6
    b = bytearray(base)
    if kind == 0:    # random bytes
        b = bytearray(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
    elif kind == 1:  # byte flips
        for _ in range(rng.randint(1, 40)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
    elif kind == 2:  # truncation
        b = b[: rng.randrange(1, len(b))]
    elif kind == 3:  # NULs and control characters inserted
        for _ in range(rng.randint(1, 20)):
            b.insert(rng.randrange(len(b)), rng.choice([0, 1, 8, 27, 127]))
    elif kind == 4:  # absurd numbers in the peak list
        lines = b.decode("latin-1").split("\n")
        for _ in range(5):
            j = rng.randrange(len(lines))
            lines[j] = rng.choice(["1e308 1e308", "-5 -7", "nan nan", "inf 3", "99999999999999999999 1",
                                   "Num Peaks: 4294967295", "Num Peaks: -1", "0x10 0x20"])
        b = bytearray("\n".join(lines).encode("latin-1"))
    else:            # other formats' framing around the record
        b = bytearray(rng.choice([b"BEGIN IONS\n", b"##TITLE=x\n##PEAK TABLE=(XY..XY)\n", b"<?xml version='1.0'?><mzML>",
                                  b"m/z,intensity\n"]) + bytes(b))
    st, h, out = post_sub(bytes(b), name="fuzz-%d.msp" % i)
    codes[st] = codes.get(st, 0) + 1
    F.check(st in (201, 422), "fuzz case %d (kind %d): status %d, expected 201 or 422" % (i, kind, st))
    if st == 201:
        acked += 1
    elif st == 422:
        msg = json.loads(out)["error"]["message"]
        F.check("fuzz-%d.msp" % i in msg, "fuzz case %d: the error names the file: %r" % (i, msg[:150]))
print("fuzzed bodies: %d cases, statuses %s" % (n_fuzz, codes))
good("fuzzed bodies")
expect(post_sub(b""), 400, "an empty body")
expect(post_sub(rec.encode(), name="x.msp&format=pdf"), 400, "an unknown format")

# ---- oversize bodies ------------------------------------------------------------------------
big = (rec * (MAXB // len(rec) + 2)).encode()
expect(post_sub(big), 413, "a body over --max-body (Content-Length)")
good("an oversize body")
c = hub.conn(30)
try:
    c.putrequest("POST", "/api/v1/submissions?name=chunked.msp")
    c.putheader("Authorization", "Bearer " + hub.tokens["Lab A"])
    c.putheader("Content-Type", "text/plain")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for k in range(0, len(big), 8192):
        part = big[k:k + 8192]
        c.send(b"%x\r\n%s\r\n" % (len(part), part))
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    F.eq(r.status, 413, "a chunked body over --max-body")
    r.read()
except (OSError, http.client.HTTPException) as e:
    F.check(False, "chunked oversize body: %r" % e)
finally:
    c.close()
good("an oversize chunked body")

# ---- headers, URLs, request lines (libmicrohttpd's own answers) --------------------------------
resp = raw(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
F.check(status_of(resp) in (431, 413, 400, None), "a 20 kB header: %r" % resp[:60])
F.check(status_of(resp) != 200, "a 20 kB header is refused")
resp = raw(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (k, b"b" * 200) for k in range(200)) + b"\r\n")
F.check(status_of(resp) != 200, "200 headers of 200 bytes are refused: %r" % resp[:60])
resp = raw(b"GET /api/v1/" + b"x" * 30000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
F.check(status_of(resp) in (414, 431, 400, 404, None) and status_of(resp) != 200, "a 30 kB URL: %r" % resp[:60])
resp = raw(b"HELLO THERE\r\n\r\n")
F.check(status_of(resp) in (400, 505, None), "a garbage request line: %r" % resp[:60])
resp = raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 2)
F.check(status_of(resp) in (400, None), "TLS bytes on the plain port: %r" % resp[:60])
resp = raw(b"BREW /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
F.check(status_of(resp) in (405, 501, 400), "an unknown method: %r" % resp[:60])
good("huge headers and garbage")

# ---- JSON bodies of the review endpoints -----------------------------------------------------
for i, b in enumerate([b"", b"[1,2]", b"{", b"\xff\xfe{}", b'{"name": 5}', b'{"name": "' + b"n" * 300 + b'"}',
                       bytes(rng.getrandbits(8) for _ in range(200))]):
    st, h, out = expect(hub.req("POST", "/api/v1/advisories/NPSW-ADV-2026-0001/accept", "Curator", b,
                                "application/json"), 400 if b else 400, "review body %d" % i)
expect(hub.req("POST", "/api/v1/advisories/NPSW-ADV-2026-0001/accept", "Curator", b'{"name":"x"}',
               "application/json"), 404, "accepting an advisory that does not exist")

# ---- query values and static files -----------------------------------------------------------
for q in ("limit=0", "limit=abc", "limit=100000", "offset=-1", "offset=x"):
    expect(hub.req("GET", "/api/v1/submissions?" + q, "Lab A"), 400, "submissions?" + q)
for p in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/.hidden", "/nope.js",
          "/index.html/..", "//etc/passwd"):
    st, h, out = hub.req("GET", p)
    F.check(st == 404 and b"root:" not in out, "static %s: %d" % (p, st))
st, h, out = hub.req("GET", "/")
F.eq((st, h.get("content-type")), (200, "text/html; charset=utf-8"), "GET / serves index.html")
F.eq(out, open(os.path.join(hub.src, "tools", "serve", "www", "index.html"), "rb").read(), "index.html bytes")
F.check("default-src 'self'" in h.get("content-security-policy", ""), "static files carry a CSP")
expect(hub.req("POST", "/index.html", None, b"x", "text/plain"), 405, "POST to a static file")
good("queries and static files")

# ---- slow and idle clients -------------------------------------------------------------------
idle = [socket.create_connection(("127.0.0.1", hub.port), timeout=10) for _ in range(40)]
slow = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
slow.sendall(b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Le")
t0 = time.time()
F.check(hub.healthy(), "the service answers while 41 clients hold connections")
st, out = hub.submit("Lab B", servelib.renamed(rec, "beside slow clients").encode(), "b.msp")
F.eq(st, 201, "a submission while 41 clients hold connections")
acked += st == 201
F.check(time.time() - t0 < 10, "answered within 10 s beside idle clients (%.1f s)" % (time.time() - t0))
# the idle timeout (2 s) closes the silent half-request
slow.settimeout(10)
t0 = time.time()
try:
    got = slow.recv(100)
except (socket.timeout, ConnectionResetError):
    got = b"(timeout)"
F.check(got != b"(timeout)" and time.time() - t0 < 9, "a silent half-request is closed by the idle timeout "
        "(%r after %.1f s)" % (got[:40], time.time() - t0))
slow.close()
for s in idle:
    s.close()
good("slow and idle clients")

rc = hub.stop()
F.eq(rc, 0, "SIGTERM: exit 0")

# ---- the rate limit ------------------------------------------------------------------------------
hub.start("--rate", "5", "--burst", "5")
sts = [hub.req("GET", "/api/v1/me", "Lab A")[0] for _ in range(20)]
F.check(sts.count(429) >= 10 and sts[:5] == [200] * 5,
        "20 quick requests with a 5/s, burst 5 limit: the first 5 pass, most others get 429 (%s)" % sts)
st, h, out = hub.req("GET", "/api/v1/me", "Lab A")
F.check(st == 429 and h.get("retry-after"), "429 carries Retry-After")
F.eq(hub.req("GET", "/api/v1/me", "Lab B")[0], 200, "another token is not limited by lab A's rate")
time.sleep(1.2)
F.eq(hub.req("GET", "/api/v1/me", "Lab A")[0], 200, "lab A may ask again after a second")
rc = hub.stop()
F.eq(rc, 0, "SIGTERM: exit 0")

db = sqlite3.connect("file:%s?mode=ro" % hub.ledger, uri=True)
n = db.execute("SELECT count(*) FROM submissions").fetchone()[0]
names = db.execute("SELECT file_name FROM submissions WHERE file_name LIKE '%/%'").fetchall()
db.close()
F.eq(n, acked, "the ledger holds exactly the acknowledged submissions")
F.eq(names, [], "no stored file name has a directory part")
r = servelib.run([hub.bin, "audit", "verify", hub.ledger])
F.eq(r.returncode, 0, "audit verify (%s)" % r.stderr.strip()[-200:])
F.done("test_serve_badinput")
