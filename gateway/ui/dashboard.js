// The rms-gateway dashboard: reads the admin API with the operator's token (kept in this
// tab's sessionStorage) and renders it. Every value is written with textContent, never as
// HTML: AWBs and statuses come from aggregators.
"use strict";

const TOKEN_KEY = "gatewayAdminToken";
const REFRESH_MS = 15000;
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  const response = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) throw new Unauthorized("the admin token was refused");
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

// An optional admin route (e.g. not in this version of the gateway) answers null.
async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null;
    throw error;
  }
}

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function pill(row, text, state) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `pill state-${state}`;
  span.textContent = text;
  td.appendChild(span);
  row.appendChild(td);
}

function fill(table, rows, render, emptyText) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren();
  if (!rows.length) {
    const tr = body.insertRow();
    const td = cell(tr, emptyText, "empty");
    td.colSpan = $(table).querySelectorAll("thead th").length;
    return;
  }
  for (const item of rows) render(body.insertRow(), item);
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

// Prometheus text -> {"org/endpoint": {metric: {outcome|"": value}}} for the gateway_* series we show.
function parseMetrics(text) {
  const wanted = /^(gateway_deliveries_total|gateway_endpoint_backlog|gateway_endpoint_oldest_pending_age_seconds)\{([^}]*)\}\s+(\S+)/;
  const out = {};
  for (const line of text.split("\n")) {
    const match = wanted.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    const key = `${labels.org}/${labels.endpoint}`;
    const entry = (out[key] ||= { org: labels.org, endpoint: labels.endpoint });
    const metric = (entry[match[1]] ||= {});
    metric[labels.outcome || ""] = Number(match[3]);
  }
  return out;
}

function endpointRows(endpoints, metrics) {
  const rows = new Map();
  for (const e of endpoints || []) rows.set(`${e.org}/${e.name}`, { ...e });
  for (const [key, m] of Object.entries(metrics)) {
    const row = rows.get(key) || (endpoints ? null : { org: m.org, name: m.endpoint });
    if (!row) continue;
    const outcomes = m.gateway_deliveries_total || {};
    row.delivered = outcomes.delivered || 0;
    row.retried = outcomes.retry || 0;
    row.failed = (outcomes.failed || 0) + (outcomes.gone || 0);
    if (row.backlog === undefined && m.gateway_endpoint_backlog) row.backlog = m.gateway_endpoint_backlog[""];
    if (row.oldestPendingAgeSeconds === undefined && m.gateway_endpoint_oldest_pending_age_seconds) {
      row.oldestPendingAgeSeconds = m.gateway_endpoint_oldest_pending_age_seconds[""];
    }
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => `${a.org}/${a.name}`.localeCompare(`${b.org}/${b.name}`));
}

function health(e) {
  if (e.disabled) return ["disabled", "off"];
  if (e.successRate !== undefined && e.successRate !== null && e.successRate < 0.5) return ["failing", "down"];
  if (e.lastError) return ["degraded", "warn"];
  return ["healthy", "ok"];
}

function renderEndpoint(tr, e) {
  cell(tr, e.org);
  cell(tr, e.name);
  pill(tr, ...health(e));
  cell(tr, e.delivered ?? 0, "num");
  cell(tr, e.retried ?? 0, "num");
  cell(tr, e.failed ?? 0, "num");
  cell(tr, e.successRate === undefined || e.successRate === null ? null : `${(e.successRate * 100).toFixed(1)} %`, "num");
  cell(tr, e.backlog, "num");
  cell(tr, age(e.oldestPendingAgeSeconds), "num");
  cell(tr, e.lastError);
}

function renderDead(tr, d) {
  tr.dataset.deliveryId = d.id;
  cell(tr, d.id, "num");
  cell(tr, d.org);
  cell(tr, d.endpoint);
  cell(tr, d.eventId, "mono");
  cell(tr, d.attemptCount, "num");
  cell(tr, [d.lastStatusCode, d.lastError].filter((v) => v !== null && v !== undefined).join(" ") || null);
  const td = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "replay";
  button.textContent = "Replay";
  button.addEventListener("click", () => replay(d.id, button));
  td.appendChild(button);
  tr.appendChild(td);
}

function renderNotification(tr, n) {
  const ret = n.returnOrderInfo || {};
  cell(tr, n.receivedAt);
  cell(tr, n.org);
  cell(tr, n.forwardAwb || ret.returnAwb || ret.returnOrderId, "mono");
  cell(tr, n.notificationType + (n.stale ? " (stale)" : ""));
  cell(tr, n.shipmentType);
  cell(tr, n.rawStatus);
  cell(tr, n.eventId, "mono");
}

async function replay(id, button) {
  button.disabled = true;
  try {
    const delivery = await api(`/v1/admin/deliveries/${encodeURIComponent(id)}/retry`, { method: "POST" });
    button.replaceWith(document.createTextNode(`requeued (${delivery.state})`));
    button.closest?.("tr")?.classList.add("replayed");
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
}

function showError(error) {
  if (error instanceof Unauthorized) return logout(error.message);
  $("message").textContent = error.message;
}

async function loadNotifications() {
  const awb = $("awb").value.trim();
  const query = new URLSearchParams({ limit: "50" });
  if (awb) query.set("awb", awb);
  const page = await optional(`/v1/admin/notifications?${query}`);
  const empty = page === null ? "notification search is not available on this gateway" : awb ? "no notification for this AWB" : "no notifications yet";
  fill("notifications", page ? page.items : [], renderNotification, empty);
}

async function refresh() {
  $("message").textContent = "";
  try {
    const [endpoints, metricsText, dead] = await Promise.all([
      optional("/v1/admin/endpoints?limit=500"),
      fetch("/metrics").then((r) => (r.ok ? r.text() : "")).catch(() => ""),
      api("/v1/admin/deliveries?state=failed&limit=200"),
    ]);
    fill("endpoints", endpointRows(endpoints && endpoints.items, parseMetrics(metricsText)), renderEndpoint, "no endpoints");
    fill("dead-letter", dead.items, renderDead, "the dead letter is empty");
    $("dead-count").textContent = dead.items.length ? `(${dead.items.length}${dead.next ? "+" : ""})` : "";
    await loadNotifications();
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    showError(error);
  }
  const ready = await fetch("/readyz").catch(() => null);
  $("health").dataset.state = ready && ready.ok ? "ok" : "down";
  $("health").textContent = ready && ready.ok ? "health: ready" : "health: not ready";
}

let timer = null;

function show(loggedIn) {
  $("login").hidden = loggedIn;
  $("dashboard").hidden = !loggedIn;
  $("refresh").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  clearInterval(timer);
  if (loggedIn) {
    timer = setInterval(refresh, REFRESH_MS);
    refresh();
  }
}

function logout(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("login-error").textContent = reason || "";
  show(false);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    $("login-error").textContent = "";
    show(true);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadNotifications().catch(showError);
  });
  $("refresh").addEventListener("click", refresh);
  $("logout").addEventListener("click", () => logout(""));
  show(Boolean(sessionStorage.getItem(TOKEN_KEY)));
});
