/* Lotse chat widget for any web page.
 *
 *   <script src="https://LOTSE/widget.js" data-token="CUSTOMER_TOKEN" defer
 *           data-title="Fragen?" data-color="#1f6f4a" data-position="right"></script>
 *
 * Adds one element to the page (a <div data-lotse-widget> whose shadow root holds the
 * chat) and nothing to its global scope. It talks to Lotse's REST API with the
 * customer token: answers stream in with their sources, thumbs rate them, a button asks
 * for a person, and an agent's replies appear while a ticket is open. The conversation's
 * id and secret stay in this page's localStorage (no third-party cookies), so a reload
 * resumes it, open if it was open. The language follows <html lang> unless data-lang says otherwise.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.dataset.token) {
    console.error("Lotse widget: the script tag needs data-token (a customer token)");
    return;
  }
  const server = new URL(script.src).origin;
  const token = script.dataset.token;
  const color = /^#[0-9a-fA-F]{3,8}$/.test(script.dataset.color || "") ? script.dataset.color : "#1f6f4a";
  const left = script.dataset.position === "left";
  const lang = ((script.dataset.lang || document.documentElement.lang || "de").slice(0, 2).toLowerCase() === "en") ? "en" : "de";
  const T = {
    de: {title: "Fragen? Wir helfen.", placeholder: "Deine Frage …", send: "Senden", human: "Mit Mitarbeiter sprechen",
         open: "Chat öffnen", close: "Schließen", sources: "Quellen", error: "Keine Verbindung zum Service. Bitte versuch es gleich noch einmal.",
         ai: "Lotse ist ein KI-Assistent und antwortet aus unseren Unterlagen.", thanks: "Danke für deine Bewertung!", agent: "Service-Team"},
    en: {title: "Questions? We can help.", placeholder: "Your question …", send: "Send", human: "Talk to a person",
         open: "Open chat", close: "Close", sources: "Sources", error: "Cannot reach the service. Please try again in a moment.",
         ai: "Lotse is an AI assistant and answers from our documents.", thanks: "Thanks for your rating!", agent: "Service team"},
  }[lang];
  const title = script.dataset.title || T.title;
  const key = "lotse:" + server;

  const host = document.createElement("div");
  host.setAttribute("data-lotse-widget", "");
  const root = host.attachShadow({mode: "open"});
  root.innerHTML = `
<style>
  :host { all: initial; }
  .bubble { position: fixed; bottom: 20px; ${left ? "left" : "right"}: 20px; width: 56px; height: 56px; border-radius: 50%;
            border: 0; background: ${color}; color: #fff; font: 600 24px system-ui, sans-serif; cursor: pointer;
            box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483000; }
  .panel { position: fixed; bottom: 88px; ${left ? "left" : "right"}: 20px; width: min(380px, calc(100vw - 40px));
           height: min(560px, calc(100vh - 120px)); display: none; flex-direction: column; background: #fff; color: #1b1b1b;
           border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.25); font: 14px/1.45 system-ui, sans-serif; z-index: 2147483000; }
  .panel.open { display: flex; }
  header { background: ${color}; color: #fff; padding: 10px 14px; border-radius: 12px 12px 0 0; font-weight: 600; }
  header small { display: block; font-weight: 400; opacity: .9; }
  .log { flex: 1; overflow-y: auto; padding: 10px; }
  .msg { margin: 6px 0; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; max-width: 88%; }
  .customer { background: #e9f2ee; margin-left: auto; }
  .bot, .agent, .notice { background: #f3f3f3; }
  .agent { border-left: 3px solid ${color}; }
  .src { font-size: 12px; margin-top: 4px; color: #444; }
  .src a { color: inherit; }
  .thumbs button { border: 0; background: none; cursor: pointer; font-size: 15px; }
  form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #ddd; }
  input { flex: 1; padding: 8px; border: 1px solid #bbb; border-radius: 8px; font: inherit; }
  button.send, button.human { border: 0; border-radius: 8px; padding: 8px 10px; background: ${color}; color: #fff; cursor: pointer; font: inherit; }
  button.human { margin: 0 8px 8px; background: #fff; color: ${color}; border: 1px solid ${color}; }
</style>
<button class="bubble" part="bubble" aria-label="${T.open}">?</button>
<div class="panel" role="dialog">
  <header><span class="title"></span><small>${T.ai}</small></header>
  <div class="log" aria-live="polite"></div>
  <button class="human" type="button">${T.human}</button>
  <form><input name="q" maxlength="4000" autocomplete="off" placeholder="${T.placeholder}" aria-label="${T.placeholder}">
  <button class="send" type="submit">${T.send}</button></form>
</div>`;
  const $ = (sel) => root.querySelector(sel);
  const log = $(".log"), panel = $(".panel"), input = $("input");
  $(".title").textContent = title;  // the page's text, never read as HTML
  panel.setAttribute("aria-label", title);
  let conversation = null, polling = null, shown = 0, busy = false;
  try { conversation = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { conversation = null; }

  const headers = (extra) => Object.assign({"Authorization": "Bearer " + token, "Content-Type": "application/json"},
                                           conversation ? {"X-Session-Secret": conversation.secret} : {}, extra || {});
  const remember = (data) => {
    if (data.session_id && data.session_secret) {
      conversation = {id: data.session_id, secret: data.session_secret};
      localStorage.setItem(key, JSON.stringify(conversation));
    }
  };
  const add = (role, text) => {
    const el = document.createElement("div");
    el.className = "msg " + role;
    el.textContent = text;
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  };
  const sources = (el, citations) => {
    if (!citations || !citations.length) return;
    const box = document.createElement("div");
    box.className = "src";
    box.textContent = T.sources + ": ";
    citations.forEach((c, i) => {
      const label = `[${c.n}] ${c.title}${c.section && c.section !== c.title ? " – " + c.section : ""}`;
      let item;
      if (/^https?:\/\//.test(c.source)) { item = document.createElement("a"); item.href = c.source; item.target = "_blank"; item.rel = "noopener"; }
      else { item = document.createElement("span"); }
      item.textContent = label;
      box.appendChild(item);
      if (i < citations.length - 1) box.appendChild(document.createTextNode("; "));
    });
    el.appendChild(box);
  };
  const thumbs = (el, messageId) => {
    if (!messageId) return;
    const box = document.createElement("div");
    box.className = "thumbs";
    [["👍", 1], ["👎", -1]].forEach(([label, rating]) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = label; b.setAttribute("aria-label", rating > 0 ? "gut" : "schlecht");
      b.onclick = async () => {
        const r = await fetch(server + "/v1/feedback", {method: "POST", headers: headers(),
          body: JSON.stringify({session_id: conversation.id, rating, message_id: messageId})});
        if (r.ok) box.textContent = T.thanks;
      };
      box.appendChild(b);
    });
    el.appendChild(box);
  };
  const watch = (ticketOpen) => {
    if (ticketOpen && !polling) polling = setInterval(resume, 3000);
    if (!ticketOpen && polling) { clearInterval(polling); polling = null; }
  };

  async function sync() {  // how many messages the server has, so polling adds only new ones
    const r = await fetch(`${server}/v1/conversations/${encodeURIComponent(conversation.id)}`, {headers: headers()});
    if (r.ok) shown = (await r.json()).messages.length;
  }

  async function resume() {
    if (!conversation || busy) return;  // a question in flight adds its own messages
    const r = await fetch(`${server}/v1/conversations/${encodeURIComponent(conversation.id)}`, {headers: headers()});
    if (r.status === 403 || r.status === 404) { localStorage.removeItem(key); conversation = null; return; }
    if (!r.ok) return;
    const data = await r.json();
    data.messages.slice(shown).forEach((m) => {
      const el = add(m.role === "agent" ? "agent" : m.role === "customer" ? "customer" : m.role === "bot" ? "bot" : "notice",
                     (m.role === "agent" ? T.agent + ": " : "") + m.text);
      if (m.role === "bot") sources(el, m.citations);
    });
    shown = data.messages.length;
    watch(data.ticket && data.ticket.status !== "closed");
  }

  async function ask(text) {
    busy = true;
    add("customer", text);
    const el = add("bot", "…");
    try {
      const r = await fetch(server + "/v1/chat", {method: "POST", headers: headers(),
        body: JSON.stringify(Object.assign({message: text, stream: true}, conversation ? {session_id: conversation.id} : {}))});
      if (!r.ok) { el.textContent = (await r.json().catch(() => ({}))).error || T.error; return; }
      const reader = r.body.getReader(), decoder = new TextDecoder();
      let buffer = "", streamed = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const line = buffer.slice(0, cut).replace(/^data: /, "");
          buffer = buffer.slice(cut + 2);
          const event = JSON.parse(line);
          if (event.delta) { streamed += event.delta; el.textContent = streamed; }
          if (event.done) {
            if (event.error) { el.textContent = event.error; continue; }
            remember(event);
            el.textContent = event.answer;
            sources(el, event.citations);
            thumbs(el, event.message_id);
            await sync();
            watch(Boolean(event.ticket));
          }
        }
      }
    } catch (e) {
      el.textContent = T.error;
    } finally {
      busy = false;
    }
  }

  async function human() {
    busy = true;
    try { await askForHuman(); } finally { busy = false; }
  }

  async function askForHuman() {
    const r = await fetch(server + "/v1/human", {method: "POST", headers: headers(),
      body: JSON.stringify(Object.assign({language: lang}, conversation ? {session_id: conversation.id} : {}))});
    if (!r.ok) { add("notice", T.error); return; }
    const data = await r.json();
    remember(data);
    add("bot", data.answer);
    await sync();
    watch(Boolean(data.ticket));
  }

  const show = (open) => {
    panel.classList.toggle("open", open);
    $(".bubble").setAttribute("aria-label", open ? T.close : T.open);
    sessionStorage.setItem(key + ":open", open ? "1" : "");  // a reload keeps it open
    if (open) input.focus();
  };
  $(".bubble").onclick = () => show(!panel.classList.contains("open"));
  $("form").onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text);
  };
  $(".human").onclick = () => { human(); };
  const mount = () => {
    document.body.appendChild(host);
    if (sessionStorage.getItem(key + ":open")) show(true);
    resume();
  };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
