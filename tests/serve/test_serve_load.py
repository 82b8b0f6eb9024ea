#!/usr/bin/env python3
"""test_serve_load.py - sustained concurrent submissions from several laboratories' tokens
(docs/service.md, "Load and faults"): NSUB small submissions (one real spectrum each: records of
the bundled example batches, renamed "load <lab> <k>" so that each submission can be traced)
over 8 keep-alive connections, 2 per laboratory. Reports the throughput (target: >= 200 small
submissions/s on 2 cores in a Release build; not asserted, the machine is shared) and checks,
with python's sqlite3 on the ledger after the service stopped, that nothing was lost or
duplicated: each laboratory's stored submissions are exactly those acknowledged with 201 (by
spectrum name), each name once, and the per-laboratory numbers the service returned are 1..n.
Then `npswatch audit verify`.

Volume: 600 submissions (--scale multiplies it; the sanitizer build runs 60). Bounded: 120 s.
"""
import json
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servelib  # noqa: E402

a = servelib.args()
F = servelib.Failures()
LABS = [("Lab A", "DE"), ("Lab B", "FR"), ("Lab C", "NL"), ("Lab D", "PL")]
hub = servelib.Hub(a, LABS)
ex = os.path.join(hub.data, "examples")
recs = []
for f in ("lab_a.msp", "lab_b.msp", "lab_c.msp", "example_queries.msp", "emerging.msp"):
    recs += servelib.msp_records(os.path.join(ex, f))
NSUB = max(20, int(600 * a.scale))
CONNS = 8
DEADLINE = 120.0
hub.start("--rate", "0", "--threads", "4")

lock = threading.Lock()
acked = {name: [] for name, _ in LABS}   # lab -> [(spectrum name, number)]
errors = []
lat = []
counter = iter(range(NSUB))


def worker(w):
    lab = LABS[w % len(LABS)][0]
    c = hub.conn(60)
    t_end = t_start + DEADLINE
    while time.time() < t_end:
        with lock:
            k = next(counter, None)
        if k is None:
            break
        name = "load %s %d" % (lab, k)
        body = servelib.renamed(recs[k % len(recs)], name).encode()
        t0 = time.time()
        try:
            c.request("POST", "/api/v1/submissions?name=load-%d.msp" % k, body,
                      {"Authorization": "Bearer " + hub.tokens[lab], "Content-Type": "text/plain"})
            r = c.getresponse()
            data = r.read()
        except OSError as e:
            with lock:
                errors.append("%s: %r" % (name, e))
            c.close()
            c = hub.conn(60)
            continue
        dt = time.time() - t0
        with lock:
            lat.append(dt)
            if r.status == 201:
                acked[lab].append((name, json.loads(data)["number"]))
            else:
                errors.append("%s: HTTP %d %s" % (name, r.status, data[:120]))
    c.close()


t_start = time.time()
threads = [threading.Thread(target=worker, args=(w,)) for w in range(CONNS)]
for t in threads:
    t.start()
for t in threads:
    t.join(DEADLINE + 60)
elapsed = time.time() - t_start
n_ok = sum(len(v) for v in acked.values())
lat.sort()
rate = n_ok / elapsed if elapsed > 0 else 0
p50 = lat[len(lat) // 2] * 1e3 if lat else 0
p95 = lat[int(len(lat) * 0.95)] * 1e3 if lat else 0
print("load: %d small submissions from %d laboratories over %d connections in %.2f s = %.1f "
      "submissions/s (target >= 200 on 2 cores, Release build); latency p50 %.1f ms, p95 %.1f ms; "
      "errors %d" % (n_ok, len(LABS), CONNS, elapsed, rate, p50, p95, len(errors)))
with open(os.path.join(hub.dir, "load_result.json"), "w") as f:
    json.dump({"submissions": n_ok, "seconds": elapsed, "per_second": rate, "p50_ms": p50,
               "p95_ms": p95, "errors": errors[:20], "scale": a.scale}, f, indent=1)
F.check(not any(t.is_alive() for t in threads), "every client finished within the deadline")
F.eq(errors, [], "no request failed")
F.eq(n_ok, NSUB, "every submission acknowledged")
rc = hub.stop()
F.eq(rc, 0, "SIGTERM after the load: exit 0")

db = sqlite3.connect("file:%s?mode=ro" % hub.ledger, uri=True)
for lab, _ in LABS:
    rows = db.execute("SELECT s.name FROM spectra s JOIN submissions u ON u.id = s.submission_id "
                      "WHERE u.lab_id = ? ORDER BY s.name", (hub.ids[lab],)).fetchall()
    stored = sorted(r[0] for r in rows)
    want = sorted(n for n, _ in acked[lab])
    F.eq(len(stored), len(set(stored)), "%s: no spectrum stored twice" % lab)
    F.eq(stored, want, "%s: the stored submissions are exactly the acknowledged ones" % lab)
    F.eq(sorted(num for _, num in acked[lab]), list(range(1, len(acked[lab]) + 1)),
         "%s: the per-laboratory numbers are 1..n" % lab)
    nres = db.execute("SELECT count(*) FROM results r JOIN spectra s ON s.id = r.spectrum_id JOIN "
                      "submissions u ON u.id = s.submission_id WHERE u.lab_id = ?", (hub.ids[lab],)).fetchone()[0]
    F.eq(nres, len(want), "%s: one result per stored spectrum" % lab)
nreq = db.execute("SELECT count(*) FROM audit_log WHERE action = 'http.request' AND object = "
                  "'POST /api/v1/submissions'").fetchone()[0]
F.eq(nreq, n_ok, "one request audit entry per submission")
db.close()
r = servelib.run([hub.bin, "audit", "verify", hub.ledger], timeout=300)
F.eq(r.returncode, 0, "audit verify after the load (%s)" % r.stderr.strip()[-200:])
F.done("test_serve_load")
