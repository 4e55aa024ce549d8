#include "server/status_page.h"

namespace ringkv::server {

// Element ids and classes the browser test checks: svg#ring path.arc (one per shard, with
// data-shard and data-leader), table#nodes tbody tr (one per member), table#shards tbody tr,
// pre#checks, #updated.
const char* StatusPageHtml() {
  return R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>RingKV status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px 0; }
  h2 { font-size: 15px; margin: 18px 0 6px 0; }
  .sub { color: #5b6477; margin-bottom: 12px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 12px 0; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
  .card b { display: block; font-size: 20px; }
  .bad b { color: #b42318; }
  .row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #dde1e8; }
  th, td { padding: 3px 9px; border-bottom: 1px solid #eef0f4; text-align: left; white-space: nowrap; }
  th { background: #f1f3f7; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: baseline; }
  .state-alive { color: #067647; } .state-suspect { color: #b54708; }
  .state-dead, .state-left, .unreachable { color: #b42318; }
  pre#checks { background: #fff; border: 1px solid #dde1e8; padding: 8px; margin: 0; }
  #error { color: #b42318; }
  svg text { font: 12px system-ui, sans-serif; }
</style>
</head>
<body>
<h1>RingKV</h1>
<div class="sub">node <span id="self">?</span> &middot; updated <span id="updated">never</span> <span id="error"></span></div>
<div class="cards" id="cards"></div>
<div class="row">
  <div>
    <h2>Ring</h2>
    <svg id="ring" width="340" height="340" viewBox="-170 -170 340 340" role="img" aria-label="token ring"></svg>
    <div id="legend"></div>
  </div>
  <div>
    <h2>Nodes</h2>
    <table id="nodes"><thead><tr><th>node</th><th>client address</th><th>admin</th><th>state</th>
      <th>replicas</th><th>leaders</th><th>version</th><th>uptime</th><th>alarms</th></tr></thead><tbody></tbody></table>
    <h2>Readiness of this node</h2>
    <pre id="checks">loading...</pre>
  </div>
</div>
<h2>Shards</h2>
<table id="shards"><thead><tr><th>shard</th><th>token range</th><th>leader</th><th>term</th><th>commit</th>
  <th>applied</th><th>replicas</th><th>trails leader by</th><th>log bytes</th><th>data bytes</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const PALETTE = ["#2e90fa", "#f79009", "#12b76a", "#ee46bc", "#7a5af8", "#06aed4", "#f04438", "#669f2a", "#dd2590", "#444ce7"];
const NO_LEADER = "#c4c9d4";
function color(node) { return node ? PALETTE[(node - 1) % PALETTE.length] : NO_LEADER; }
function el(tag, attrs, text) {
  const ns = ["svg", "path", "circle", "text", "title", "g"].includes(tag) ? "http://www.w3.org/2000/svg" : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmtBytes(n) {
  if (!n) return "0";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function fmtUptime(ms) {
  if (!ms) return "-";
  let s = Math.floor(ms / 1000); const d = Math.floor(s / 86400); s %= 86400;
  const h = Math.floor(s / 3600); s %= 3600; const m = Math.floor(s / 60); s %= 60;
  return (d ? d + "d " : "") + (h ? h + "h " : "") + (m ? m + "m " : "") + s + "s";
}
function hexToken(t) { return "0x" + BigInt(t).toString(16).padStart(16, "0"); }
function arcPath(f0, f1, r0, r1) {
  // Fractions of the token space -> angles, 0 at the top, clockwise.
  const a0 = f0 * 2 * Math.PI - Math.PI / 2, a1 = f1 * 2 * Math.PI - Math.PI / 2;
  const large = (f1 - f0) > 0.5 ? 1 : 0;
  const p = (r, a) => (r * Math.cos(a)).toFixed(2) + " " + (r * Math.sin(a)).toFixed(2);
  return "M " + p(r1, a0) + " A " + r1 + " " + r1 + " 0 " + large + " 1 " + p(r1, a1) +
         " L " + p(r0, a1) + " A " + r0 + " " + r0 + " 0 " + large + " 0 " + p(r0, a0) + " Z";
}
function drawRing(st) {
  const svg = document.getElementById("ring");
  svg.replaceChildren();
  const n = st.shards.length;
  const gap = n > 1 ? Math.min(0.002, 0.2 / n) : 0;
  for (const s of st.shards) {
    const f0 = s.range_fraction_start + gap / 2, f1 = Math.max(f0 + 0.0005, s.range_fraction_end - gap / 2);
    const path = el("path", { d: arcPath(f0, f1, 95, 150), fill: color(s.leader), class: "arc",
                              "data-shard": s.shard_id, "data-leader": s.leader, stroke: "#fff", "stroke-width": "0.5" });
    const reps = s.replicas.map(r => r.node_id + (r.voter ? "" : " (learner)")).join(", ");
    path.appendChild(el("title", {}, "shard " + s.shard_id + "\nleader: " + (s.leader || "none") +
        "\nterm " + s.term + "\nreplicas: " + reps + "\ntokens " + hexToken(s.token_first) + " .. " + hexToken(s.token_last)));
    svg.appendChild(path);
  }
  svg.appendChild(el("text", { x: 0, y: -6, "text-anchor": "middle", "font-size": "22" }, n + " shards"));
  svg.appendChild(el("text", { x: 0, y: 16, "text-anchor": "middle", fill: st.leaderless_shards ? "#b42318" : "#5b6477" },
                     st.leaderless_shards ? st.leaderless_shards + " without leader" : "all have a leader"));
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  for (const m of st.members) {
    const item = el("div");
    item.appendChild(el("span", { class: "swatch", style: "background:" + color(m.node_id) }));
    item.appendChild(document.createTextNode("node " + m.node_id + " leads " + m.leaders));
    legend.appendChild(item);
  }
  const none = el("div");
  none.appendChild(el("span", { class: "swatch", style: "background:" + NO_LEADER }));
  none.appendChild(document.createTextNode("no leader known"));
  legend.appendChild(none);
}
function cell(row, text, cls) { const td = el("td", cls ? { class: cls } : {}, String(text)); row.appendChild(td); return td; }
function drawTables(st) {
  const nodes = document.querySelector("#nodes tbody");
  nodes.replaceChildren();
  for (const m of st.members) {
    const tr = el("tr", { "data-node": m.node_id });
    const id = cell(tr, "");
    id.appendChild(el("span", { class: "swatch", style: "background:" + color(m.node_id) }));
    id.appendChild(document.createTextNode(m.node_id));
    cell(tr, m.client_address || "-");
    const admin = cell(tr, "");
    if (m.admin_address) admin.appendChild(el("a", { href: "http://" + m.admin_address + "/" }, m.admin_address));
    else admin.textContent = "-";
    const state = m.state + (m.decommissioning ? " (decommissioning)" : "") + (m.reachable ? "" : " (unreachable)");
    cell(tr, state, "state-" + m.state + (m.reachable ? "" : " unreachable")).title = m.error || "";
    cell(tr, m.replicas, "num"); cell(tr, m.leaders, "num");
    cell(tr, m.version || "-"); cell(tr, fmtUptime(m.uptime_ms));
    cell(tr, (m.alarms || []).join(", ") || "-", (m.alarms || []).length ? "unreachable" : "");
    nodes.appendChild(tr);
  }
  const shards = document.querySelector("#shards tbody");
  shards.replaceChildren();
  for (const s of st.shards) {
    const tr = el("tr", { "data-shard": s.shard_id });
    cell(tr, s.shard_id, "num");
    cell(tr, hexToken(s.token_first) + " .. " + hexToken(s.token_last));
    const lead = cell(tr, "");
    lead.appendChild(el("span", { class: "swatch", style: "background:" + color(s.leader) }));
    lead.appendChild(document.createTextNode(s.leader || "none"));
    cell(tr, s.term, "num"); cell(tr, s.commit, "num"); cell(tr, s.applied, "num");
    cell(tr, s.replicas.map(r => r.node_id + ":" + r.role).join(" ") || "-");
    const trails = s.replicas.filter(r => r.lag !== null && r.node_id !== s.leader)
                             .map(r => r.node_id + ":" + r.lag).join(" ");
    cell(tr, trails || "-");
    cell(tr, fmtBytes(s.log_bytes), "num"); cell(tr, fmtBytes(s.data_bytes), "num");
    shards.appendChild(tr);
  }
}
function drawCards(st) {
  const cards = document.getElementById("cards");
  cards.replaceChildren();
  const alive = st.members.filter(m => m.state === "alive" || m.state === "static").length;
  const alarms = st.members.reduce((n, m) => n + (m.alarms || []).length, 0);
  const add = (label, value, bad) => {
    const c = el("div", { class: "card" + (bad ? " bad" : "") });
    c.appendChild(el("b", {}, String(value))); c.appendChild(document.createTextNode(label)); cards.appendChild(c);
  };
  add("nodes alive of " + st.members.length, alive, alive < st.members.length);
  add("shards (replication " + st.replication + ")", st.num_shards, false);
  add("shards without leader", st.leaderless_shards, st.leaderless_shards > 0);
  add("alarms", alarms, alarms > 0);
}
async function refresh() {
  try {
    const st = await (await fetch("/status", { cache: "no-store" })).json();
    document.getElementById("self").textContent = st.node.node_id;
    drawCards(st); drawRing(st); drawTables(st);
    const checks = await fetch("/readyz?verbose", { cache: "no-store" });
    document.getElementById("checks").textContent = await checks.text();
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "(refresh failed: " + e + ")";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
}

}  // namespace ringkv::server
