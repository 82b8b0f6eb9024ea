// npswatch dashboard (docs/service.md, "Dashboard"): plain ES module, no build step, no network
// beyond this service. Every call goes to /api/v1/ with the token from sessionStorage as a
// Bearer token; data is put into the page with textContent only (never as HTML).
const API = "/api/v1";
const KEY = "npswatch.token";
const $ = (id) => document.getElementById(id);

// ---- API calls and errors ------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  const tok = sessionStorage.getItem(KEY);
  if (tok) headers["Authorization"] = "Bearer " + tok;
  let r;
  try {
    r = await fetch(API + path, Object.assign({}, opts, { headers, cache: "no-store" }));
  } catch (e) {
    throw new ApiError(0, "network", "the service cannot be reached (" + e.message + ")");
  }
  if (!r.ok) {
    let code = "http_error", msg = r.statusText || "request failed";
    try {
      const j = await r.json();
      if (j && j.error) { code = j.error.code || code; msg = j.error.message || msg; }
    } catch (_) { /* not JSON (e.g. libmicrohttpd's own 431): keep the status text */ }
    throw new ApiError(r.status, code, msg);
  }
  return opts.raw ? r : r.json();
}

function showError(e, what) {
  const box = $("error");
  box.textContent = (what ? what + ": " : "") + (e && e.message ? e.message : String(e));
  box.hidden = false;
  if (e instanceof ApiError && e.status === 401) logout("Your token was not accepted; log in again.");
}

function clearError() { $("error").hidden = true; $("error").textContent = ""; }
function status(text) { $("status").textContent = text; }

// Run an action, showing its error; buttons of the form are disabled meanwhile.
async function guarded(what, fn, form) {
  clearError();
  const btns = form ? form.querySelectorAll("button") : [];
  btns.forEach((b) => (b.disabled = true));
  try { return await fn(); } catch (e) { showError(e, what); return undefined; }
  finally { btns.forEach((b) => (b.disabled = false)); }
}

// ---- small DOM helpers ---------------------------------------------------------------------
function el(tag, text, attrs) {
  const n = document.createElement(tag);
  if (text !== undefined && text !== null) n.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  return n;
}
function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    const td = el("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "—" : String(c);
    tr.appendChild(td);
  }
  return tr;
}
function fill(tableId, rows, emptyId) {
  const tb = $(tableId).querySelector("tbody");
  tb.replaceChildren(...rows);
  if (emptyId) $(emptyId).hidden = rows.length > 0;
}
function button(text, label, onclick) {
  const b = el("button", text, { type: "button", "aria-label": label });
  b.addEventListener("click", onclick);
  return b;
}
const fmt = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "—");

// ---- session -------------------------------------------------------------------------------
let me = null;

async function login(token) {
  sessionStorage.setItem(KEY, token);
  try {
    me = await api("/me");
  } catch (e) {
    sessionStorage.removeItem(KEY);
    throw e;
  }
  $("whoami").textContent = `${me.name} (${me.role}, ${me.country})`;
  $("session").hidden = false;
  $("login").hidden = true;
  $("lab").hidden = me.role !== "lab";
  $("curator").hidden = me.role === "lab";
  if (me.role === "lab") await loadSubmissions();
  else await Promise.all([loadSignals(), loadAdvisories()]);
  status(`Logged in as ${me.name}.`);
}

function logout(msg) {
  sessionStorage.removeItem(KEY);
  me = null;
  for (const id of ["session", "lab", "curator", "results", "signal", "advisory"]) $(id).hidden = true;
  $("login").hidden = false;
  $("token").value = "";
  status(msg || "Logged out.");
}

// ---- laboratory: submissions, results, upload ----------------------------------------------
async function loadSubmissions() {
  const j = await api("/submissions?limit=100");
  fill("submissions", j.submissions.map((s) =>
    row([s.number, s.received_utc, s.file_name, s.format, s.n_spectra, s.n_skipped,
         button("Results", `Results of submission ${s.number}`,
                () => guarded("Results", () => showResults(s.number)))])), "subs-empty");
}

function resultRows(spectra) {
  return spectra.map((sp) => {
    const r = (sp.results || [])[0];
    if (!r) return row([sp.position, sp.name, sp.status, null, null, null, null]);
    return row([sp.position, sp.name, r.verdict, fmt(r.confidence),
                r.best_name ? `${r.best_name} (${r.best_mf}/${r.best_rmf})` : null,
                r.analogue_name ? `${r.analogue_name} (${r.analogue_delta >= 0 ? "+" : ""}${fmt(r.analogue_delta, 0)})` : null,
                r.predicted_class ? `${r.predicted_class} (${fmt(r.class_confidence)})` : null]);
  });
}

function renderResults(j) {
  $("results-h").textContent = `Results of submission ${j.number} (${j.file_name})`;
  const rep = j.report || {};
  $("results-meta").textContent = `${j.n_spectra} spectra read, ${j.n_skipped} records skipped; ` +
    `SHA-256 ${j.sha256}. ` + (j.note || "");
  fill("results-table", resultRows(j.spectra || []));
  if (rep.first_errors && rep.first_errors.length)
    $("results-meta").textContent += " Skipped: " + rep.first_errors.map((x) => x.message || JSON.stringify(x)).join("; ");
  $("results").hidden = false;
}

async function showResults(n) {
  renderResults(await api(`/submissions/${n}/results`));
}

async function upload(ev) {
  ev.preventDefault();
  const f = $("upload-file").files[0];
  if (!f) { showError(new Error("choose a file first"), "Upload"); return; }
  await guarded("Upload of " + f.name, async () => {
    status(`Uploading ${f.name} ...`);
    const fd = new FormData();
    fd.append("file", f, f.name);
    const j = await api("/submissions", { method: "POST", body: fd });
    const out = $("upload-result");
    out.replaceChildren(el("p", `Stored as submission ${j.number}: ${j.n_spectra} spectra read, ` +
                                `${j.n_skipped} records skipped.`, { class: "ok" }));
    renderResults(j);
    await loadSubmissions();
    status(`Uploaded ${f.name}.`);
  }, $("upload-form"));
}

// ---- curator: signals ------------------------------------------------------------------------
const urgency = (s) => (s.details && typeof s.details.urgency === "number" ? s.details.urgency : s.score);

async function loadSignals() {
  const j = await api("/signals");
  const sigs = (j.signals || []).slice().sort((a, b) => urgency(b) - urgency(a) || a.id - b.id);
  fill("signals", sigs.map((s) => {
    const d = s.details || {};
    const na = (d.nearest_analogues || [])[0];
    return row([fmt(urgency(s), 1), s.id, s.predicted_class, s.n_labs, s.countries, d.n_spectra,
                d.trend ? `${d.trend.label} (${d.trend.recent} recent / ${d.trend.previous} before)` : null,
                na ? `${na.name} (ΔM ${na.median_delta_mass >= 0 ? "+" : ""}${na.median_delta_mass})` : null,
                s.status,
                button("Open", `Open signal ${s.id}`, () => guarded("Signal " + s.id, () => showSignal(s.id)))]);
  }), "signals-empty");
}

async function showSignal(id) {
  const s = await api(`/signals/${id}`);
  const d = s.details || {};
  $("signal-h").textContent = `Signal ${s.id}: ${s.predicted_class || "unclassified"} (urgency ${fmt(urgency(s), 1)})`;
  $("signal-summary").textContent = `Seen by ${s.n_labs} laboratories (${s.countries}) in ${d.n_spectra} spectra, ` +
    `first ${d.first_seen}, last ${d.last_seen}; cohesion ${fmt(d.cohesion, 3)}; status ${s.status}.`;
  drawMirror($("mirror"), s.consensus || [], s.reference);
  $("mirror-cap").textContent = s.reference
    ? `Mirror plot: the signal's consensus spectrum (up) against library spectrum ${s.reference.library_index} ` +
      `${s.reference.name} (${s.reference.accession || "no accession"}, down), intensities relative to each base peak.`
    : "Consensus spectrum of the signal (the library holds no analogue to compare with).";
  drawTimeline($("timeline"), d);
  $("timeline-cap").textContent = d.trend
    ? `Timeline: first seen ${d.first_seen}, last seen ${d.last_seen}; ${d.trend.previous} spectra in the ` +
      `${d.trend.window_days} days before the last ${d.trend.window_days} days, ${d.trend.recent} in them (${d.trend.label}).`
    : "No timeline.";
  const adv = $("signal-advisories");
  const keys = s.advisories || [];
  adv.replaceChildren(el("span", keys.length ? "Advisories: " : "No advisory yet (write one with npswatch advise)."));
  for (const k of keys) adv.appendChild(button(k, `Open advisory ${k}`, () => guarded("Advisory " + k, () => showAdvisory(k))));
  $("signal").hidden = false;
}

// Mirror plot on a canvas: query up, reference down (inverted), each scaled to its base peak.
function drawMirror(cv, top, ref) {
  const g = cv.getContext("2d"), W = cv.width, H = cv.height, L = 48, R = 12, T = 16, B = 30;
  g.clearRect(0, 0, W, H);
  g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
  const bot = ref ? ref.peaks || [] : [];
  const all = top.concat(bot);
  if (!all.length) return;
  const lo = Math.max(0, Math.floor(Math.min(...all.map((p) => p[0])) / 10) * 10 - 10);
  const hi = Math.ceil(Math.max(...all.map((p) => p[0])) / 10) * 10 + 10;
  const mid = T + (H - T - B) / 2, half = (H - T - B) / 2;
  const x = (mz) => L + ((mz - lo) / (hi - lo)) * (W - L - R);
  const maxT = Math.max(1e-9, ...top.map((p) => p[1])), maxB = Math.max(1e-9, ...bot.map((p) => p[1]));
  g.strokeStyle = "#444"; g.lineWidth = 1;
  g.beginPath(); g.moveTo(L, mid); g.lineTo(W - R, mid); g.moveTo(L, T); g.lineTo(L, H - B); g.stroke();
  g.fillStyle = "#222"; g.font = "11px sans-serif"; g.textAlign = "center";
  const step = (hi - lo) > 300 ? 50 : (hi - lo) > 120 ? 20 : 10;
  for (let m = Math.ceil(lo / step) * step; m <= hi; m += step) g.fillText(String(m), x(m), H - B + 14);
  g.fillText("m/z", (L + W - R) / 2, H - 4);
  g.textAlign = "right";
  g.fillText("100", L - 4, T + 4); g.fillText("0", L - 4, mid + 4); g.fillText("100", L - 4, H - B);
  const bars = (pk, max, sign, colour) => {
    g.strokeStyle = colour; g.lineWidth = 1.5; g.beginPath();
    for (const [mz, it] of pk) { g.moveTo(x(mz), mid); g.lineTo(x(mz), mid - sign * half * it / max); }
    g.stroke();
    g.fillStyle = colour; g.textAlign = "left";
    for (const [mz, it] of pk.slice().sort((a, b) => b[1] - a[1]).slice(0, 5)) {
      const y = mid - sign * (half * it / max - 10);  // beside the bar's tip, inside the plot
      g.fillText(String(Math.round(mz)), x(mz) + 3, Math.min(H - B - 2, Math.max(T + 10, y)));
    }
  };
  // colours as in the advisory's mirror.png: query (consensus) blue up, library red down
  bars(top, maxT, 1, "#1f4e99");
  bars(bot, maxB, -1, "#b3261e");
  g.textAlign = "left"; g.fillStyle = "#1f4e99"; g.fillText("consensus", L + 6, T + 10);
  if (ref) { g.fillStyle = "#b3261e"; g.fillText(`library: ${ref.name}`, L + 6, H - B - 4); }
}

// Timeline on a canvas: the span first seen .. last seen and the spectra in the two trend windows.
function drawTimeline(cv, d) {
  const g = cv.getContext("2d"), W = cv.width, H = cv.height;
  g.clearRect(0, 0, W, H);
  g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
  if (!d.trend) return;
  const t = d.trend, max = Math.max(1, t.recent, t.previous), base = H - 40, top = 20;
  const bar = (i, n, label, colour) => {
    const w = 90, x0 = 60 + i * 150, h = (base - top) * n / max;
    g.fillStyle = colour; g.fillRect(x0, base - h, w, h);
    g.fillStyle = "#222"; g.font = "12px sans-serif"; g.textAlign = "center";
    g.fillText(String(n), x0 + w / 2, base - h - 4);
    g.fillText(label, x0 + w / 2, base + 16);
  };
  bar(0, t.previous, `${t.window_days} days before`, "#9aa5b1");
  bar(1, t.recent, `last ${t.window_days} days`, "#b3261e");
  g.textAlign = "left"; g.fillStyle = "#222";
  g.fillText(`first seen ${d.first_seen} · last seen ${d.last_seen} · ${t.label}`, 10, H - 6);
}

// ---- curator: advisories ---------------------------------------------------------------------
let current = null; // the advisory shown: {key, version, state}

async function loadAdvisories() {
  const j = await api("/advisories");
  fill("advisories", (j.advisories || []).map((a) =>
    row([a.key, a.version, a.signal_id, a.state, a.created_utc,
         a.reviewed_utc ? `${a.reviewed_utc} by ${a.reviewer || "?"}` : null,
         button("Open", `Open advisory ${a.key} version ${a.version}`,
                () => guarded("Advisory " + a.key, () => showAdvisory(a.key)))])), "advisories-empty");
}

const objectUrls = [];
async function pngInto(img, path) {
  try {
    const r = await api(path, { raw: true });
    const u = URL.createObjectURL(await r.blob());
    objectUrls.push(u);
    img.src = u;
    img.hidden = false;
  } catch (e) {
    img.hidden = true;
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
}

async function showAdvisory(key) {
  const a = await api(`/advisories/${encodeURIComponent(key)}`);
  current = { key: a.key, version: a.version, state: a.state };
  const doc = a.advisory || {};
  $("advisory-h").textContent = `Advisory ${a.key} version ${a.version}`;
  $("advisory-state").textContent = `State: ${a.state}` +
    (a.reviewed_utc ? `, reviewed ${a.reviewed_utc} by ${a.reviewer || "?"}` : "") + (a.note ? ` (${a.note})` : "");
  $("advisory-title").textContent = (doc.advisory && doc.advisory.title) || "";
  const ref = doc.library_comparison && doc.library_comparison.reference;
  $("accept-name").value = $("accept-name").value || (doc.advisory && doc.advisory.title ? `${a.key} consensus` : "");
  $("accept-class").value = (doc.substance && doc.substance.predicted_class) || "";
  $("review").hidden = a.state !== "draft";
  $("review-result").replaceChildren();
  while (objectUrls.length) URL.revokeObjectURL(objectUrls.pop());
  const base = `/advisories/${encodeURIComponent(a.key)}`;
  await Promise.all([pngInto($("advisory-mirror"), base + "/mirror.png"),
                     pngInto($("advisory-timeline"), base + "/timeline.png")]);
  $("advisory-mirror").alt = ref ? `Mirror plot: consensus against ${ref.name}` : "Mirror plot";
  $("advisory").hidden = false;
}

async function downloadMarkdown(ev) {
  ev.preventDefault();
  if (!current) return;
  await guarded("advisory.md", async () => {
    const r = await api(`/advisories/${encodeURIComponent(current.key)}/advisory.md`, { raw: true });
    const u = URL.createObjectURL(await r.blob());
    const a = el("a", null, { href: u, download: `${current.key}.md` });
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(u), 10000);
  });
}

async function review(ev, verb) {
  ev.preventDefault();
  if (!current) return;
  const form = ev.target, body = {};
  for (const f of ["name", "class", "note"]) {
    const inp = form.elements.namedItem(f);
    if (inp && inp.value.trim()) body[f] = inp.value.trim();
  }
  await guarded(`${verb === "accept" ? "Accept" : "Reject"} ${current.key}`, async () => {
    const j = await api(`/advisories/${encodeURIComponent(current.key)}/${verb}`,
                        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const lib = j.library;
    $("review-result").replaceChildren(el("p",
      `${j.key} version ${j.version} is now ${j.state}` +
      (lib ? `: new library version ${lib.name} ${lib.version} (${lib.spectra} spectra, content SHA-256 ${lib.content_sha256}).` : "."),
      { class: "ok" }));
    await Promise.all([loadAdvisories(), loadSignals()]);
    const keep = $("review-result").cloneNode(true);
    await showAdvisory(current.key);
    $("review-result").replaceWith(keep);
    status(`${j.key} ${j.state}.`);
  }, form);
}

// ---- start -----------------------------------------------------------------------------------
function start() {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (!t) return;
    guarded("Log in", () => login(t), $("login-form"));
  });
  $("logout").addEventListener("click", () => logout());
  $("upload-form").addEventListener("submit", upload);
  $("refresh-signals").addEventListener("click", () => guarded("Cluster again", async () => {
    const j = await api("/signals/refresh", { method: "POST" });
    status(j.update ? `Clustered: ${j.update.signals} signals (${j.update.new} new, ${j.update.changed} changed).` : "Clustered.");
    await loadSignals();
  }));
  $("accept-form").addEventListener("submit", (ev) => review(ev, "accept"));
  $("reject-form").addEventListener("submit", (ev) => review(ev, "reject"));
  $("advisory-md").addEventListener("click", downloadMarkdown);
  api("/version").then((v) => { $("version").textContent = `${v.npswatch} · library ${v.library.name} ${v.library.version}`; })
    .catch(() => {});
  const t = sessionStorage.getItem(KEY);
  if (t) guarded("Log in", () => login(t));
  document.body.dataset.ready = "1";
}
start();
