#!/usr/bin/env python3
"""test_serve_isolation.py - the isolation matrix of `npswatch serve` (docs/service.md,
"Roles and isolation"): every endpoint x every principal (no token, an unknown token, two
laboratories, a curator, an administrator) x own / another laboratory's resources, with the
exact status each must get; the bodies of what a laboratory may read are its own (checked
against the SHA-256 of the files it sent, computed here with hashlib); no answer to a laboratory
names another laboratory or a global submission id; every audited request is in the audit log
with the right actor (counted here and read back with python's sqlite3 after the service
stopped); the curator accepts an advisory (a new library version, downloadable with its
SHA-256) once, and a second review is a conflict.

Data: real spectra only - the bundled SWGDRUG DEA subset as the library and the demo's three
laboratory batches (spectra_db/data/examples/lab_*.msp), whose withheld substances make a
signal seen by several laboratories.
"""
import hashlib
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servelib  # noqa: E402

a = servelib.args()
F = servelib.Failures()
hub = servelib.Hub(a)
ex = os.path.join(hub.data, "examples")
files = {k: open(os.path.join(ex, "lab_%s.msp" % k), "rb").read() for k in "abc"}
one = servelib.msp_records(os.path.join(ex, "lab_a.msp"))[0].encode()
hub.start("--rate", "0", "--library-dir", hub.dir, "--access-log")

PUBLIC = {("GET", "/api/v1/health"), ("GET", "/api/v1/version"), ("GET", "/api/v1/openapi.json")}
audited = {}   # actor -> requests the audit log must hold


def actor(who):
    if who in (None, "bad"):
        return "anonymous"
    role = {"Curator": "curator", "Admin": "admin"}.get(who, "lab")
    return "%s:%d" % (role, hub.ids[who])


def call(method, path, who, body=None, ctype=None):
    tok = "npsw_" + "x" * 43 if who == "bad" else who
    st, h, data = hub.req(method, path, tok, body, ctype)
    if path.startswith("/api/") and (method, path.split("?")[0]) not in PUBLIC:
        audited[actor(who)] = audited.get(actor(who), 0) + 1
    if st >= 400 and path.startswith("/api/"):
        try:
            e = json.loads(data)["error"]
            F.eq(e["status"], st, "%s %s as %s: error body status" % (method, path, who))
            F.check(e["message"], "%s %s as %s: error without a message" % (method, path, who))
        except (ValueError, KeyError, TypeError):
            F.check(False, "%s %s as %s: %d without a JSON error body: %r" % (method, path, who, st, data[:100]))
    return st, h, data


# ---- data: submissions through the API, a signal, an advisory by the CLI --------------------
st, sa1 = hub.submit("Lab A", files["a"], "lab_a.msp")
F.eq(st, 201, "lab A submits lab_a.msp")
st, sa2 = hub.submit("Lab A", one, "one.msp")
F.eq(st, 201, "lab A submits one record")
st, sb1 = hub.submit("Lab B", files["b"], "lab_b.msp")
F.eq(st, 201, "lab B submits lab_b.msp")
st, sc1 = hub.submit("Lab C", files["c"], "lab_c.msp")
F.eq(st, 201, "lab C submits lab_c.msp")
for who in ("Lab A", "Lab A", "Lab B", "Lab C"):
    audited[actor(who)] = audited.get(actor(who), 0) + 1
F.eq((sa1 or {}).get("number"), 1, "lab A's first submission is its number 1")
F.eq((sa2 or {}).get("number"), 2, "lab A's second submission is its number 2")
F.eq((sb1 or {}).get("number"), 1, "lab B's first submission is its number 1 (per-lab numbers)")
F.eq((sa1 or {}).get("sha256"), hashlib.sha256(files["a"]).hexdigest(), "stored SHA-256 of lab_a.msp")
F.eq(len((sa1 or {}).get("spectra", [])), files["a"].count(b"\nName:") + files["a"].startswith(b"Name:"),
     "one result set per spectrum of lab_a.msp")

st, sig = hub.json("POST", "/api/v1/signals/refresh", "Curator")
audited[actor("Curator")] = audited.get(actor("Curator"), 0) + 1
F.eq(st, 200, "curator refreshes signals")
signals = (sig or {}).get("signals", [])
F.check(signals, "the three batches give at least one signal seen by >= 2 laboratories")
if not signals:
    hub.stop()
    F.done("test_serve_isolation")
S = signals[0]["id"]
F.check(all(s["n_labs"] >= 2 for s in signals), "only signals seen by >= 2 laboratories are listed")
text = json.dumps(sig)
for name in ("Lab A", "Lab B", "Lab C", "lab_a.msp", "lab_b.msp", "lab_c.msp"):
    F.check(name not in text, "signals do not name %r" % name)
advdir = os.path.join(hub.dir, "advisory")
r = servelib.run([hub.bin, "advise", "--ledger", hub.ledger, "--signal", str(S), "-o", advdir,
                  "-l", hub.lib])
F.eq(r.returncode, 0, "npswatch advise for signal %d (%s)" % (S, r.stderr.strip()[-300:]))
K = ([l.split(": ", 1)[1] for l in r.stdout.splitlines() if l.startswith("advisory_key: ")] or ["NONE"])[0]

# The signal's reference spectrum (the dashboard's mirror plot) is the library spectrum that
# `npswatch advise` compared the consensus with (advisory.json, computed by the CLI).
st, one_sig = hub.json("GET", "/api/v1/signals/%d" % S, "Curator")
audited[actor("Curator")] = audited.get(actor("Curator"), 0) + 1
advref = json.load(open(os.path.join(advdir, "advisory.json")))["library_comparison"]["reference"] \
    if r.returncode == 0 else {}
ref = (one_sig or {}).get("reference") or {}
F.eq((ref.get("library_index"), ref.get("name")), (advref.get("library_index"), advref.get("name")),
     "signal reference spectrum = the advisory's reference")
F.check(len(ref.get("peaks", [])) > 0 and all(len(x) == 2 and 0 < x[1] <= 999 for x in ref.get("peaks", [])),
        "signal reference spectrum has [m/z, intensity] peaks")

# ---- the matrix -----------------------------------------------------------------------------
WHO = [None, "bad", "Lab A", "Lab B", "Curator", "Admin"]
body_one = ("text/plain", one)
M = [
    # method, path, body, {who: status}
    ("GET", "/api/v1/health", None, [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/version", None, [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/openapi.json", None, [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/me", None, [401, 401, 200, 200, 200, 200]),
    ("GET", "/api/v1/submissions", None, [401, 401, 200, 200, 403, 403]),
    ("GET", "/api/v1/submissions/1", None, [401, 401, 200, 200, 403, 403]),
    ("GET", "/api/v1/submissions/2", None, [401, 401, 200, 404, 403, 403]),
    ("GET", "/api/v1/submissions/2/results", None, [401, 401, 200, 404, 403, 403]),
    ("GET", "/api/v1/submissions/2/file", None, [401, 401, 200, 404, 403, 403]),
    ("GET", "/api/v1/submissions/1/file", None, [401, 401, 200, 200, 403, 403]),
    ("GET", "/api/v1/submissions/3", None, [401, 401, 404, 404, 403, 403]),
    ("GET", "/api/v1/submissions/0", None, [401, 401, 404, 404, 403, 403]),
    ("GET", "/api/v1/submissions/abc/results", None, [401, 401, 404, 404, 403, 403]),
    ("GET", "/api/v1/signals", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/signals/%d" % S, None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/signals/999999", None, [401, 401, 403, 403, 404, 404]),
    ("GET", "/api/v1/signals?min_labs=1", None, [401, 401, 403, 403, 400, 400]),
    ("POST", "/api/v1/signals/refresh", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/advisories", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/advisories/" + K, None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/advisories/NPSW-ADV-1999-9999", None, [401, 401, 403, 403, 404, 404]),
    ("GET", "/api/v1/advisories/%s/advisory.md" % K, None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/advisories/%s/timeline.png" % K, None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/advisories/%s/secrets.txt" % K, None, [401, 401, 403, 403, 404, 404]),
    ("POST", "/api/v1/advisories/%s/reject" % K, ("application/json", b'{"note":"x"}'),
     [401, 401, 403, 403, None, None]),
    ("GET", "/api/v1/libraries", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/libraries/1", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/libraries/1/file", None, [401, 401, 403, 403, 200, 200]),
    ("GET", "/api/v1/libraries/77", None, [401, 401, 403, 403, 404, 404]),
    ("GET", "/api/v1/labs", None, [401, 401, 403, 403, 403, 200]),
    ("GET", "/api/v1/audit/verify", None, [401, 401, 403, 403, 403, 200]),
    ("GET", "/api/v1/nothing-here", None, [404, 404, 404, 404, 404, 404]),
    ("DELETE", "/api/v1/submissions", None, [405, 405, 405, 405, 405, 405]),
    ("POST", "/api/v1/submissions", body_one, [401, 401, 201, 201, 403, 403]),
]
bodies = {}
for method, path, body, want in M:
    for who, w in zip(WHO, want):
        if w is None:
            continue  # a curator's review is tested below, once
        ctype, data = body if body else (None, None)
        st, h, out = call(method, path, who, data, ctype)
        F.eq(st, w, "%s %s as %s" % (method, path, who or "no token"))
        bodies[(method, path, who)] = (st, h, out)

# what each laboratory read is its own
def jbody(k):
    try:
        return json.loads(bodies[k][2])
    except (KeyError, ValueError):
        return {}

F.eq(jbody(("GET", "/api/v1/submissions/1", "Lab B")).get("sha256"), hashlib.sha256(files["b"]).hexdigest(),
     "lab B's number 1 is lab B's own file, not lab A's")
F.eq(jbody(("GET", "/api/v1/submissions/1", "Lab A")).get("sha256"), hashlib.sha256(files["a"]).hexdigest(),
     "lab A's number 1 is lab_a.msp")
F.eq(bodies[("GET", "/api/v1/submissions/1/file", "Lab B")][2], files["b"], "lab B downloads its own bytes")
F.eq(bodies[("GET", "/api/v1/submissions/2/file", "Lab A")][2], one, "lab A downloads its second file")
lst = jbody(("GET", "/api/v1/submissions", "Lab B"))
F.eq(lst.get("total"), 1, "lab B lists only its own submission")
F.eq([s.get("number") for s in jbody(("GET", "/api/v1/submissions", "Lab A")).get("submissions", [])], [2, 1],
     "lab A lists its two submissions, newest first")
for k, (st, h, out) in bodies.items():
    if k[2] in ("Lab A", "Lab B") and k[1].startswith("/api/v1/submissions") and st < 300 \
            and not k[1].endswith("/file"):
        t = out.decode("utf-8", "replace")
        other = "Lab B" if k[2] == "Lab A" else "Lab A"
        F.check(other not in t and "lab_id" not in t and '"id"' not in t,
                "%s %s as %s: no other laboratory, no lab or global ids" % k)
        F.check("token" not in t.lower(), "%s %s: no token fields" % k[:2])
res = jbody(("GET", "/api/v1/submissions/2/results", "Lab A"))
sp = res.get("spectra", [{}])
F.check(sp and sp[0].get("results") and sp[0]["results"][0].get("verdict") in ("in_library", "analogue", "unknown"),
        "lab A's results carry a verdict")
F.check("not identifications" in json.dumps(res), "results say: library search results, not identifications")
st, h, out = bodies[("GET", "/api/v1/libraries/1/file", "Curator")]
F.eq(h.get("x-file-sha256"), hashlib.sha256(out).hexdigest(), "library download: X-File-SHA256 is the body's SHA-256")
info = servelib.run([hub.bin, "info", hub.lib]).stdout
F.check(h.get("x-content-sha256", "?") in info, "library download: X-Content-SHA256 is the library's content checksum")
F.eq(out, open(hub.lib, "rb").read(), "library download: the file's bytes")
F.eq(jbody(("GET", "/api/v1/audit/verify", "Admin")).get("ok"), True, "audit verify over the API")
F.check(bodies[("GET", "/api/v1/advisories/%s/timeline.png" % K, "Curator")][2][:8] == b"\x89PNG\r\n\x1a\n",
        "the advisory's timeline is a PNG")
F.eq(bodies[("GET", "/api/v1/advisories/%s/timeline.png" % K, "Curator")][1].get("content-type"), "image/png",
     "PNG content type")

# ---- review: accept once, then conflicts ---------------------------------------------------
st, h, out = call("POST", "/api/v1/advisories/%s/accept" % K, "Curator", b'{"note": "seen in 3 labs"}',
                  "application/json")
F.eq(st, 400, "accept without a name")
st, h, out = call("POST", "/api/v1/advisories/%s/accept" % K, "Curator", b'{"name": ', "application/json")
F.eq(st, 400, "accept with malformed JSON")
st, h, out = call("POST", "/api/v1/advisories/%s/accept" % K, "Curator", b'{"name": "x"}', "text/plain")
F.eq(st, 415, "accept with a non-JSON content type")
st, h, out = call("POST", "/api/v1/advisories/%s/accept" % K, "Curator",
                  json.dumps({"name": "signal %d consensus" % S, "note": "test"}).encode(), "application/json")
F.eq(st, 200, "curator accepts the advisory (%s)" % out[:200])
acc = json.loads(out) if st == 200 else {}
newfile = os.path.join(hub.dir, "%s-v1.h5" % K)
F.check(os.path.exists(newfile), "the new library version was written to --library-dir")
st, h, out = call("POST", "/api/v1/advisories/%s/accept" % K, "Admin", b'{"name": "again"}', "application/json")
F.eq(st, 409, "a second accept is a conflict")
st, h, out = call("POST", "/api/v1/advisories/%s/reject" % K, "Curator", b'{"note": "late"}', "application/json")
F.eq(st, 409, "rejecting an accepted advisory is a conflict")
st, libs = hub.json("GET", "/api/v1/libraries", "Curator")
audited[actor("Curator")] += 1
F.check(any(l.get("advisory_key") == K and l.get("content_sha256") == acc.get("library", {}).get("content_sha256")
            for l in (libs or {}).get("libraries", [])), "the new library version is listed with its advisory")

# ---- the audit log: every audited request, with its actor ------------------------------------
rc = hub.stop()
F.eq(rc, 0, "the service stops on SIGTERM with exit 0")
db = sqlite3.connect("file:%s?mode=ro" % hub.ledger, uri=True)
got = dict(db.execute("SELECT actor, count(*) FROM audit_log WHERE action = 'http.request' GROUP BY actor"))
F.eq(got, audited, "http.request audit entries per actor")
bad = db.execute("SELECT count(*) FROM audit_log WHERE action = 'http.request' AND "
                 "json_extract(details, '$.status') IS NULL").fetchone()[0]
F.eq(bad, 0, "every request entry records its status")
n401 = db.execute("SELECT count(*) FROM audit_log WHERE action = 'http.request' AND actor = 'anonymous' "
                  "AND json_extract(details, '$.status') = 401").fetchone()[0]
F.check(n401 > 0, "refused requests are audited too (%d anonymous 401s)" % n401)
db.close()
r = servelib.run([hub.bin, "audit", "verify", hub.ledger])
F.eq(r.returncode, 0, "npswatch audit verify after the matrix (%s)" % r.stderr.strip())
F.done("test_serve_isolation")
