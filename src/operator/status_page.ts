/**
 * The admin listener's status page: one self-contained HTML document
 * (inline CSS and JS, no external assets, so it works offline) that polls
 * `status` every second and shows each listener's sites (tiers) and
 * endpoints with health, request rate, errors, latency, downtime and the
 * last probe. Readable on a phone: the endpoint table becomes cards on
 * narrow screens.
 *
 * Elements carry `data-endpoint` and `data-status` so that tests and
 * scripts can read the page.
 *
 * @module
 */

const STYLE = `
:root{--bg:#f6f7f9;--fg:#17202a;--card:#fff;--muted:#5d6d7e;--line:#dde3ea;--up:#1e8449;--down:#c0392b;--drain:#b9770e}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e5e8ec;--card:#1b2026;--muted:#9aa5b1;--line:#2c333b}}
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:12px 16px;background:var(--card);border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{color:var(--muted);font-size:13px}
main{padding:12px;max-width:1200px;margin:0 auto}
section.listener{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 14px;padding:10px 12px}
section.listener h2{font-size:16px;margin:0 0 4px}.meta{color:var(--muted);font-size:13px;margin-bottom:6px}
h3{font-size:14px;margin:10px 0 4px}h3 .serving{color:var(--up);font-weight:normal;font-size:12px;margin-left:6px}
table{width:100%;border-collapse:collapse;font-size:13px}th,td{text-align:left;padding:5px 6px;border-top:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}td.num{font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.badge.up{background:var(--up)}.badge.down{background:var(--down)}.badge.draining{background:var(--drain)}
.probe{color:var(--muted);word-break:break-word}#banner{display:none;background:var(--down);color:#fff;padding:6px 16px}
@media (max-width:700px){thead{display:none}table,tbody,tr,td{display:block;width:100%}
tr{border-top:1px solid var(--line);padding:6px 0}td{border:0;padding:2px 4px}td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}}
`;

const SCRIPT = `
"use strict";
const prev = new Map();
let prevAt = 0;
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};
const bytes = (n) => n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KiB" :
  n < 1073741824 ? (n / 1048576).toFixed(1) + " MiB" : (n / 1073741824).toFixed(2) + " GiB";
const secs = (s) => s < 60 ? s.toFixed(1) + " s" : s < 3600 ? Math.floor(s / 60) + " m " + Math.round(s % 60) + " s" :
  Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " m";
const td = (label, text, cls) => el("td", Object.assign({ "data-label": label }, cls ? { class: cls } : {}), text);
function endpointRow(l, e, dt) {
  const key = l.name + " " + e.endpoint;
  const before = prev.get(key);
  const rate = before && dt > 0 ? Math.max(0, (e.requests - before) / dt) : 0;
  prev.set(key, e.requests);
  const probe = e.lastProbe ? (e.lastProbe.passed ? "passed: " : "failed: ") + e.lastProbe.detail : "none yet";
  const lat = e.latencyMs ? e.latencyMs.p50 + " / " + e.latencyMs.p99 + " ms" : "-";
  return el("tr", { "data-endpoint": e.endpoint, "data-status": e.status },
    td("Endpoint", e.endpoint),
    td("Status", el("span", { class: "badge " + e.status }, e.status)),
    td("Req/s", rate.toFixed(1), "num"), td("Requests", String(e.requests), "num"),
    td("Errors", String(e.errors), "num"), td("In flight", String(e.inFlight), "num"),
    td("p50 / p99", lat, "num"), td("Rx / Tx", bytes(e.rxBytes) + " / " + bytes(e.txBytes), "num"),
    td("Downtime", secs(e.downtimeSeconds), "num"), td("Last probe", probe, "probe"));
}
function render(doc) {
  const now = performance.now();
  const dt = prevAt ? (now - prevAt) / 1000 : 0;
  prevAt = now;
  document.getElementById("version").textContent = "v" + doc.version;
  document.getElementById("state").textContent = doc.state + ", up " + secs(doc.uptimeSeconds);
  document.getElementById("reloads").textContent = "reloads: " + doc.reloads.succeeded + " ok, " +
    doc.reloads.failed + " failed" + (doc.reloads.lastError ? " (last: " + doc.reloads.lastError + ")" : "");
  const main = document.getElementById("listeners");
  const out = [];
  for (const l of doc.listeners) {
    const own = Object.entries(l.ownResponses).map(([s, n]) => s + "\\u00d7" + n).join(", ");
    const sec = el("section", { class: "listener", "data-listener": l.name },
      el("h2", {}, l.name + " (" + l.kind + ")"),
      el("div", { class: "meta" }, [(l.address || "not bound"), "policy " + l.policy, "check " + l.check,
        l.connections + (l.kind === "udp" ? " flow" : " connection") + (l.connections === 1 ? "" : "s"),
        "serving: " + (l.servingSite || "none"), "failovers " + l.failovers,
        own ? "own responses " + own : ""].filter(Boolean).join(" \\u00b7 ")));
    for (const s of l.sites) {
      sec.append(el("h3", {}, (l.kind === "http" ? "Site " : "Tier ") + s.name,
        s.serving ? el("span", { class: "serving" }, "serving") : ""));
      const head = el("tr", {}, ...["Endpoint", "Status", "Req/s", "Requests", "Errors", "In flight",
        "p50 / p99", "Rx / Tx", "Downtime", "Last probe"].map((h) => el("th", {}, h)));
      sec.append(el("table", {}, el("thead", {}, head),
        el("tbody", {}, ...s.endpoints.map((e) => endpointRow(l, e, dt)))));
    }
    out.push(sec);
  }
  main.replaceChildren(...out);
}
async function tick() {
  try {
    const res = await fetch("status", { cache: "no-store" });
    if (!res.ok) throw new Error("status " + res.status);
    render(await res.json());
    document.getElementById("banner").style.display = "none";
  } catch (e) {
    const b = document.getElementById("banner");
    b.textContent = "Cannot reach sidekick (" + e.message + "); retrying\\u2026";
    b.style.display = "block";
  } finally {
    setTimeout(tick, 1000);
  }
}
tick();
`;

/** The status page served at the admin listener's `/`. */
export const STATUS_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sidekick status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>sidekick</h1><span id="version"></span><span id="state">loading\u2026</span><span id="reloads"></span>
<span><a href="metrics">metrics</a> \u00b7 <a href="status">JSON</a> \u00b7 <a href="configz">config</a></span></header>
<div id="banner" role="alert"></div>
<main id="listeners"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
