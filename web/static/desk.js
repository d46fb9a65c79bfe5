// Practitioner desk: polls /desk/api/state and redraws alerts + queue (behind the dashboard login).
// Every server string goes into the DOM through textContent only. The words come from the
// gettext catalogs, handed over by the page as JSON (#desk-words).
(function () {
  "use strict";

  const POLL_MS = 2000;
  let WORDS = {};
  // A catalog template with {name} placeholders filled in.
  function w(key, params) {
    const template = WORDS[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (params && params[name] != null ? String(params[name]) : ""));
  }

  let state = null;   // last good response, kept so times keep ticking while offline
  let skewMs = 0;     // browser clock minus server clock: all times are measured on server time

  const $ = (id) => document.getElementById(id);
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // Naive ISO strings (SQLite loses the offset) are taken as UTC rather than local time.
  function parseTime(iso) {
    if (!iso) return NaN;
    return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  }
  const serverNow = () => Date.now() - skewMs;

  // Compact duration, coarse on purpose: the practitioner scans, not reads.
  function duration(sec) {
    sec = Math.max(0, Math.floor(sec));
    if (sec < 60) return w("less-minute");
    if (sec < 3600) return w("minutes", { n: Math.floor(sec / 60) });
    if (sec < 86400) return w("hours", { n: Math.floor(sec / 3600) });
    return w("days", { n: Math.floor(sec / 86400) });
  }

  function ago(iso) {
    const sec = (serverNow() - parseTime(iso)) / 1000;
    if (isNaN(sec)) return "";
    return sec < 60 ? w("just-now") : w("ago", { time: duration(sec) });
  }

  function countdown(iso) {
    const left = Math.floor((parseTime(iso) - serverNow()) / 60000);
    if (isNaN(left)) return "";
    if (left < 0) return w("overdue");
    const h = Math.floor(left / 60);
    return h ? w("left-hours", { h, m: left % 60 }) : w("left-minutes", { m: left });
  }

  function fullTime(iso) {
    const t = parseTime(iso);
    return isNaN(t) ? "" : new Date(t).toLocaleString();
  }

  const channelName = (c) => (c && WORDS[`channel-${c}`]) || c || "";

  // The client's name as a link to their card, when the row knows the client.
  function clientLink(name, clientId) {
    if (clientId == null) return el("strong", "", name || "—");
    const a = el("a", "client-link", name || "—");
    a.href = `/desk/clients/${encodeURIComponent(clientId)}`;
    a.title = w("open-card");
    const strong = el("strong");
    strong.appendChild(a);
    return strong;
  }

  // Joins non-empty parts with " · " into one text node-only span.
  function meta(className, parts) {
    return el("span", className, parts.filter((p) => p !== "" && p != null).join(" · "));
  }

  function renderAlerts(alerts) {
    const box = $("alerts");
    $("alerts-count").textContent = alerts.length ? String(alerts.length) : "";
    if (!alerts.length) {
      box.replaceChildren(el("p", "empty", w("no-alerts")));
      return;
    }
    // Newest first regardless of server order; ids grow with time.
    const sorted = [...alerts].sort((a, b) => b.id - a.id);
    box.replaceChildren(...sorted.map((a) => {
      const known = a.kind === "emergency" || a.kind === "link_problem";
      const card = el("article", `alert ${known ? `alert-${a.kind}` : "alert-other"}`);
      const head = card.appendChild(el("div", "alert-head"));
      head.append(el("span", "badge", WORDS[`alert-${a.kind}`] || a.kind));
      // The morning digest is about the practice, no one client: no name, no card to link.
      if (a.client_id != null || a.client_name != null) head.append(clientLink(a.client_name, a.client_id));
      head.append(
        meta("muted", [channelName(a.channel), a.request_id != null ? w("request", { id: a.request_id }) : ""]),
      );
      const when = head.appendChild(el("span", "when muted", ago(a.created_at)));
      when.title = fullTime(a.created_at);
      if (a.text) card.appendChild(el("div", "alert-text", a.text));
      return card;
    }));
  }

  // Where the request stands with its money (unpaid, invoice sent, paid in Stars / by card / via
  // Stripe / by hand, refunded); the charge ids ride along as a tooltip, the card lists them.
  function payBadge(r) {
    const status = r.payment_status || (r.payment === "paid" ? "manual" : "unpaid");
    const paid = ["stars", "card", "stripe", "manual"].includes(status);
    const badge = el("span", `pay ${paid ? "paid" : "unpaid"} pay-${status}`,
      WORDS[`pay-${status}`] || (paid ? w("paid") : w("unpaid")));
    const ids = (r.payments || []).flatMap((p) => Object.entries(p.charges || {}).map(([k, v]) => `${k}: ${v}`));
    if (ids.length) badge.title = ids.join("\n");
    return badge;
  }

  function queueRow(r, elapsed) {
    const row = el("div", `qrow${r.is_emergency ? " emergency" : ""}`);
    // An alert's link ends in #request-N: that row is the one she came for.
    row.id = `request-${r.request_id}`;
    if (location.hash === `#${row.id}`) row.classList.add("target");
    const top = row.appendChild(el("div", "qrow-top"));
    if (!r.is_emergency) top.appendChild(el("span", "pos", `#${r.position}`));
    top.append(
      clientLink(r.client_name, r.client_id),
      // A Telegram Business client: whether the 24-hour window lets the bot write in her chat.
      meta("muted", [channelName(r.channel), r.window ? w(`window-${r.window}`) : "", w("request", { id: r.request_id })]),
    );
    const bottom = row.appendChild(el("div", "qrow-details small"));
    if (r.is_emergency) {
      const cd = countdown(r.deadline);
      bottom.appendChild(el("span", `countdown${cd === w("overdue") ? " overdue" : ""}`, cd || w("from-payment")));
      bottom.appendChild(meta("", [r.service_name]));
    }
    bottom.append(
      meta("", [r.stage_name]),
      payBadge(r),
      meta("muted", [w("questions", { n: r.questions ?? 0 }), w("waits", { time: duration(r.age_seconds + elapsed) })]),
    );
    return row;
  }

  function renderQueue(queue, elapsed) {
    const box = $("queue");
    $("queue-count").textContent = queue.length ? String(queue.length) : "";
    if (!queue.length) {
      box.replaceChildren(el("p", "empty", w("queue-empty")));
      return;
    }
    // Group consecutive rows only, so the server's order (emergencies first) is kept intact.
    const groups = [];
    for (const r of queue) {
      const key = r.is_emergency ? "\u0000emergency" : r.service_name;
      if (!groups.length || groups[groups.length - 1].key !== key) {
        groups.push({ key, emergency: !!r.is_emergency, title: r.service_name, rows: [] });
      }
      groups[groups.length - 1].rows.push(r);
    }
    box.replaceChildren(...groups.map((g) => {
      const sec = el("div", `qgroup${g.emergency ? " emergency" : ""}`);
      const h = sec.appendChild(el("h3", "", g.emergency ? w("emergencies") : g.title || "—"));
      h.appendChild(el("span", "count", String(g.rows.length)));
      for (const r of g.rows) sec.appendChild(queueRow(r, elapsed));
      return sec;
    }));
  }

  function renderUndelivered(rows) {
    const box = $("undelivered");
    $("undelivered-count").textContent = rows.length ? String(rows.length) : "";
    if (!rows.length) {
      box.replaceChildren(el("p", "empty", w("all-delivered")));
      return;
    }
    box.replaceChildren(...rows.map((r) => {
      const card = el("article", "alert alert-other");
      const head = card.appendChild(el("div", "alert-head"));
      const reason = r.state === "sent" ? r.delivery_status : r.state;
      head.append(
        el("span", "badge", WORDS[`undelivered-${reason}`] || reason),
        el("strong", "", r.client_name || w("to-you")),
        meta("muted", [channelName(r.channel)]),
      );
      const when = head.appendChild(el("span", "when muted", ago(r.created_at)));
      when.title = fullTime(r.created_at);
      card.appendChild(el("div", "alert-text", r.text));
      if (r.error) card.appendChild(el("div", "small muted", r.error));
      return card;
    }));
  }

  function render() {
    if (!state) return;
    // age_seconds was true at generated_at; add the time since so ages keep moving offline.
    const elapsed = Math.max(0, (serverNow() - parseTime(state.generated_at)) / 1000) || 0;
    renderAlerts(state.alerts || []);
    renderQueue(state.queue || [], elapsed);
    renderUndelivered(state.undelivered || []);
  }

  function setStatus(text, isError) {
    $("desk-status").textContent = text;
    $("desk-status").classList.toggle("error", !!isError);
  }

  async function tick() {
    try {
      const res = await fetch("/desk/api/state", { cache: "no-store", credentials: "same-origin" });
      // The session ended (logout elsewhere, a restart): back to the login, then here again.
      if (res.status === 401) { location.assign("/login?next=/desk"); return; }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      const gen = parseTime(data.generated_at);
      skewMs = isNaN(gen) ? 0 : Date.now() - gen;
      state = data;
      setStatus(w("updated", { time: new Date().toLocaleTimeString() }), false);
    } catch (e) {
      setStatus(w("offline", { error: e.message }), true);
    }
    render();
    // Chained timeout rather than setInterval: a slow server never gets overlapping polls.
    setTimeout(tick, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const words = document.getElementById("desk-words");
    WORDS = words ? JSON.parse(words.textContent) : {};
    tick();
  });
})();
