#!/usr/bin/env python3
"""test_dashboard.py - the dashboard (tools/serve/www, docs/service.md "Dashboard") in a real
browser: headless Debian Chromium driven over the Chrome DevTools Protocol (Debian package
python3-websocket), against `npswatch serve` on 127.0.0.1 with a fresh ledger and the bundled
SWGDRUG DEA subset as the library (tests/serve/servelib.py).

Scenario: laboratory A logs in with its token and uploads lab_a.msp through the file input
(DOM.setFileInputFiles, multipart POST by the page); the page shows the stored submission and
one result row per spectrum of the file (counted here from the file). An unreadable file shows
the API's 422 error. Laboratories B and C submit their batches through the API; the curator logs
in, clusters (button), sees the signals ranked by urgency (the set is the API's), opens the most
urgent one (mirror plot and timeline drawn on canvases), `npswatch advise` writes its advisory,
the page is reloaded (the session survives), the curator opens the advisory (its PNG figures
load) and accepts it; the page says so, and the API, the ledger file (sqlite3) and the new
library file agree; `npswatch audit verify` passes. Screenshots of each step are written to
SCRATCH/screenshots/. No JavaScript exception may occur.

Data: real spectra only (spectra_db/data/examples/lab_*.msp); the unreadable upload is a
synthetic text file named as such. Every wait is bounded; Chromium and the service are the test's
own children, stopped by pid in all cases. Exit 77 (skip) when chromium or python3-websocket is
missing.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "serve"))
import servelib  # noqa: E402

try:
    import websocket  # Debian python3-websocket (websocket-client)
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")  # the Debian package under another python3
    try:
        import websocket
    except ImportError:
        print("SKIP: python3-websocket (websocket-client) is not installed (tools/install-deps.sh)")
        sys.exit(servelib.SKIP)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    print("SKIP: chromium is not installed (Debian package chromium, tools/install-deps.sh)")
    sys.exit(servelib.SKIP)

T_TOTAL = 100.0  # the whole test, seconds (ctest TIMEOUT is larger)
T_WAIT = 20.0    # one wait for the page
T0 = time.time()


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("the test ran longer than %.0f s" % T_TOTAL)


signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(int(T_TOTAL))


class CDP:
    """A minimal DevTools client: one page target, commands answered by id, events kept."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=T_WAIT, suppress_origin=True)
        self.n = 0
        self.events = []

    def call(self, method, timeout=T_WAIT, **params):
        self.n += 1
        mid = self.n
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        end = time.time() + timeout
        while time.time() < end:
            self.ws.settimeout(max(0.1, end - time.time()))
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise Timeout("%s: no answer within %.0f s" % (method, timeout))

    def eval(self, expr, timeout=T_WAIT):
        r = self.call("Runtime.evaluate", timeout, expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s: %s" % (expr[:80], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def wait(self, expr, what, timeout=T_WAIT):
        """Poll a page expression until it is truthy (every 0.1 s, at most `timeout` s)."""
        end = time.time() + timeout
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        err = self.eval("document.getElementById('error') ? document.getElementById('error').textContent : ''")
        raise Timeout("waiting for %s (%.0f s); page error box: %r" % (what, timeout, err))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def js(s):
    return json.dumps(s)


def text(sel):
    return "((document.querySelector(%s)||{}).textContent||'')" % js(sel)


a = servelib.args()
F = servelib.Failures()
hub = servelib.Hub(a)
shots = os.path.join(hub.dir, "screenshots")
os.makedirs(shots)
ex = os.path.join(hub.data, "examples")
www = os.path.join(hub.src, "tools", "serve", "www")
chrome = None
profile = tempfile.mkdtemp(prefix="npsw-chromium-")
cdp = None
n_shot = 0


def shot(name):
    global n_shot
    n_shot += 1
    png = base64.b64decode(cdp.call("Page.captureScreenshot", format="png")["data"])
    path = os.path.join(shots, "%02d-%s.png" % (n_shot, name))
    with open(path, "wb") as f:
        f.write(png)
    F.check(png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot %s is a PNG" % name)


def click(sel):
    cdp.eval("document.querySelector(%s).click(), true" % js(sel))


def type_into(sel, value):
    """Focus the input and type through the browser's input pipeline (Input.insertText)."""
    cdp.eval("(e => { e.focus(); e.value = ''; return true })(document.querySelector(%s))" % js(sel))
    cdp.call("Input.insertText", text=value)


def login(who, keyboard=False):
    type_into("#token", hub.tokens[who])
    if keyboard:  # Enter in the focused token field, through the browser's key events
        for kind in ("rawKeyDown", "char", "keyUp"):
            cdp.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                     **({"text": "\r"} if kind == "char" else {}))
    else:
        click("#login-form button[type=submit]")
    cdp.wait("!document.getElementById('session').hidden && %s.includes(%s)" % (text("#whoami"), js(who)),
             "%s logged in" % who)


def count_records(path):
    return len(servelib.msp_records(path))


try:
    hub.start("--rate", "0", "--library-dir", hub.dir, "--www", www)
    base = "http://127.0.0.1:%d/" % hub.port
    chrome_log = open(os.path.join(hub.dir, "chromium.log"), "w")
    chrome = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--metrics-recording-only",
         "--window-size=1280,1600", "about:blank"],
        stdout=chrome_log, stderr=chrome_log, start_new_session=True)
    portfile = os.path.join(profile, "DevToolsActivePort")
    end = time.time() + T_WAIT
    while time.time() < end and not (os.path.exists(portfile) and open(portfile).read().count("\n") >= 1):
        if chrome.poll() is not None:
            raise SystemExit("chromium exited at start (code %s); see %s" % (chrome.returncode, chrome_log.name))
        time.sleep(0.05)
    if not os.path.exists(portfile):
        raise Timeout("chromium did not open its DevTools port within %.0f s" % T_WAIT)
    dport = int(open(portfile).read().split("\n")[0])
    targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % dport, timeout=T_WAIT))
    page = [t for t in targets if t.get("type") == "page"][0]
    cdp = CDP(page["webSocketDebuggerUrl"])
    cdp.call("Page.enable")
    cdp.call("Runtime.enable")
    t_browser = time.time() - T0

    # ---- a laboratory: log in, upload, see the submission and its results -------------------
    cdp.call("Page.navigate", url=base)
    cdp.wait("document.body && document.body.dataset.ready === '1'", "the dashboard to load")
    F.check(not cdp.eval("document.getElementById('login').hidden"), "the login form is shown first")
    F.eq(cdp.eval("document.querySelector('label[for=token]') !== null"), True, "the token input has a label")
    shot("login")
    login("Lab A")
    F.check(cdp.eval("!document.getElementById('lab').hidden && document.getElementById('curator').hidden"),
            "a laboratory sees its own section, not the curator's")
    F.eq(cdp.eval("sessionStorage.getItem('npswatch.token')"), hub.tokens["Lab A"], "the token is kept in sessionStorage")
    F.eq(cdp.eval("document.querySelectorAll('#submissions tbody tr').length"), 0, "a new laboratory has no submissions")
    shot("lab-login")

    lab_a = os.path.join(ex, "lab_a.msp")
    n_a = count_records(lab_a)
    doc = cdp.call("DOM.getDocument")
    node = cdp.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#upload-file")["nodeId"]
    cdp.call("DOM.setFileInputFiles", files=[lab_a], nodeId=node)
    click("#upload-button")
    cdp.wait(text("#upload-result") + ".includes('Stored as submission 1')", "the upload's answer", 30)
    cdp.wait("document.querySelectorAll('#submissions tbody tr').length === 1", "the submissions table")
    rows = cdp.eval("[...document.querySelectorAll('#results-table tbody tr')]"
                    ".map(r => [...r.cells].map(c => c.textContent))")
    F.eq(len(rows or []), n_a, "one result row per spectrum of lab_a.msp")
    F.check(all(r[2] in ("in_library", "analogue", "unknown") for r in rows or []),
            "every result row has a verdict (%s)" % [r[2] for r in rows or []])
    sub_row = cdp.eval("[...document.querySelector('#submissions tbody tr').cells].map(c => c.textContent)")
    F.eq((sub_row or [None] * 3)[2], "lab_a.msp", "the submissions table names the uploaded file")
    F.eq(cdp.eval(text("#results-meta") + ".includes(%s)" % js(hashlib.sha256(open(lab_a, "rb").read()).hexdigest())),
         True, "the results show the SHA-256 of the uploaded bytes")
    F.check("not identifications" in cdp.eval("document.body.textContent"), "the page says: not identifications")
    shot("lab-upload")
    st, subs = hub.json("GET", "/api/v1/submissions", "Lab A")
    F.eq(((subs or {}).get("total"), ((subs or {}).get("submissions") or [{}])[0].get("sha256")),
         (1, hashlib.sha256(open(lab_a, "rb").read()).hexdigest()), "the API has the browser's upload, byte for byte")

    # an unreadable file: the API's error is shown, nothing is stored
    junk = os.path.join(hub.dir, "synthetic_not_spectra.txt")
    with open(junk, "w") as f:
        f.write("synthetic test file: this is not a spectra file\n")
    cdp.call("DOM.setFileInputFiles", files=[junk], nodeId=node)
    click("#upload-button")
    err = cdp.wait("!document.getElementById('error').hidden && " + text("#error"), "the upload's error")
    F.check("422" in err and "unreadable_file" in err, "an unreadable upload shows the API's 422 error (%r)" % err)
    F.eq(cdp.eval("document.querySelectorAll('#submissions tbody tr').length"), 1, "the failed upload stored nothing")
    shot("lab-upload-error")

    # ---- the other laboratories submit through the API -----------------------------------------
    for k, who in (("b", "Lab B"), ("c", "Lab C")):
        st, _ = hub.submit(who, open(os.path.join(ex, "lab_%s.msp" % k), "rb").read(), "lab_%s.msp" % k)
        F.eq(st, 201, "%s submits lab_%s.msp" % (who, k))

    # ---- the curator: signals, mirror plot, timeline ------------------------------------------
    click("#logout")
    cdp.wait("!document.getElementById('login').hidden", "the login form after logging out")
    F.eq(cdp.eval("sessionStorage.getItem('npswatch.token')"), None, "logging out forgets the token")
    login("Curator", keyboard=True)
    F.check(cdp.eval("document.getElementById('lab').hidden && !document.getElementById('curator').hidden"),
            "a curator sees the curator section")
    click("#refresh-signals")
    cdp.wait("document.querySelectorAll('#signals tbody tr').length > 0", "signals after clustering")
    st, api_sigs = hub.json("GET", "/api/v1/signals", "Curator")
    api_sigs = (api_sigs or {}).get("signals", [])
    page_sigs = cdp.eval("[...document.querySelectorAll('#signals tbody tr')]"
                         ".map(r => [parseFloat(r.cells[0].textContent), parseInt(r.cells[1].textContent)])")
    F.eq(sorted(s for _, s in page_sigs), sorted(s["id"] for s in api_sigs), "the page lists the API's signals")
    want = [s["id"] for s in sorted(api_sigs, key=lambda s: (-s["details"]["urgency"], s["id"]))]
    F.eq([s for _, s in page_sigs], want, "signals ranked by urgency, most urgent first")
    shot("curator-signals")
    S = page_sigs[0][1]
    click("#signals tbody tr:first-child button")
    cdp.wait("!document.getElementById('signal').hidden && " + text("#mirror-cap") + ".length > 0", "the signal")
    st, sig = hub.json("GET", "/api/v1/signals/%d" % S, "Curator")
    ref = (sig or {}).get("reference") or {}
    F.check(ref.get("name") and ref["name"] in cdp.eval(text("#mirror-cap")),
            "the mirror plot names the reference spectrum %r" % ref.get("name"))
    # the canvases were drawn: count pixels of the two plot colours (library red, consensus blue)
    painted = cdp.eval("""(() => { const c = document.getElementById('mirror');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let red = 0, blue = 0;
        for (let i = 0; i < d.length; i += 4) { if (d[i] > 150 && d[i+1] < 80 && d[i+2] < 80) red++;
                                                if (d[i] < 80 && d[i+1] < 120 && d[i+2] > 120) blue++; }
        const t = document.getElementById('timeline'); const e = t.getContext('2d').getImageData(0, 0, t.width, t.height).data;
        let tl = 0; for (let i = 0; i < e.length; i += 4) if (e[i] > 150 && e[i+1] < 80) tl++;
        return [red, blue, tl]; })()""")
    F.check(painted[0] > 200 and painted[1] > 200, "the mirror plot has library (red, down) and consensus (blue, up) peaks %s" % painted)
    F.check(painted[2] > 200, "the timeline has its recent-window bar (%d pixels)" % painted[2])
    shot("curator-signal")

    # ---- an advisory (npswatch advise), opened and accepted in the page -----------------------
    r = servelib.run([hub.bin, "advise", "--ledger", hub.ledger, "--signal", str(S), "-o",
                      os.path.join(hub.dir, "advisory"), "-l", hub.lib])
    F.eq(r.returncode, 0, "npswatch advise --signal %d (%s)" % (S, r.stderr.strip()[-200:]))
    K = ([l.split(": ", 1)[1] for l in r.stdout.splitlines() if l.startswith("advisory_key: ")] or ["NONE"])[0]
    cdp.call("Page.reload")
    cdp.wait("document.body && document.body.dataset.ready === '1' && !document.getElementById('curator').hidden && "
             "document.querySelectorAll('#advisories tbody tr').length > 0", "the advisories after a reload")
    F.check(text("#whoami") and "Curator" in cdp.eval(text("#whoami")), "the session survives a reload")
    cdp.eval("[...document.querySelectorAll('#advisories tbody tr')].find(r => r.cells[0].textContent === %s)"
             ".querySelector('button').click(), true" % js(K))
    cdp.wait("!document.getElementById('advisory').hidden && " + text("#advisory-state") + ".includes('draft')",
             "the advisory %s" % K)
    cdp.wait("['advisory-mirror', 'advisory-timeline'].every(i => { const m = document.getElementById(i);"
             " return !m.hidden && m.complete && m.naturalWidth > 100; })", "the advisory's PNG figures")
    shot("advisory")
    type_into("#accept-name", "signal %d consensus (browser test)" % S)
    type_into("#accept-note", "accepted in the dashboard test")
    click("#accept-button")
    msg = cdp.wait("(t => t.includes('accepted') && t)(" + text("#review-result") + ")", "the accept's answer", 30)
    F.check(K in msg and "new library version" in msg, "the page reports the new library version (%r)" % msg)
    F.eq(cdp.eval("[...document.querySelectorAll('#advisories tbody tr')].find(r => r.cells[0].textContent === %s)"
                  ".cells[3].textContent" % js(K)), "accepted", "the advisories table shows the advisory accepted")
    F.check(cdp.eval("document.getElementById('review').hidden"), "an accepted advisory offers no review any more")
    shot("advisory-accepted")
    st, adv = hub.json("GET", "/api/v1/advisories/" + K, "Curator")
    F.eq((st, (adv or {}).get("state")), (200, "accepted"), "the API has the advisory accepted")
    F.check(os.path.exists(os.path.join(hub.dir, "%s-v1.h5" % K)), "the new library version file exists")

    exc = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    F.eq([e["params"]["exceptionDetails"].get("text") for e in exc], [], "no JavaScript exception in the page")
except (Timeout, RuntimeError, OSError, websocket.WebSocketException) as e:
    F.check(False, "browser scenario stopped: %s: %s" % (type(e).__name__, e))
finally:
    signal.alarm(0)
    if cdp:
        try:
            cdp.call("Browser.close", timeout=5)
        except Exception:
            pass
        cdp.close()
    if chrome:
        try:
            chrome.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(chrome.pid, signal.SIGKILL)  # its own session: the browser and its helpers
            chrome.wait(timeout=10)
    shutil.rmtree(profile, ignore_errors=True)
    rc = hub.stop()

F.eq(rc, 0, "the service stops on SIGTERM with exit 0")
db = sqlite3.connect("file:%s?mode=ro" % hub.ledger, uri=True)
row = db.execute("SELECT state, reviewer FROM advisories WHERE advisory_key = ?", (K if "K" in dir() else "",)).fetchone()
db.close()
F.check(row is not None and row[0] == "accepted", "the ledger file has the advisory accepted (%r)" % (row,))
r = servelib.run([hub.bin, "audit", "verify", hub.ledger])
F.eq(r.returncode, 0, "npswatch audit verify (%s)" % r.stderr.strip()[-200:])
print("screenshots: %s (%d files)" % (shots, len(os.listdir(shots))))
print("timing: browser ready after %.1f s, whole test %.1f s" % (t_browser if "t_browser" in dir() else -1,
                                                                 time.time() - T0))
F.done("test_dashboard")
