#!/usr/bin/env python3
"""test_serve_fault.py - kill -9 during load (docs/service.md, "Load and faults"): clients of
three laboratories submit small real spectra (records of the bundled example batches, renamed
"fault <cycle> <lab> <k>" to trace them) as fast as they can; after a random moment (seeded) the
service is killed with SIGKILL, restarted on the same ledger, and every submission that had
been acknowledged with 201 must be there: through the API (the laboratory's own listing and
each acknowledged number's SHA-256 and spectrum name) and in the ledger file. Requests in
flight at the kill may or may not be stored (they were never acknowledged) but never twice.
Then `npswatch audit verify` must pass. Three cycles (one in the sanitizer build); every loop
bounded in count and time.
"""
import hashlib
import json
import os
import random
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servelib  # noqa: E402

a = servelib.args()
F = servelib.Failures()
LABS = [("Lab A", "DE"), ("Lab B", "FR"), ("Lab C", "NL")]
hub = servelib.Hub(a, LABS)
ex = os.path.join(hub.data, "examples")
recs = []
for f in ("lab_a.msp", "lab_b.msp", "lab_c.msp", "example_queries.msp"):
    recs += servelib.msp_records(os.path.join(ex, f))
rng = random.Random(77)
CYCLES = 3 if a.scale >= 1 else 1
acked = []            # (lab, name, number, sha256)
lock = threading.Lock()

for cycle in range(CYCLES):
    hub.start("--rate", "0", "--threads", "4", log="serve-%d.log" % cycle)
    stop = threading.Event()
    sent = [0]

    def client(w):
        lab = LABS[w % len(LABS)][0]
        c = hub.conn(30)
        k = 0
        t_end = time.time() + 60
        while not stop.is_set() and time.time() < t_end and k < 5000:
            name = "fault %d %s %d.%d" % (cycle, lab, w, k)
            body = servelib.renamed(recs[(w + k) % len(recs)], name).encode()
            k += 1
            try:
                c.request("POST", "/api/v1/submissions?name=f.msp", body,
                          {"Authorization": "Bearer " + hub.tokens[lab], "Content-Type": "text/plain"})
                r = c.getresponse()
                data = r.read()
            except OSError:
                break  # the service is gone: whatever was in flight is unacknowledged
            with lock:
                sent[0] += 1
                if r.status == 201:
                    j = json.loads(data)
                    acked.append((lab, name, j["number"], hashlib.sha256(body).hexdigest()))
                else:
                    F.check(False, "cycle %d: %s: HTTP %d %s" % (cycle, name, r.status, data[:100]))
        c.close()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(6)]
    before = len(acked)
    for t in threads:
        t.start()
    time.sleep((0.6 + rng.random()) * (1 if a.scale >= 1 else 4))
    pid = hub.proc.pid
    rc = hub.kill()
    stop.set()
    for t in threads:
        t.join(90)
    F.check(not any(t.is_alive() for t in threads), "cycle %d: the clients stopped" % cycle)
    print("cycle %d: SIGKILL to pid %d after %d acknowledged submissions (%d this cycle)" %
          (cycle, pid, len(acked), len(acked) - before))
    F.check(len(acked) > before, "cycle %d: some submissions were acknowledged before the kill" % cycle)

    # restart: everything acknowledged is there, through the API
    hub.start("--rate", "0", log="serve-%d-after.log" % cycle)
    for lab, _ in LABS:
        mine = [x for x in acked if x[0] == lab]
        st, lst = hub.json("GET", "/api/v1/submissions?limit=1000", lab)
        F.eq(st, 200, "cycle %d: %s lists its submissions after the restart" % (cycle, lab))
        have = {s["number"]: s["sha256"] for s in (lst or {}).get("submissions", [])}
        missing = [x for x in mine if have.get(x[2]) != x[3]]
        F.eq(missing[:5], [], "cycle %d: %s: every acknowledged submission is there with its SHA-256" % (cycle, lab))
    for lab, name, number, sha in acked[-3:]:
        st, sub = hub.json("GET", "/api/v1/submissions/%d/results" % number, lab)
        F.check(st == 200 and sub["spectra"][0]["name"] == name,
                "cycle %d: %s's number %d holds %r" % (cycle, lab, number, name))
    F.eq(hub.stop(), 0, "cycle %d: SIGTERM after the check: exit 0" % cycle)

db = sqlite3.connect("file:%s?mode=ro" % hub.ledger, uri=True)
rows = db.execute("SELECT u.lab_id, s.name FROM spectra s JOIN submissions u ON u.id = s.submission_id").fetchall()
db.close()
stored = {}
for lab_id, name in rows:
    stored[name] = stored.get(name, 0) + 1
F.eq([n for n, c in stored.items() if c > 1][:5], [], "no spectrum stored twice")
F.eq([x[1] for x in acked if x[1] not in stored][:5], [], "every acknowledged submission is in the ledger file")
print("fault: %d acknowledged submissions over %d kill -9 cycles, %d stored (%d in flight at a kill "
      "and stored without acknowledgement)" % (len(acked), CYCLES, len(stored), len(stored) - len(acked)))
r = servelib.run([hub.bin, "audit", "verify", hub.ledger], timeout=300)
F.eq(r.returncode, 0, "audit verify after the kills (%s)" % (r.stderr.strip() or r.stdout.strip())[-300:])
F.done("test_serve_fault")
