/* Lotse chat widget for any web page.
 *
 *   <script src="https://LOTSE/widget.js" data-token="CUSTOMER_TOKEN" defer
 *           data-title="Fragen?" data-color="#1f6f4a" data-position="right"></script>
 *
 * Adds one element to the page (a <div data-lotse-widget> whose shadow root holds the
 * chat) and nothing to its global scope. It talks to Lotse's REST API with the
 * customer token: answers stream in with their sources and are read out once to screen
 * readers when whole, thumbs rate them, an answer's quick replies (its options: likely
 * topics, an advice question's answers, a person) are sent as the customer's choice, a
 * button asks for a person, and an agent's replies appear while a ticket is open. The
 * conversation's id and secret stay in this page's localStorage (no third-party
 * cookies), so a reload resumes it, open if it was open. The language follows
 * <html lang> unless data-lang says otherwise.
 *
 * Browsers refuse its calls from a page whose origin is not in the server's
 * server.widget_origins (CORS). It asks /widget/check on load and after a failed call,
 * so the customer reads that the chat is not switched on here (not "no connection"),
 * and the page's developer finds the setting to change in the browser console.
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
         open: "Chat öffnen", close: "Chat schließen", sources: "Quellen", error: "Keine Verbindung zum Service. Bitte versuch es gleich noch einmal.",
         lost: "Die Antwort ist nicht bis hierher gekommen. Bitte lade die Seite neu; dein Verlauf bleibt erhalten.",
         blocked: "Der Chat ist auf dieser Seite noch nicht freigeschaltet. Bitte erreiche uns auf anderem Weg, etwa per E-Mail.",
         slow: "Das waren sehr viele Nachrichten in kurzer Zeit. Bitte warte einen Moment.",
         ai: "Lotse ist ein KI-Assistent und antwortet aus unseren Unterlagen.", thanks: "Danke für deine Bewertung!", agent: "Service-Team",
         good: "Hilfreich", bad: "Nicht hilfreich", replies: "Antwortvorschläge", question: "Deine Frage", bot: "Lotse"},
    en: {title: "Questions? We can help.", placeholder: "Your question …", send: "Send", human: "Talk to a person",
         open: "Open chat", close: "Close chat", sources: "Sources", error: "Cannot reach the service. Please try again in a moment.",
         lost: "The answer did not make it back here. Please reload the page; your conversation is kept.",
         blocked: "The chat is not switched on for this page yet. Please reach us another way, for example by e-mail.",
         slow: "That was a lot of messages in a short time. Please wait a moment.",
         ai: "Lotse is an AI assistant and answers from our documents.", thanks: "Thanks for your rating!", agent: "Service team",
         good: "Helpful", bad: "Not helpful", replies: "Suggested replies", question: "Your question", bot: "Lotse"},
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
  header small { display: block; font-weight: 400; }
  .log { flex: 1; overflow-y: auto; padding: 10px; }
  .msg { margin: 6px 0; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; max-width: 88%; }
  .customer { background: #e9f2ee; margin-left: auto; }
  .bot, .agent, .notice { background: #f3f3f3; }
  .agent { border-left: 3px solid ${color}; }
  .notice.problem { background: #fff4e5; border-left: 3px solid #8a4b00; }
  .src { font-size: 12px; margin-top: 4px; color: #3d3d3d; }
  .src a { color: inherit; }
  .thumbs { margin-top: 4px; }
  .thumbs button { border: 1px solid transparent; border-radius: 6px; background: none; cursor: pointer; font-size: 15px; min-width: 32px; min-height: 32px; }
  .thumbs button[aria-pressed="true"] { border-color: #555; }
  .quick { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 8px; }
  .quick button { border: 1px solid ${color}; border-radius: 16px; padding: 6px 10px; background: #fff; color: #1b1b1b; cursor: pointer; font: inherit; }
  form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #ddd; }
  input { flex: 1; padding: 8px; border: 1px solid #767676; border-radius: 8px; font: inherit; color: #1b1b1b; }
  input::placeholder { color: #6b6b6b; }
  button.send, button.human { border: 0; border-radius: 8px; padding: 8px 10px; background: ${color}; color: #fff; cursor: pointer; font: inherit; }
  button.human { margin: 0 8px 8px; background: #fff; color: #1b1b1b; border: 1px solid ${color}; }
  button:focus-visible, input:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
  .sr { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
</style>
<button class="bubble" part="bubble" type="button" aria-expanded="false" aria-controls="lotse-panel" aria-label="${T.open}">?</button>
<div class="panel" id="lotse-panel" role="dialog">
  <header><span class="title"></span><small>${T.ai}</small></header>
  <div class="log" role="log" aria-live="off"></div>
  <div class="sr" role="status" aria-live="polite"></div>
  <button class="human" type="button">${T.human}</button>
  <form><input name="q" maxlength="4000" autocomplete="off" placeholder="${T.placeholder}" aria-label="${T.question}">
  <button class="send" type="submit">${T.send}</button></form>
</div>`;
  const $ = (sel) => root.querySelector(sel);
  const log = $(".log"), panel = $(".panel"), input = $("input"), status = $(".sr"), bubble = $(".bubble");
  $(".title").textContent = title;  // the page's text, never read as HTML
  panel.setAttribute("aria-label", title);
  let conversation = null, polling = null, shown = 0, busy = false, refused = null;
  try { conversation = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { conversation = null; }

  const headers = (extra) => Object.assign({"Authorization": "Bearer " + token, "Content-Type": "application/json"},
                                           conversation ? {"X-Session-Secret": conversation.secret} : {}, extra || {});
  const remember = (data) => {
    if (data.session_id && data.session_secret) {
      conversation = {id: data.session_id, secret: data.session_secret};
      localStorage.setItem(key, JSON.stringify(conversation));
    }
  };
  // The log stays quiet while an answer streams in; the whole answer is read out once.
  const announce = (text) => { status.textContent = ""; setTimeout(() => { status.textContent = text; }, 50); };
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
    let rated = false;
    [["👍", 1, T.good], ["👎", -1, T.bad]].forEach(([face, rating, name]) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = face; b.setAttribute("aria-label", name); b.setAttribute("aria-pressed", "false");
      b.onclick = async () => {
        if (rated) return;  // once per answer; the buttons stay, so the focus stays put
        rated = true;
        const r = await fetch(server + "/v1/feedback", {method: "POST", headers: headers(),
          body: JSON.stringify({session_id: conversation.id, rating, message_id: messageId})});
        if (!r.ok) { rated = false; return; }
        box.querySelectorAll("button").forEach((other) => other.setAttribute("aria-pressed", String(other === b)));
        const thanks = document.createElement("span");
        thanks.textContent = " " + T.thanks;
        box.appendChild(thanks);
        announce(T.thanks);
      };
      box.appendChild(b);
    });
    el.appendChild(box);
  };
  // The newest answer's quick replies: its options (an advice question's answers, or the
  // likely topics and a person), each sent as the customer's choice.
  const quickReplies = (event) => {
    log.querySelectorAll(".quick").forEach((q) => q.remove());
    const offered = [...(event.options || [])];
    (event.suggestions || []).forEach((s) => { if (s.title && !offered.includes(s.title)) offered.push(s.title); });
    if (!offered.length) return;
    const box = document.createElement("div");
    box.className = "quick";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", T.replies);
    offered.forEach((text) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text;
      b.onclick = () => { if (!busy) { box.remove(); ask(text, true); } };
      box.appendChild(b);
    });
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  };
  const watch = (ticketOpen) => {
    if (ticketOpen && !polling) polling = setInterval(resume, 3000);
    if (!ticketOpen && polling) { clearInterval(polling); polling = null; }
  };

  // Whether this page may use the widget: the server answers any page, while a refused
  // page's REST calls fail in the browser exactly like a server that is down.
  async function check() {
    try {
      const r = await fetch(server + "/widget/check", {cache: "no-store"});
      const data = await r.json();
      refused = !data.allowed;
      if (refused) {
        console.error(`Lotse widget: the Lotse server at ${server} does not allow pages of ${data.origin} ` +
                      `to use the chat (${data.setting}), so the browser blocks its requests. To allow this page: ${data.how}`);
      }
      return refused ? "blocked" : "ok";
    } catch (e) {
      return "down";
    }
  }

  const problem = (el, text) => { el.className = "msg notice problem"; el.textContent = text; announce(text); };
  const block = () => { input.disabled = true; $(".send").disabled = true; $(".human").disabled = true; };

  async function sync() {  // how many messages the server has, so polling adds only new ones
    const r = await fetch(`${server}/v1/conversations/${encodeURIComponent(conversation.id)}`, {headers: headers()});
    if (r.ok) shown = (await r.json()).messages.length;
  }

  async function resume() {
    if (!conversation || busy || refused) return;  // a question in flight adds its own messages
    const r = await fetch(`${server}/v1/conversations/${encodeURIComponent(conversation.id)}`, {headers: headers()});
    if (r.status === 403 || r.status === 404) { localStorage.removeItem(key); conversation = null; return; }
    if (!r.ok) return;
    const data = await r.json();
    const fresh = data.messages.slice(shown);
    fresh.forEach((m) => {
      const el = add(m.role === "agent" ? "agent" : m.role === "customer" ? "customer" : m.role === "bot" ? "bot" : "notice",
                     (m.role === "agent" ? T.agent + ": " : "") + m.text);
      if (m.role === "bot") sources(el, m.citations);
    });
    const heard = fresh.filter((m) => m.role === "agent");
    if (shown && heard.length) announce(heard.map((m) => T.agent + ": " + m.text).join(" "));
    shown = data.messages.length;
    watch(data.ticket && data.ticket.status !== "closed");
  }

  async function ask(text, chosen) {
    busy = true;
    log.querySelectorAll(".quick").forEach((q) => q.remove());
    add("customer", text);
    const el = add("bot", "…");
    el.setAttribute("aria-busy", "true");
    try {
      const body = Object.assign(chosen ? {choice: text} : {message: text}, {stream: true},
                                 conversation ? {session_id: conversation.id} : {});
      const r = await fetch(server + "/v1/chat", {method: "POST", headers: headers(), body: JSON.stringify(body)});
      if (r.status === 429) { problem(el, T.slow); return; }
      if (!r.ok) { problem(el, (await r.json().catch(() => ({}))).error || T.error); return; }
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
            if (event.error) { problem(el, event.error); continue; }
            remember(event);
            el.textContent = event.answer;
            sources(el, event.citations);
            thumbs(el, event.message_id);
            announce(T.bot + ": " + event.answer);
            quickReplies(event);
            await sync();
            watch(Boolean(event.ticket));
          }
        }
      }
    } catch (e) {
      // A refused page and a lost answer fail alike here: ask the server which it was.
      const state = await check();
      problem(el, state === "blocked" ? T.blocked : state === "ok" ? T.lost : T.error);
      if (state === "blocked") block();
    } finally {
      el.removeAttribute("aria-busy");
      busy = false;
    }
  }

  async function human() {
    busy = true;
    try { await askForHuman(); } catch (e) {
      const state = await check();
      const el = add("notice", "");
      problem(el, state === "blocked" ? T.blocked : T.error);
    } finally { busy = false; }
  }

  async function askForHuman() {
    const r = await fetch(server + "/v1/human", {method: "POST", headers: headers(),
      body: JSON.stringify(Object.assign({language: lang}, conversation ? {session_id: conversation.id} : {}))});
    if (!r.ok) { problem(add("notice", ""), T.error); return; }
    const data = await r.json();
    remember(data);
    add("bot", data.answer);
    announce(data.answer);
    await sync();
    watch(Boolean(data.ticket));
  }

  const show = (open) => {
    panel.classList.toggle("open", open);
    bubble.setAttribute("aria-label", open ? T.close : T.open);
    bubble.setAttribute("aria-expanded", String(open));
    sessionStorage.setItem(key + ":open", open ? "1" : "");  // a reload keeps it open
    if (open && !input.disabled) input.focus();
  };
  bubble.onclick = () => show(!panel.classList.contains("open"));
  panel.addEventListener("keydown", (e) => {  // Escape closes and hands the focus back
    if (e.key === "Escape") { show(false); bubble.focus(); }
  });
  $("form").onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text, false);
  };
  $(".human").onclick = () => { human(); };
  const mount = async () => {
    document.body.appendChild(host);
    if (sessionStorage.getItem(key + ":open")) show(true);
    if (await check() === "blocked") {
      problem(add("notice", ""), T.blocked);
      block();
      return;
    }
    resume();
  };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
