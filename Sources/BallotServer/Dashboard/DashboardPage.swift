/// The observer dashboard served at `GET /`: one self-contained page (no external scripts,
/// fonts or styles; works offline). It polls `GET /v1/status` (numbers counted from the log),
/// checks the checkpoint's and the results' Ed25519 signatures against the server key of log
/// entry 0 and a ballot's inclusion proof in the browser (WebCrypto), and speaks Kyrgyz,
/// Russian and English: its sentences come from `Resources/web/{ky,ru,en}.json`
/// (`Translations`), placed in the page when it is built.
enum DashboardPage {
    static let html = template.replacingOccurrences(of: "__TRANSLATIONS__", with: Translations.scriptJSON())

    /// The page with `__TRANSLATIONS__` where the sentences of every language go. Visible text
    /// carries `data-i18n="key"`; the script fills it in the chosen language.
    static let template = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Election observer dashboard</title>
<style>
  :root { --ink: #14213d; --muted: #5c6475; --line: #d9dde5; --ok: #1b7f3b; --bad: #b42318; --accent: #2451b7; --bg: #f6f7f9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); overflow-wrap: break-word; }
  header { padding: 20px 28px; background: var(--ink); color: #fff; display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: flex-start; justify-content: space-between; }
  header .title { min-width: 0; flex: 1 1 300px; }
  header h1 { margin: 0; font-size: 1.6em; }
  header .sub { color: #c9d3ea; font-size: .9em; }
  header label { font-size: .85em; color: #c9d3ea; }
  header select { font: inherit; font-size: .9em; margin-left: 6px; padding: 4px 6px; border-radius: 6px; border: 0; }
  main { display: grid; gap: 18px; padding: 18px 28px 40px; grid-template-columns: repeat(auto-fit, minmax(min(340px, 100%), 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { margin: 0 0 10px; font-size: 1.15em; }
  h3 { margin: 14px 0 4px; font-size: 1.05em; }
  .big { font-size: 2.1em; font-weight: 700; }
  .muted { color: var(--muted); font-size: .85em; }
  .mono, code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
  .mono { font-size: .8em; word-break: break-all; }
  table { width: 100%; border-collapse: collapse; font-size: .95em; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .state { display: inline-block; padding: 2px 12px; border-radius: 999px; background: #e8edf8; font-weight: 600; }
  .ok { color: var(--ok); } .bad { color: var(--bad); }
  .bar { height: 14px; background: var(--accent); border-radius: 3px; min-width: 2px; }
  .elected .bar { background: var(--ok); }
  .elected td:first-child { font-weight: 600; }
  .winner { font-weight: 600; border-bottom: 1px dotted var(--muted); cursor: help; }
  input { font: inherit; width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
  button { font: inherit; margin-top: 8px; padding: 8px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  pre { background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 6px; font-size: .85em; white-space: pre-wrap; }
  .district-results { margin-bottom: 14px; }
  .signature { margin: 6px 0 0; font-size: .9em; }
  @media (max-width: 600px) {
    body { font-size: 16px; } main { padding: 10px; gap: 10px; } header { padding: 14px; } section { padding: 12px 14px; }
    /* The districts table becomes one card per district: no sideways scrolling on a phone. */
    table.cards thead { display: none; }
    table.cards tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
    table.cards td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 0; text-align: right; }
    table.cards td::before { content: attr(data-label); color: var(--muted); text-align: left; }
    table.cards td:first-child { font-weight: 600; text-align: left; }
    table.cards td:first-child::before { content: none; }
  }
</style>
</head>
<body>
<header>
  <div class="title">
    <h1 id="election-name">Election</h1>
    <div class="sub"><span data-i18n="header.electionHash">Election hash</span> <span id="election-hash" class="mono"></span></div>
  </div>
  <div><label for="language" data-i18n="language.label">Language</label><select id="language"></select></div>
</header>
<main>
  <section>
    <h2 data-i18n="status.heading">Status</h2>
    <div><span class="state" id="state">…</span></div>
    <p class="muted" id="window"></p>
    <div class="big" id="total-ballots">0</div><div class="muted" id="total-text"></div>
  </section>
  <section>
    <h2 data-i18n="checkpoint.heading">Latest signed checkpoint</h2>
    <div class="big" id="tree-size">0</div><div class="muted" data-i18n="checkpoint.entries">log entries, all signed by the server</div>
    <p><span data-i18n="checkpoint.root">Root hash</span> <span class="mono" id="root-hash"></span></p>
    <p class="muted" id="checkpoint-time"></p>
    <p class="signature" id="checkpoint-signature" data-i18n="signature.checking">Checking the signatures in this browser…</p>
  </section>
  <section>
    <h2 data-i18n="check.heading">Check my ballot</h2>
    <p class="muted" data-i18n="check.help">Paste the short code from your receipt (or the full tracking code).</p>
    <input id="tracking-code" data-i18n-placeholder="check.placeholder" placeholder="e.g. 7EHS-4YBS-PZCQ-K2PH, or the 64-digit code" autocomplete="off">
    <button id="check-button" type="button" data-i18n="check.button">Check</button>
    <p id="check-result"></p>
  </section>
  <section class="wide">
    <h2 data-i18n="districts.heading">Districts</h2>
    <table class="cards">
      <thead><tr><th data-i18n="districts.district">District</th><th class="n" data-i18n="districts.roll">Roll</th><th class="n" data-i18n="districts.enrolled">Enrolled</th><th class="n" data-i18n="districts.ballots">Ballots</th><th class="n" data-i18n="districts.turnout">Turnout</th><th class="n" data-i18n="districts.spoiled">Challenged</th></tr></thead>
      <tbody id="districts"></tbody>
    </table>
  </section>
  <section>
    <h2 data-i18n="rejections.heading">Refusals by code</h2>
    <p class="muted" data-i18n="rejections.help">Counted by this server process; a refused request never reaches the log.</p>
    <table><tbody id="rejections"></tbody></table>
  </section>
  <section>
    <h2 data-i18n="audit.heading">Check it yourself</h2>
    <p data-i18n="audit.help">Anyone can verify the whole election from the public record:</p>
    <pre id="audit-command">voter audit --server …</pre>
    <p class="muted"><span data-i18n="audit.more">To check your own ballot:</span> <code id="verify-command">voter verify --server … --receipt receipt.json</code></p>
  </section>
  <section class="wide" id="results-section" hidden>
    <h2 data-i18n="results.heading">Results</h2>
    <p class="muted" id="results-note"></p>
    <p class="signature" id="results-signature" data-i18n="signature.checking">Checking the signatures in this browser…</p>
    <div id="results"></div>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fromHex = (s) => Uint8Array.from((s || "").match(/../g) || [], (h) => parseInt(h, 16));
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const concat = (...parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const text = (id, value) => { $(id).textContent = value; };
const when = (ms) => ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";

// MARK: languages

// Every language's sentences (Resources/web/{en,ru,ky}.json); error codes stay English.
const TRANSLATIONS = __TRANSLATIONS__;
const LANGUAGES = ["ky", "ru", "en"].filter((l) => TRANSLATIONS[l]);
const STORED_LANGUAGE = "evote.dashboard.language";
let language = "en";

// The remembered choice, else the browser's first language we speak, else English.
function initialLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORED_LANGUAGE); } catch (e) { /* storage disabled */ }
  if (stored && TRANSLATIONS[stored]) return stored;
  for (const l of (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""])) {
    const code = (l || "").toLowerCase().split(/[-_]/)[0];
    if (TRANSLATIONS[code]) return code;
  }
  return "en";
}

// The sentence `key` in the chosen language (English, then the key, when it is missing) with `{name}` filled in.
function t(key, values) {
  const table = TRANSLATIONS[language] || {};
  const english = TRANSLATIONS.en || {};
  let sentence = table[key] ?? english[key] ?? key;
  for (const [name, value] of Object.entries(values || {})) sentence = sentence.split("{" + name + "}").join(String(value));
  return sentence;
}

// Shows sentence `key` in `element` and remembers it, so a language switch re-renders it.
function say(element, key, values) {
  element.dataset.i18n = key;
  element.i18nValues = values || {};
  element.textContent = t(key, values);
}

// A name from the manifest in the chosen language when it gives one, as written otherwise.
const localName = (item) => (item && item.names && item.names[language]) || (item && item.name) || "";

function listNames(items) {
  if (items.length < 2) return items.join("");
  return items.slice(0, -1).join(", ") + " " + t("list.and") + " " + items[items.length - 1];
}

function applyLanguage() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n, element.i18nValues);
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
  $("language").value = language;
  if (lastStatus) render(lastStatus);
  renderSignatures();
}

function chooseLanguage(chosen) {
  if (!TRANSLATIONS[chosen]) return;
  language = chosen;
  try { localStorage.setItem(STORED_LANGUAGE, chosen); } catch (e) { /* storage disabled: the choice lasts for this visit */ }
  applyLanguage();
}

// MARK: canonical bytes (docs/protocol.md §2)

const enc = new TextEncoder();
const u32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return b; };
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; };
const bytes = (b) => concat(u32(b.length), b);
const str = (s) => bytes(enc.encode(s));
const list = (items, write) => concat(u32(items.length), ...items.map(write));

// A reader over canonical bytes: every read is bounds-checked.
function reader(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  const need = (n) => { if (o + n > data.length) throw new Error("truncated bytes"); };
  return {
    u32() { need(4); const v = view.getUint32(o); o += 4; return v; },
    u64() { need(8); const v = view.getBigUint64(o); o += 8; return v; },
    raw(n) { need(n); const v = data.subarray(o, o + n); o += n; return v; },
    bytes() { return this.raw(this.u32()); },
    string() { return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes()); },
    get done() { return o === data.length; },
  };
}

// The fields of a canonical log entry (§5.1).
function readEntry(entry) {
  const r = reader(entry);
  if (r.string() !== "evote.v2.log-entry") throw new Error("not a log entry");
  const index = r.u64(), electionHash = r.raw(32), timestamp = r.u64(), kind = r.string(), payload = r.bytes();
  if (!r.done) throw new Error("trailing bytes after the log entry");
  return { index, electionHash, timestamp, kind, payload };
}

// The ballot bytes inside a signed-ballot payload (§4.5): tag, then bytes(ballot).
function signedBallotBytes(payload) {
  const r = reader(payload);
  r.string();
  return r.bytes();
}

// MARK: signatures (Ed25519 in WebCrypto, RFC 8032)

// The server key of log entry 0 (§4.2): entry 0 must be the election setup whose SHA-256 is
// the election hash (eq. 1), so the key cannot be swapped without changing the hash.
async function serverKeyOfEntryZero(electionHash) {
  const page = await (await fetch("/v1/log/entries?start=0&limit=1")).json();
  const first = page.entries && page.entries[0];
  if (!first) throw new Error("log entry 0 is missing");
  const entry = readEntry(fromHex(first.data));
  if (entry.index !== 0n || entry.kind !== "election" || toHex(entry.electionHash) !== electionHash
      || toHex(await sha256(entry.payload)) !== electionHash) return null;
  const r = reader(entry.payload);
  if (r.string() !== "evote.v2.election-setup") return null;
  r.bytes();                 // manifest
  return r.raw(32);          // server_key
}

// eq. 10: the checkpoint's canonical bytes (§5.3).
const checkpointBytes = (c) => concat(str("evote.v2.checkpoint"), fromHex(c.election_hash), u64(c.tree_size), fromHex(c.root_hash), u64(c.timestamp));

// eq. 54: the results' canonical bytes (§13.5), rebuilt from the numbers this page shows.
const resultsBytes = (r) => concat(str("evote.v2.results"), list(r.quorum, u32), list(r.districts, (d) => concat(
  str(d.district), u32(d.roll), u32(d.ballots), list(d.counts, u64), list(d.elected, str), list(d.tied, str))));

let serverKey = null;       // CryptoKey, once entry 0 has been read and checked
let signatures = { checkpoint: "checking", results: "checking", error: "" };

async function ed25519Key(raw) {
  if (!crypto.subtle) throw new Error("no WebCrypto on this connection");
  return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

async function checkSignatures(status) {
  try {
    if (!serverKey) {
      const raw = await serverKeyOfEntryZero(status.election_hash);
      if (!raw) { signatures = { checkpoint: "entry-zero", results: "entry-zero", error: "" }; return; }
      try { serverKey = await ed25519Key(raw); }
      catch (error) { signatures = { checkpoint: "unsupported", results: "unsupported", error: error.message || error.name }; return; }
    }
    const verify = (signature, message) => crypto.subtle.verify({ name: "Ed25519" }, serverKey, fromHex(signature), message);
    const cp = status.checkpoint;
    const checkpointOk = cp.election_hash === status.election_hash && await verify(cp.signature, checkpointBytes(cp));
    let results = "none";
    if (status.results) results = (await verify(status.results.signature, resultsBytes(status.results.results))) ? "ok" : "bad";
    signatures = { checkpoint: checkpointOk ? "ok" : "bad", results, error: "" };
  } catch (error) {
    signatures = { checkpoint: "error", results: "error", error: error.message || String(error) };
  } finally {
    renderSignatures();
  }
}

function renderSignatures() {
  const show = (element, outcome, ok, bad) => {
    element.dataset.verified = outcome;
    element.className = "signature " + (outcome === "ok" ? "ok" : outcome === "checking" || outcome === "unsupported" ? "muted" : "bad");
    const key = { ok, bad, checking: "signature.checking", "entry-zero": "signature.entryZeroBad", unsupported: "signature.unsupported", error: "signature.failed" }[outcome];
    if (key) say(element, key, { error: signatures.error });
  };
  show($("checkpoint-signature"), signatures.checkpoint, "signature.checkpointOk", "signature.checkpointBad");
  show($("results-signature"), signatures.results, "signature.resultsOk", "signature.resultsBad");
}

// MARK: check my ballot (RFC 9162 inclusion proof)

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to (the same steps as VotingCore's Merkle.rootFromInclusion).
async function rootFromInclusion(leaf, index, size, proof) {
  if (index >= size) throw new Error("index is not below the tree size");
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("the proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(new Uint8Array([1]), p, r));
      if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
    } else {
      r = await sha256(concat(new Uint8Array([1]), r, p));
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof is too short");
  return r;
}

// A short code (16 Crockford base-32 characters, dashes and case free) as the hex of the
// 10 bytes it names; null when it is not one.
function shortCodePrefix(text) {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const chars = text.toUpperCase().replace(/[- ]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (chars.length !== 16) return null;
  let bits = 0, count = 0, hex = "";
  for (const c of chars) {
    const v = alphabet.indexOf(c);
    if (v < 0) return null;
    bits = (bits << 5) | v; count += 5;
    if (count >= 8) { count -= 8; hex += ((bits >> count) & 255).toString(16).padStart(2, "0"); bits &= (1 << count) - 1; }
  }
  return hex;
}

async function checkBallot(code) {
  const out = $("check-result");
  const report = (cls, key, values, verified) => { out.className = cls; say(out, key, values); if (verified !== undefined) out.dataset.verified = verified; };
  code = (code || "").trim();
  const full = /^[0-9a-fA-F]{64}$/.test(code) ? code.toLowerCase() : null;
  const prefix = full ? null : shortCodePrefix(code);
  if (!full && !prefix) { report("bad", "check.badInput"); return; }
  code = full || code.toUpperCase();
  report("", "check.checking");
  try {
    const response = await fetch("/v1/ballots/" + encodeURIComponent(code));
    const body = await response.json();
    if (!response.ok) {
      const known = { "not-found": "check.notFound", "ambiguous": "check.ambiguous" }[body.code];
      report("bad", known || "check.refused", { code: body.code, message: body.message }, "false");
      return;
    }
    const entry = fromHex(body.entry);
    const { kind, payload } = readEntry(entry);
    const ballotCode = kind === "ballot" ? toHex(await sha256(signedBallotBytes(payload))) : "";
    const leaf = await sha256(concat(new Uint8Array([0]), entry));
    const root = await rootFromInclusion(leaf, body.log_index, body.checkpoint.tree_size, body.inclusion_proof.map(fromHex));
    const named = full ? ballotCode === full : ballotCode.startsWith(prefix);
    const ok = kind === "ballot" && named && toHex(root) === body.checkpoint.root_hash;
    if (ok) report("ok", "check.ok", { index: body.log_index, root: body.checkpoint.root_hash.slice(0, 16), size: body.checkpoint.tree_size }, "true");
    else report("bad", "check.bad", {}, "false");
  } catch (error) {
    report("bad", "check.failed", { error: error.message }, "false");
  }
}

// MARK: rendering

let lastStatus = null;

// Names a list of option ids: each by its name in the chosen language, its id in a tooltip.
function winners(ids, info) {
  const span = document.createElement("span");
  ids.forEach((id, i) => {
    if (i > 0) span.append(i === ids.length - 1 ? " " + t("list.and") + " " : ", ");
    const name = document.createElement("span");
    name.className = "winner"; name.title = id; name.dataset.optionId = id;
    name.textContent = localName(info.options.find((o) => o.id === id) || { name: id });
    span.append(name);
  });
  return span;
}

function renderResults(status) {
  const signed = status.results;
  if (!signed) return;
  $("results-section").hidden = false;
  say($("results-note"), "results.note", { quorum: listNames(signed.results.quorum.map(String)), signature: signed.signature.slice(0, 16) });
  // Shares and turnout as the server computes them from the signed counts (largest remainder, summing to 100).
  const computed = Object.fromEntries((status.result_shares || []).map((s) => [s.district, s]));
  const container = $("results");
  container.textContent = "";
  for (const d of signed.results.districts) {
    const info = status.districts.find((x) => x.district === d.district);
    if (!info || d.roll === 0) continue;  // districts with an empty roll are left out
    const shares = computed[d.district] || {};
    const block = document.createElement("div");
    block.className = "district-results"; block.dataset.district = d.district;
    const title = document.createElement("h3");
    title.textContent = localName(info); title.title = info.district;
    block.append(title);
    const outcome = document.createElement("p");
    outcome.className = "outcome";
    outcome.append(t("results.turnout", { ballots: d.ballots, roll: d.roll, turnout: shares.turnout_percent ?? "–" }) + "; ");
    if (d.ballots === 0) {
      outcome.append(t("results.noBallots"));
    } else {
      const [before, after] = t("results.elected").split("{names}");
      outcome.append(before);
      if (d.elected.length) outcome.append(winners(d.elected, info)); else outcome.append(t("results.nobodyElected"));
      outcome.append(after || "");
      if (d.tied.length) {
        const [tb, ta] = t("results.tied").split("{names}");
        outcome.append("; " + tb, winners(d.tied, info), ta || "");
      }
    }
    block.append(outcome);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const [key, cls] of [["results.option", ""], ["results.votes", "n"], ["results.share", "n"], ["", ""]]) {
      const th = document.createElement("th"); th.className = cls; th.textContent = key ? t(key) : ""; head.append(th);
    }
    const tbody = table.createTBody();
    const max = Math.max(1, ...d.counts);
    info.options.forEach((option, i) => {
      const row = tbody.insertRow();
      if (d.elected.includes(option.id)) row.className = "elected";
      const label = row.insertCell(); label.textContent = localName(option); label.title = option.id;
      const votes = row.insertCell(); votes.className = "n"; votes.textContent = d.counts[i];
      votes.dataset.option = d.district + "/" + option.id;
      const pct = row.insertCell(); pct.className = "n"; pct.textContent = shares.shares_percent ? shares.shares_percent[i] + "%" : "–";
      pct.dataset.share = d.district + "/" + option.id;
      const barCell = row.insertCell(); barCell.style.width = "30%";
      const bar = document.createElement("div"); bar.className = "bar"; bar.style.width = (100 * d.counts[i] / max) + "%";
      barCell.append(bar);
    });
    block.append(table);
    container.append(block);
  }
}

function render(status) {
  const name = localName(status);
  text("election-name", name);
  document.title = t("page.title") + " — " + name;
  text("election-hash", status.election_hash);
  const state = $("state");
  state.dataset.state = status.state;
  say(state, "state." + status.state);
  $("window").textContent = (status.opened_at ? t("window.opened", { time: when(status.opened_at) }) : t("window.notOpened"))
    + (status.closed_at ? " · " + t("window.closed", { time: when(status.closed_at) }) : "");
  let roll = 0, enrolled = 0, ballots = 0;
  const rows = $("districts"); rows.textContent = "";
  for (const d of status.districts) {
    roll += d.roll; enrolled += d.enrolled; ballots += d.ballots;
    if (d.roll === 0 && d.ballots === 0) continue;  // districts with an empty roll are left out
    const row = rows.insertRow();
    row.dataset.district = d.district;
    const nameCell = row.insertCell(); nameCell.textContent = localName(d); nameCell.title = d.district;
    for (const [value, key] of [[d.roll, "roll"], [d.enrolled, "enrolled"], [d.ballots, "ballots"], [d.roll ? (100 * d.ballots / d.roll).toFixed(1) + "%" : "—", "turnout"], [d.spoiled, "spoiled"]]) {
      const cell = row.insertCell(); cell.className = "n"; cell.textContent = value; cell.dataset.field = key; cell.dataset.label = t("districts." + key);
    }
  }
  text("total-ballots", ballots);
  $("total-text").textContent = t("status.ballotsOf", { roll, enrolled });
  text("tree-size", status.checkpoint.tree_size);
  text("root-hash", status.checkpoint.root_hash);
  $("checkpoint-time").textContent = t("checkpoint.signedAt", { time: when(status.checkpoint.timestamp) });
  const rejections = $("rejections"); rejections.textContent = "";
  const codes = Object.keys(status.rejections).sort();
  if (codes.length === 0) say(rejections.insertRow().insertCell(), "rejections.none");
  for (const code of codes) { const r = rejections.insertRow(); r.insertCell().textContent = code; const c = r.insertCell(); c.className = "n"; c.textContent = status.rejections[code]; }
  renderResults(status);
  // For layout checks (tests, observers' reports): the page's width against the window's.
  document.body.dataset.pageWidth = document.documentElement.scrollWidth;
  document.body.dataset.viewWidth = window.innerWidth;
}

async function refresh() {
  try {
    const status = await (await fetch("/v1/status")).json();
    lastStatus = status;
    render(status);
    await checkSignatures(status);
    document.body.dataset.loaded = "true";
  } catch (error) {
    say($("state"), "state.unreachable");
  }
}

for (const l of LANGUAGES) {
  const option = document.createElement("option");
  option.value = l; option.textContent = TRANSLATIONS[l]["language.name"] || l;
  $("language").append(option);
}
$("language").addEventListener("change", (event) => chooseLanguage(event.target.value));
language = initialLanguage();
// A link may choose the language (?lang=ky): it works like the switch, and is remembered.
const params = new URLSearchParams(location.search);
const linked = params.get("lang");
if (linked && TRANSLATIONS[linked]) { $("language").value = linked; $("language").dispatchEvent(new Event("change")); } else { applyLanguage(); }
$("audit-command").textContent = "voter audit --server " + location.origin;
$("verify-command").textContent = "voter verify --server " + location.origin + " --receipt receipt.json";
$("check-button").addEventListener("click", () => checkBallot($("tracking-code").value));
const requested = params.get("track");
if (requested) { $("tracking-code").value = requested; checkBallot(requested); }
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
"""#
}
