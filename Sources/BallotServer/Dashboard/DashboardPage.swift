/// The observer dashboard served at `GET /`: one self-contained page (no external scripts,
/// fonts or styles; works offline). It polls `GET /v1/status` (numbers counted from the log)
/// and checks a ballot's inclusion proof in the browser with WebCrypto SHA-256.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Election observer dashboard</title>
<style>
  :root { --ink: #14213d; --muted: #5c6475; --line: #d9dde5; --ok: #1b7f3b; --bad: #b42318; --accent: #2451b7; --bg: #f6f7f9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
  header { padding: 20px 28px; background: var(--ink); color: #fff; }
  header h1 { margin: 0; font-size: 1.6em; }
  header .sub { color: #c9d3ea; font-size: .9em; word-break: break-all; }
  main { display: grid; gap: 18px; padding: 18px 28px 40px; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; }
  section.wide { grid-column: 1 / -1; }
  h2 { margin: 0 0 10px; font-size: 1.15em; }
  .big { font-size: 2.1em; font-weight: 700; }
  .muted { color: var(--muted); font-size: .85em; }
  .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .8em; word-break: break-all; }
  table { width: 100%; border-collapse: collapse; font-size: .95em; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .state { display: inline-block; padding: 2px 12px; border-radius: 999px; background: #e8edf8; font-weight: 600; }
  .ok { color: var(--ok); } .bad { color: var(--bad); }
  .bar { height: 14px; background: var(--accent); border-radius: 3px; min-width: 2px; }
  .elected .bar { background: var(--ok); }
  input { font: inherit; width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
  button { font: inherit; margin-top: 8px; padding: 8px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  pre { background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: .85em; }
  .district-results { margin-bottom: 14px; }
  @media (max-width: 600px) { body { font-size: 16px; } main { padding: 10px; } header { padding: 14px; } }
</style>
</head>
<body>
<header>
  <h1 id="election-name">Election</h1>
  <div class="sub">Election hash <span id="election-hash" class="mono"></span></div>
</header>
<main>
  <section>
    <h2>Status</h2>
    <div><span class="state" id="state">…</span></div>
    <p class="muted" id="window"></p>
    <div class="big" id="total-ballots">0</div><div class="muted">ballots cast, of <span id="total-roll">0</span> voters on the roll (<span id="total-enrolled">0</span> enrolled)</div>
  </section>
  <section>
    <h2>Latest signed checkpoint</h2>
    <div class="big" id="tree-size">0</div><div class="muted">log entries, all signed by the server</div>
    <p>Root hash <span class="mono" id="root-hash"></span></p>
    <p class="muted" id="checkpoint-time"></p>
  </section>
  <section>
    <h2>Check my ballot</h2>
    <p class="muted">Paste the short code from your receipt (or the full tracking code). Your browser fetches the inclusion proof and checks it itself (SHA-256, RFC 9162) against the signed checkpoint.</p>
    <input id="tracking-code" placeholder="e.g. 7EHS-4YBS-PZCQ-K2PH, or the 64-digit code" autocomplete="off">
    <button id="check-button" type="button">Check</button>
    <p id="check-result"></p>
  </section>
  <section class="wide">
    <h2>Districts</h2>
    <table>
      <thead><tr><th>District</th><th class="n">Roll</th><th class="n">Enrolled</th><th class="n">Ballots</th><th class="n">Turnout</th><th class="n">Challenged</th></tr></thead>
      <tbody id="districts"></tbody>
    </table>
  </section>
  <section>
    <h2>Refusals by code</h2>
    <p class="muted">Counted by this server process; a refused request never reaches the log.</p>
    <table><tbody id="rejections"><tr><td class="muted">none</td></tr></tbody></table>
  </section>
  <section>
    <h2>Check it yourself</h2>
    <p>Anyone can verify the whole election — every signature, proof, count and winner — from the public record:</p>
    <pre id="audit-command">voter audit --server …</pre>
    <p class="muted">Checks are listed in docs/verification.md. Your own ballot: <code>voter verify --server … --receipt receipt.json</code>.</p>
  </section>
  <section class="wide" id="results-section" hidden>
    <h2>Results</h2>
    <p class="muted" id="results-note"></p>
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

// The payload of a canonical log entry (docs/protocol.md §5.1): tag, u64 index, 32-byte hash, u64 time, kind, payload.
function entryPayload(entry) {
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  let o = 0;
  const skipBytes = () => { const n = view.getUint32(o); o += 4 + n; return n; };
  skipBytes(); o += 8 + 32 + 8;
  const kindLength = view.getUint32(o); const kind = new TextDecoder().decode(entry.subarray(o + 4, o + 4 + kindLength)); o += 4 + kindLength;
  const n = view.getUint32(o);
  return { kind, payload: entry.subarray(o + 4, o + 4 + n) };
}

// The ballot bytes inside a signed-ballot payload (§4.5): tag, then bytes(ballot).
function signedBallotBytes(payload) {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const tagLength = view.getUint32(0);
  const o = 4 + tagLength;
  const n = view.getUint32(o);
  return payload.subarray(o + 4, o + 4 + n);
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
  code = (code || "").trim();
  const full = /^[0-9a-fA-F]{64}$/.test(code) ? code.toLowerCase() : null;
  const prefix = full ? null : shortCodePrefix(code);
  if (!full && !prefix) { out.className = "bad"; out.textContent = "Paste the short code from your receipt (XXXX-XXXX-XXXX-XXXX) or the full 64-digit tracking code."; return; }
  code = full || code.toUpperCase();
  out.className = ""; out.textContent = "Checking…";
  try {
    const response = await fetch("/v1/ballots/" + encodeURIComponent(code));
    const body = await response.json();
    if (!response.ok) { out.className = "bad"; out.textContent = "✗ " + body.message; return; }
    const entry = fromHex(body.entry);
    const { kind, payload } = entryPayload(entry);
    const ballotCode = kind === "ballot" ? toHex(await sha256(signedBallotBytes(payload))) : "";
    const leaf = await sha256(concat(new Uint8Array([0]), entry));
    const root = await rootFromInclusion(leaf, body.log_index, body.checkpoint.tree_size, body.inclusion_proof.map(fromHex));
    const named = full ? ballotCode === full : ballotCode.startsWith(prefix);
    const ok = kind === "ballot" && named && toHex(root) === body.checkpoint.root_hash;
    out.className = ok ? "ok" : "bad";
    out.textContent = ok
      ? "✓ Your ballot is log entry " + body.log_index + ". Its inclusion proof leads to the signed root " + body.checkpoint.root_hash.slice(0, 16) + "… of the " + body.checkpoint.tree_size + "-entry log (checked in this browser)."
      : "✗ The proof does not check out: report this to the election commission.";
    out.dataset.verified = ok ? "true" : "false";
  } catch (error) {
    out.className = "bad"; out.textContent = "✗ The check failed: " + error.message;
    out.dataset.verified = "false";
  }
}

// Each option's share of the votes in percent with one decimal, largest remainder so the
// shares add up to exactly 100 (the same rule as `voter results` and the exports).
function shares(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const units = counts.map((c) => Math.floor(c * 1000 / total));
  const order = counts.map((c, i) => [(c * 1000) % total, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  let left = 1000 - units.reduce((a, b) => a + b, 0);
  for (const [, i] of order) { if (left <= 0) break; units[i] += 1; left -= 1; }
  return units.map((u) => (u / 10).toFixed(1));
}

function renderResults(status) {
  const signed = status.results;
  if (!signed) return;
  $("results-section").hidden = false;
  text("results-note", "Decrypted by trustees " + signed.results.quorum.join(", ") + "; signed by the server (signature " + signed.signature.slice(0, 16) + "…). Winners are the options with the most votes; ties are reported, never broken.");
  const container = $("results");
  container.textContent = "";
  for (const d of signed.results.districts) {
    const info = status.districts.find((x) => x.district === d.district);
    if (!info || d.roll === 0) continue;  // districts with an empty roll are left out
    const name = (id) => (info.options.find((o) => o.id === id) || { name: id }).name;
    const block = document.createElement("div");
    block.className = "district-results";
    const title = document.createElement("h3");
    const turnout = (100 * d.ballots / d.roll).toFixed(1);
    let outcome;
    if (d.ballots === 0) {
      outcome = "no ballots were cast, so nobody is elected";
    } else {
      outcome = "elected: " + (d.elected.map(name).join(", ") || "—") + (d.tied.length ? "; tied for the last seat(s): " + d.tied.map(name).join(", ") : "");
    }
    title.textContent = info.name + " — " + d.ballots + " of " + d.roll + " voted (" + turnout + "%); " + outcome;
    title.title = info.district + ": elected " + (d.elected.join(", ") || "none") + (d.tied.length ? "; tied " + d.tied.join(", ") : "");
    block.appendChild(title);
    const table = document.createElement("table");
    const max = Math.max(1, ...d.counts);
    const share = shares(d.counts);
    info.options.forEach((option, i) => {
      const row = table.insertRow();
      if (d.elected.includes(option.id)) row.className = "elected";
      const label = row.insertCell(); label.textContent = option.name; label.title = option.id;
      const votes = row.insertCell(); votes.className = "n"; votes.textContent = d.counts[i];
      votes.dataset.option = d.district + "/" + option.id;
      const pct = row.insertCell(); pct.className = "n"; pct.textContent = share ? share[i] + "%" : "–";
      const barCell = row.insertCell(); barCell.style.width = "30%";
      const bar = document.createElement("div"); bar.className = "bar"; bar.style.width = (100 * d.counts[i] / max) + "%";
      barCell.appendChild(bar);
    });
    block.appendChild(table);
    container.appendChild(block);
  }
}

async function refresh() {
  try {
    const status = await (await fetch("/v1/status")).json();
    text("election-name", status.name);
    text("election-hash", status.election_hash);
    text("state", status.state);
    text("window", (status.opened_at ? "Opened " + when(status.opened_at) : "Not opened yet") + (status.closed_at ? " · closed " + when(status.closed_at) : ""));
    let roll = 0, enrolled = 0, ballots = 0;
    const rows = $("districts"); rows.textContent = "";
    for (const d of status.districts) {
      roll += d.roll; enrolled += d.enrolled; ballots += d.ballots;
      if (d.roll === 0 && d.ballots === 0) continue;
      const row = rows.insertRow();
      row.dataset.district = d.district;
      row.insertCell().textContent = d.name + " (" + d.district + ")";
      for (const [value, key] of [[d.roll, "roll"], [d.enrolled, "enrolled"], [d.ballots, "ballots"], [d.roll ? (100 * d.ballots / d.roll).toFixed(1) + "%" : "—", "turnout"], [d.spoiled, "spoiled"]]) {
        const cell = row.insertCell(); cell.className = "n"; cell.textContent = value; cell.dataset.field = key;
      }
    }
    text("total-roll", roll); text("total-enrolled", enrolled); text("total-ballots", ballots);
    text("tree-size", status.checkpoint.tree_size);
    text("root-hash", status.checkpoint.root_hash);
    text("checkpoint-time", "Signed " + when(status.checkpoint.timestamp));
    const rejections = $("rejections"); rejections.textContent = "";
    const codes = Object.keys(status.rejections).sort();
    if (codes.length === 0) { rejections.insertRow().insertCell().textContent = "none"; }
    for (const code of codes) { const r = rejections.insertRow(); r.insertCell().textContent = code; const c = r.insertCell(); c.className = "n"; c.textContent = status.rejections[code]; }
    renderResults(status);
    document.body.dataset.loaded = "true";
  } catch (error) {
    text("state", "server unreachable");
  }
}

$("audit-command").textContent = "voter audit --server " + location.origin;
$("check-button").addEventListener("click", () => checkBallot($("tracking-code").value));
const requested = new URLSearchParams(location.search).get("track");
if (requested) { $("tracking-code").value = requested; checkBallot(requested); }
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
"""#
}
