"""servelib.py - what the tests of `npswatch serve` share (tests/serve/test_*.py).

A Hub is a scratch directory with a library built from the bundled SWGDRUG DEA subset
(spectra_db/data/swgdrug_3.4_dea.msp, real spectra), a ledger with laboratories, a curator and
an administrator (tokens from `npswatch lab add`), and the service started on 127.0.0.1 with an
ephemeral port (--port-file). Every wait is bounded in time; the service process is the test's
own child and is stopped by its pid.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

SKIP = 77


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True, help="the npswatch binary")
    p.add_argument("--scratch", required=True, help="scratch directory (emptied)")
    p.add_argument("--source", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    p.add_argument("--scale", type=float, default=1.0,
                   help="volume of the load tests (sanitizer builds pass 0.1)")
    return p.parse_args()


class Failures:
    def __init__(self):
        self.n = 0

    def check(self, cond, what):
        if not cond:
            self.n += 1
            print("FAIL: " + what, file=sys.stderr, flush=True)
        return cond

    def eq(self, got, want, what):
        def short(x):
            r = repr(x)
            return r if len(r) <= 300 else r[:300] + "... (%d characters)" % len(r)
        return self.check(got == want, "%s: got %s, expected %s" % (what, short(got), short(want)))

    def done(self, name):
        if self.n:
            print("%s: %d failure(s)" % (name, self.n), file=sys.stderr)
            sys.exit(1)
        print("%s: all checks passed" % name)
        sys.exit(0)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


class Hub:
    def __init__(self, a, labs=(("Lab A", "DE"), ("Lab B", "FR"), ("Lab C", "NL"))):
        self.bin = os.path.abspath(a.bin)
        self.src = os.path.abspath(a.source)
        self.dir = os.path.abspath(a.scratch)
        subprocess.run(["rm", "-rf", self.dir], check=True)
        os.makedirs(self.dir)
        self.lib = os.path.join(self.dir, "lib.h5")
        self.ledger = os.path.join(self.dir, "hub.db")
        self.data = os.path.join(self.src, "spectra_db", "data")
        r = run([self.bin, "build", "-o", self.lib, "--name", "SWGDRUG 3.4 DEA subset",
                 "--lib-version", "3.4", os.path.join(self.data, "swgdrug_3.4_dea.msp")])
        if r.returncode:
            raise SystemExit("cannot build the library: " + r.stderr)
        r = run([self.bin, "ledger", "init", self.ledger])
        if r.returncode:
            raise SystemExit("cannot create the ledger: " + r.stderr)
        self.tokens = {}
        self.ids = {}
        for name, cc in labs:
            self.add(name, cc, "lab")
        self.add("Curator", "GB", "curator")
        self.add("Admin", "GB", "admin")
        self.proc = None
        self.port = None
        self.tls = None

    def add(self, name, cc, role):
        r = run([self.bin, "lab", "add", self.ledger, "--name", name, "--country", cc, "--role", role])
        if r.returncode:
            raise SystemExit("lab add failed: " + r.stderr)
        self.tokens[name] = re.search(r"^token: (\S+)$", r.stdout, re.M).group(1)
        self.ids[name] = int(re.search(r"^lab_id: (\d+)$", r.stdout, re.M).group(1))

    def start(self, *extra, log="serve.log", wait=30.0):
        portfile = os.path.join(self.dir, "port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.log = open(os.path.join(self.dir, log), "a")
        cmd = [self.bin, "serve", "--ledger", self.ledger, "-l", self.lib, "--listen",
               "127.0.0.1:0", "--port-file", portfile] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        t0 = time.time()
        while time.time() - t0 < wait:
            if self.proc.poll() is not None:
                raise SystemExit("the service exited at start (code %s); see %s" %
                                 (self.proc.returncode, self.log.name))
            if os.path.exists(portfile):
                self.port = int(open(portfile).read())
                return
            time.sleep(0.05)
        self.kill()
        raise SystemExit("the service did not start within %.0f s" % wait)

    def stop(self, sig=signal.SIGTERM, wait=60.0):
        """Stop the service by its pid; returns its exit code (None when it had to be killed)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            rc = None
        self.proc = None
        self.log.close()
        if sig == signal.SIGTERM and rc != 0:
            # the service's own last words, for whoever reads the failure
            with open(self.log.name, errors="replace") as f:
                tail = f.readlines()[-25:]
            print("service exited with %s after SIGTERM; last lines of %s:\n%s" %
                  (rc, self.log.name, "".join(tail)))
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def conn(self, timeout=60):
        if self.tls:
            import ssl
            ctx = ssl.create_default_context(cafile=self.tls)
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def req(self, method, path, who=None, body=None, ctype=None, headers=None, timeout=60):
        """One request on a new connection: (status, headers dict (lower-case), body bytes)."""
        h = dict(headers or {})
        if who:
            h["Authorization"] = "Bearer " + (self.tokens.get(who, who))
        if ctype:
            h["Content-Type"] = ctype
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, who=None, body=None, ctype=None):
        st, h, data = self.req(method, path, who, body, ctype)
        try:
            return st, json.loads(data) if data else None
        except ValueError:
            return st, {"_raw": data[:300]}

    def submit(self, who, data, name="upload.msp"):
        return self.json("POST", "/api/v1/submissions?name=" + name, who, data, "text/plain")

    def healthy(self):
        try:
            st, _, _ = self.req("GET", "/api/v1/health", timeout=10)
            return st == 200
        except OSError:
            return False


def msp_records(path):
    """The records of an MSP file (blank-line separated), as text blocks."""
    text = open(path, encoding="utf-8").read()
    return [b.strip() + "\n" for b in re.split(r"\n\s*\n", text) if b.strip()]


def renamed(record, name):
    """A real spectrum's record under another Name: (tracking a submission, same peaks)."""
    return re.sub(r"^Name:.*$", "Name: " + name, record, count=1, flags=re.M)
