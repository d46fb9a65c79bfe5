// Local web chat: a stand-in for Telegram/WhatsApp so the bot can be tried without tokens.
// All server data goes into the DOM via textContent / createElement, never innerHTML.
(function () {
  "use strict";

  const STORAGE_KEY = "priem.client";
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  let client = null;      // {client_key, name}
  let lastId = 0;         // highest message id already rendered
  let lastOut = null;     // {bubble, buttons} of the newest bot message: chips live under it
  let generation = 0;     // bumped on client switch so stale poll responses are dropped
  let pending = null;     // {text, payload, id}: last unconfirmed send, so a retry reuses its id
  let sending = false, pollTimer = null, pollPromise = null, pollAgain = false;

  // crypto.randomUUID only exists in secure contexts; a phone opening http://192.168.x.x
  // is not one, so fall back to getRandomValues (available everywhere).
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  }

  function loadClient() {
    let c = null;
    try { c = JSON.parse(localStorage.getItem(STORAGE_KEY)); } catch (e) { /* corrupt → ask again */ }
    return c && c.client_key && c.name ? c : null;
  }

  // ---------- rendering ----------

  // Builds text nodes + <a> elements; the href is taken only from an http(s) match,
  // so javascript:/data: URLs can never become links.
  const URL_RE = /https?:\/\/[^\s<>"']+/g;
  function appendLinkified(parent, text) {
    let pos = 0;
    for (const m of text.matchAll(URL_RE)) {
      // Trailing punctuation usually belongs to the sentence, not the URL.
      const url = m[0].replace(/[.,;:!?)\]»]+$/, "");
      if (!/^https?:\/\//i.test(url) || url.length < 9) continue;
      parent.appendChild(document.createTextNode(text.slice(pos, m.index)));
      parent.appendChild(Object.assign(el("a", "", url),
        { href: url, target: "_blank", rel: "noopener noreferrer" }));
      pos = m.index + url.length;
    }
    parent.appendChild(document.createTextNode(text.slice(pos)));
  }

  function timeLabel(iso) {
    // Naive timestamps (SQLite drops the offset) are taken as UTC.
    const s = /[zZ]|[+-]\d\d:?\d\d$/.test(iso || "") ? iso : `${iso}Z`;
    const d = new Date(s);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function makeBubble(side, text, kind, created) {
    const b = el("div", `bubble ${side}`);
    if (kind === "voice" || kind === "other") {
      b.appendChild(el("div", "kind-tag", kind === "voice" ? "🎤 голосовое / voice" : "📎 вложение / attachment"));
    }
    const body = b.appendChild(el("div", "text"));
    appendLinkified(body, text || "");
    b.appendChild(el("div", "time", created ? timeLabel(created) : "отправка… / sending…"));
    return b;
  }

  function renderChips() {
    document.querySelector(".chips")?.remove();
    if (!lastOut || !lastOut.buttons.length) return;
    const box = el("div", "chips");
    for (const btn of lastOut.buttons) {
      const c = el("button", "chip", btn.label);
      c.type = "button";
      c.disabled = sending;
      c.addEventListener("click", () => send(btn.label, btn.payload));
      box.appendChild(c);
    }
    lastOut.bubble.after(box);
  }

  function scrollDown() { $("messages").scrollTop = $("messages").scrollHeight; }

  function addMessages(list) {
    const box = $("messages");
    // Only follow new messages if the reader hasn't scrolled up to reread something.
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const pendingBubble = box.querySelector(".bubble.pending");
    for (const msg of list) {
      if (msg.id <= lastId) continue; // a re-requested page must not duplicate bubbles
      lastId = msg.id;
      const side = msg.direction === "out" ? "bot" : "me";
      const b = makeBubble(side, msg.text, msg.kind, msg.created_at);
      box.insertBefore(b, pendingBubble); // keep the unconfirmed bubble last
      if (side === "bot") lastOut = { bubble: b, buttons: msg.buttons || [] };
    }
    if (list.length) {
      $("empty-chat").hidden = true;
      renderChips();
      if (stick) scrollDown();
    }
  }

  function setStatus(text, isError) {
    Object.assign($("status"), { hidden: !text, textContent: text || "" });
    $("status").classList.toggle("error", !!isError);
  }

  // ---------- network ----------

  async function errorText(res) {
    try {
      const j = await res.json();
      if (typeof j.detail === "string") return `${res.status}: ${j.detail}`;
      // A 422 lists what was wrong, e.g. a message over the 20,000-character limit.
      if (Array.isArray(j.detail) && j.detail[0] && j.detail[0].msg) return `${res.status}: ${j.detail[0].msg}`;
    } catch (e) { /* body is not JSON; the status code is enough */ }
    return `HTTP ${res.status}`;
  }

  // Single-flight poll. A call arriving mid-flight queues one more round and shares the
  // promise, so awaiting poll() right after a send sees the freshly stored message.
  function poll() {
    if (pollPromise) { pollAgain = true; return pollPromise; }
    pollPromise = pollLoop().finally(() => { pollPromise = null; });
    return pollPromise;
  }

  async function pollLoop() {
    const gen = generation;
    try {
      do {
        pollAgain = false;
        const url = `/chat/api/messages?client_key=${encodeURIComponent(client.client_key)}&after=${lastId}`;
        const res = await fetch(url, { cache: "no-store" });
        if (gen !== generation) return;
        if (!res.ok) throw new Error(await errorText(res));
        addMessages((await res.json()).messages || []);
        if (!sending && !pending) setStatus("");
      } while (pollAgain && gen === generation);
    } catch (e) {
      if (gen === generation && !pending) setStatus("Нет связи с сервером, пробуем снова… / Offline, retrying…", true);
    }
  }

  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => { // chained, not setInterval: slow replies never pile up
      if (client && !document.hidden) await poll();
      if (client) schedulePoll();
    }, POLL_MS);
  }

  async function send(text, payload) {
    if (sending || !client || !text) return;
    payload = payload ?? null;
    // Same text/payload as the failed attempt → same id, so the server dedups if the
    // first request actually got through and only the response was lost.
    if (!pending || pending.text !== text || pending.payload !== payload) {
      pending = { text, payload, id: uuid() };
    }
    const attempt = pending;
    const gen = generation;
    const input = $("text-input");
    if (payload === null) { input.value = ""; autoGrow(); } // messenger feel; restored on failure
    sending = true;
    $("send-btn").disabled = true;
    renderChips();
    setStatus("");
    const bubble = $("messages").appendChild(makeBubble("me pending", text, "text", null));
    $("empty-chat").hidden = true;
    scrollDown();

    let error = null;
    try {
      const res = await fetch("/chat/api/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          client_key: client.client_key, name: client.name,
          text, message_id: attempt.id, payload,
        }),
      });
      if (!res.ok) error = await errorText(res);
    } catch (e) { error = "нет связи / network error"; }
    sending = false;
    $("send-btn").disabled = false;
    if (gen !== generation) return;
    if (!error) {
      pending = null;
      await poll(); // the real bubble arrives before the placeholder goes, so no flicker
    } else {
      if (payload === null) {
        // Put the text back exactly (same string → same message_id on retry); anything
        // typed while the request hung goes after it rather than being lost.
        const typed = input.value;
        input.value = typed ? `${text}\n${typed}` : text;
        autoGrow();
      }
      const how = payload === null ? "нажмите ➤ ещё раз / tap ➤ to retry" : "нажмите кнопку ещё раз / tap the button again";
      setStatus(`Не отправлено (${error}) — ${how}.`, true);
    }
    bubble.remove();
    renderChips();
  }

  // ---------- screens ----------

  function autoGrow() {
    const t = $("text-input");
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 140)}px`;
  }

  function showChat() {
    [$("intro").hidden, $("chat").hidden] = [true, false];
    $("client-name").textContent = client.name;
    $("text-input").focus();
    poll();
    schedulePoll();
  }

  function showIntro() {
    [$("intro").hidden, $("chat").hidden] = [false, true];
    $("name-input").focus();
  }

  function resetClient(ev) {
    ev.preventDefault();
    localStorage.removeItem(STORAGE_KEY);
    generation += 1;
    clearTimeout(pollTimer);
    client = null; lastId = 0; lastOut = null; pending = null;
    for (const el of document.querySelectorAll("#messages .bubble, .chips")) el.remove();
    $("empty-chat").hidden = false;
    $("text-input").value = "";
    setStatus("");
    showIntro();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("name-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = $("name-input").value.trim();
      if (!name) return;
      client = { client_key: uuid(), name };
      localStorage.setItem(STORAGE_KEY, JSON.stringify(client));
      showChat();
    });
    const sendTyped = (ev) => { ev.preventDefault(); send($("text-input").value.trim(), null); };
    $("composer").addEventListener("submit", sendTyped);
    $("text-input").addEventListener("keydown", (ev) => {
      // isComposing: an Enter that confirms an IME candidate must not send.
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) sendTyped(ev);
    });
    $("text-input").addEventListener("input", autoGrow);
    $("reset-client").addEventListener("click", resetClient);
    // Catch up at once when the tab comes back instead of waiting for the next tick.
    document.addEventListener("visibilitychange", () => { if (client && !document.hidden) poll(); });

    client = loadClient();
    if (client) showChat(); else showIntro();
  });
})();
