// The admin endpoint's dashboard: numbers from /metrics and /health (open), the queue and its actions
// with the admin token (kept in this tab only). No libraries, no build step, nothing from elsewhere.
"use strict";

const REFRESH_MS = 5000;
let previous = null;   // the last scrape's counters, for rates

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const pair of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    }
    samples.push({ name: m[1], labels: labels, value: parseFloat(m[4]) });
  }
  return samples;
}

function sum(samples, name, filter) {
  return samples.filter(s => s.name === name && (!filter || filter(s.labels))).reduce((a, s) => a + s.value, 0);
}

function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

function fmtSeconds(s) {
  if (!isFinite(s)) return "–";
  if (s < 1) return (s * 1000).toFixed(0) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  return (s / 60).toFixed(0) + " min";
}

function rows(tbodySelector, entries) {
  const body = document.querySelector(tbodySelector);
  body.replaceChildren();
  for (const cells of entries) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function refresh() {
  try {
    const [metricsText, health] = await Promise.all([
      fetch("/metrics").then(r => r.text()),
      fetch("/health").then(r => r.json())
    ]);
    const s = parseMetrics(metricsText);
    const byQueue = q => sum(s, "mta_queue_messages", l => l.queue === q);
    text("queue-active", byQueue("active"));
    text("queue-deferred", byQueue("deferred"));
    text("queue-hold", byQueue("hold"));
    text("queue-oldest", fmtSeconds(sum(s, "mta_queue_oldest_age_seconds")));
    const counters = {
      sent: sum(s, "mta_deliveries_total", l => l.status === "sent"),
      deferred: sum(s, "mta_deliveries_total", l => l.status === "deferred"),
      bounced: sum(s, "mta_deliveries_total", l => l.status === "bounced"),
      received: sum(s, "mta_messages_received_total")
    };
    const now = Date.now();
    for (const k of Object.keys(counters)) {
      text(k + "-total", counters[k]);
      if (previous) {
        const perMinute = (counters[k] - previous.counters[k]) / ((now - previous.at) / 60000);
        text(k + "-rate", perMinute.toFixed(1) + "/min");
      }
    }
    previous = { at: now, counters: counters };
    const q = quantile => s.find(x => x.name === "mta_delivery_latency_seconds" && x.labels.quantile === quantile);
    for (const [id, quantile] of [["latency-p50", "0.5"], ["latency-p90", "0.9"], ["latency-p99", "0.99"]]) {
      const v = q(quantile);
      text(id, v ? fmtSeconds(v.value) : "–");
    }
    rows("#hops tbody", Object.entries(health.relay_hops || {}).map(([hop, state]) => {
      const span = document.createElement("span");
      span.textContent = state;
      span.className = "state-" + state;
      return [hop, span];
    }));
    rows("#quotas tbody", s.filter(x => x.name === "mta_quota_delayed_total").map(x => [x.labels.key, x.value]));
    // Bounces and expiries by class (bounce-classes.cf), then relay: why mail failed, and where.
    rows("#bounces tbody", s.filter(x => x.name === "mta_deliveries_total" && x.value > 0
        && (x.labels.status === "bounced" || x.labels.status === "expired"))
        .sort((a, b) => b.value - a.value)
        .map(x => [x.labels.class || "other", x.labels.relay, x.labels.status, x.value]));
    const warnings = document.getElementById("warnings");
    warnings.replaceChildren();
    for (const w of health.warnings || []) {
      const li = document.createElement("li");
      li.textContent = w;
      warnings.appendChild(li);
    }
    const status = document.getElementById("status");
    status.textContent = health.status;
    status.className = "badge " + health.status;
    text("updated", "updated " + new Date(now).toLocaleTimeString());
    document.body.dataset.loaded = "yes";
  } catch (e) {
    text("updated", "cannot reach the relay: " + e);
  }
}

function token() {
  return document.getElementById("token").value.trim();
}

async function loadQueue() {
  text("queue-error", "");
  sessionStorage.setItem("relay-mta-token", token());
  const r = await fetch("/queue", { headers: { "Authorization": "Bearer " + token() } });
  if (!r.ok) {
    text("queue-error", "the relay said " + r.status + ": " + (await r.text()).trim());
    return;
  }
  const lines = (await r.text()).split("\n").filter(l => l.trim()).map(l => JSON.parse(l));
  rows("#destinations tbody", byDestination(lines));
  rows("#messages tbody", lines.map(m => {
    const actions = document.createElement("span");
    for (const action of m.queue_name === "hold" ? ["release", "delete"] : ["hold", "requeue", "delete"]) {
      const b = document.createElement("button");
      b.textContent = action;
      b.className = "action-" + action;
      b.dataset.id = m.queue_id;
      b.addEventListener("click", () => act(m.queue_id, action));
      actions.appendChild(b);
    }
    const tr = [m.queue_id, m.queue_name, m.sender, (m.recipients || []).map(x => x.address).join(", "), m.message_size, actions];
    return tr;
  }));
  document.body.dataset.queueLoaded = String(Date.now());
}

// Recipients still to deliver by domain and queue, as Postfix's qshape groups them; busiest first.
function byDestination(messages) {
  const counts = new Map();
  for (const m of messages) {
    for (const r of m.recipients || []) {
      const domain = r.address.slice(r.address.lastIndexOf("@") + 1).toLowerCase();
      const c = counts.get(domain) || { active: 0, deferred: 0, hold: 0 };
      if (m.queue_name in c) c[m.queue_name]++;
      counts.set(domain, c);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => (b[1].active + b[1].deferred + b[1].hold) - (a[1].active + a[1].deferred + a[1].hold) || a[0].localeCompare(b[0]))
    .map(([domain, c]) => [domain, c.active, c.deferred, c.hold]);
}

async function act(id, action) {
  const r = await fetch("/queue/" + encodeURIComponent(id) + "/" + action, {
    method: "POST", headers: { "Authorization": "Bearer " + token() }
  });
  if (!r.ok) {
    text("queue-error", action + " " + id + ": the relay said " + r.status + ": " + (await r.text()).trim());
  }
  await loadQueue();
  await refresh();
}

document.getElementById("load-queue").addEventListener("click", loadQueue);
document.getElementById("token").value = sessionStorage.getItem("relay-mta-token") || "";
refresh();
setInterval(refresh, REFRESH_MS);
