"""The customer web chat (Gradio): formats what ``ChatService`` returns, nothing more.

In the browser's language (German or English, from Accept-Language; German when it
names neither) with a switch; answers stream in, and each whole answer is read out
once to screen readers; every answer shows its sources as expandable cards;
recommended products as cards with their key facts, and an advice question's answers
as quick-reply buttons; thumbs up/down with an optional comment; a visible "Mit
Mitarbeiter sprechen" button; example questions on first open; agent replies appear in
the chat while a ticket is open.

The bot's answers are the only bubbles with thumbs. The team's replies and the
notices (receipts, ticket state, closing) get a bubble of their own with a role
label; the label's class hides the rating buttons next to it (``page_style``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from types import SimpleNamespace

import gradio as gr

from bot.answer.question import MAX_QUESTION_CHARS, InvalidQuestion
from bot.chat.ratelimit import RateLimited
from bot.chat.service import ChatService, Reply
from bot.web.chat_cookie import COOKIE, ChatCookies
from kb.errors import LotseError

TEXTS = {
    "de": {"title": "# Lotse · {brand} Kundenservice", "question": "Deine Frage",
           "said_bot": "Lotse",
           "placeholder": "Deine Frage, z.B. „Welches Zelt für Norwegen im Oktober?“",
           "send": "Senden", "human": "Mit Mitarbeiter sprechen", "sources": "Quellen",
           "comment": "Optionaler Kommentar zur letzten Bewertung", "privacy":
           "Deine Sitzungsnummer für Auskunft oder Löschung (DSGVO): ",
           "too_long": "Deine Nachricht ist zu lang ({n} Zeichen, höchstens {max}). "
                       "Magst du sie kürzen?",
           "empty": "In deiner Nachricht war kein lesbarer Text.",
           "too_fast": "Das waren sehr viele Nachrichten in kurzer Zeit. Bitte warte {n} Sekunden "
                       "und schreib dann weiter.",
           "agent": "Serviceteam", "notice": "Hinweis", "products": "Produkte",
           "source": "Quelle", "client_history": "Früherer Verlauf (nicht von Lotse)"},
    "en": {"title": "# Lotse · {brand} customer service", "question": "Your question",
           "said_bot": "Lotse",
           "placeholder": "Your question, e.g. “Which tent for Norway in October?”",
           "send": "Send", "human": "Talk to a person", "sources": "Sources",
           "comment": "Optional comment on your last rating", "privacy":
           "Your session number for data access or deletion (GDPR): ",
           "too_long": "Your message is too long ({n} characters, at most {max}). "
                       "Could you shorten it?",
           "empty": "Your message had no readable text in it.",
           "too_fast": "That was a lot of messages in a short time. Please wait {n} seconds "
                       "and then carry on.",
           "agent": "Service team", "notice": "Notice", "products": "Products",
           "source": "Source", "client_history": "Earlier history (not from Lotse)"},
}
EXAMPLES = {
    "de": ["Welches Zelt empfehlt ihr für Norwegen im Oktober?",
           "Welche Größe vom AlpinPro 35 brauche ich?",
           "Wie lange habe ich Zeit für eine Rücksendung?",
           "Which hiking poles are good for bad knees?"],
    "en": ["Which tent do you recommend for Norway in October?",
           "Which hiking poles are good for bad knees?",
           "How long do I have to return an order?",
           "Welche Größe vom AlpinPro 35 brauche ich?"],
}


KEY_FACTS = 3  # facts on a product card besides the price


def labelled(kind: str, text: str, language: str) -> dict:
    """A bubble of the team ("agent") or a notice, with its role label and no thumbs."""
    label = TEXTS.get(language, TEXTS["de"])[kind]
    return {"role": "assistant",
            "content": f'<span class="lotse-role lotse-{kind}">{label}</span>\n\n{text}'}


def bubbles(messages: list, language: str = "de") -> list[dict]:
    """A stored conversation as chat bubbles: the team's replies and notices labelled."""
    out = []
    for i, m in enumerate(messages):
        if m.role == "customer":
            out.append({"role": "user", "content": m.text})
        elif m.role in ("agent", "notice", "client_history"):  # never as Lotse's answer
            out.append(labelled(m.role, m.text, language))
        elif m.answer.get("kind") == "ticket_notice":  # the "talk to a person" button's
            out.append(labelled("notice", m.text, language))
        else:
            out.append(answer_bubble(m.text, m.answer, language, last=i == len(messages) - 1))
    return out


def cards_html(citations: list[dict], heading: str) -> str:
    """Citations as expandable cards: [n] title – section, then the snippet and the file."""
    cards = []
    for c in citations:
        section = c.get("section") or ""
        section = f" – {html.escape(section)}" if section and section != c["title"] else ""
        internal = " · intern" if c.get("audience") == "internal" else ""
        cards.append(f"<details><summary>[{c['n']}] {html.escape(c['title'])}{section}{internal}"
                     "</summary>"
                     f"<p>{html.escape(c.get('snippet', ''))}</p>"
                     f"<small>{html.escape(c.get('source', ''))}</small></details>")
    return f"\n\n**{heading}**\n\n" + "\n".join(cards) if cards else ""


def product_cards(products: list[dict], language: str) -> str:
    """Recommended or compared products as cards: name, price, key facts, the reason they
    fit, and the source they come from (a link when the source is a web page)."""
    t = TEXTS.get(language, TEXTS["de"])
    cards = []
    for p in products:
        facts = dict(p.get("facts") or {})
        price = next((facts.pop(k) for k in ("Preis", "Price") if k in facts), "")
        lines = [f"<strong>{html.escape(p['name'])}</strong>"
                 + (f" · {html.escape(price)}" if price else "")]
        lines += [f"{html.escape(k)}: {html.escape(str(v))}"
                  for k, v in list(facts.items())[:KEY_FACTS]]
        if p.get("reason"):
            lines.append(f"<em>{html.escape(p['reason'])}</em>")
        source = html.escape(p.get("source", ""))
        if source.startswith(("https://", "http://")):
            source = f'<a href="{source}" target="_blank" rel="noopener">{source}</a>'
        n = f" [{p['citation']}]" if p.get("citation") else ""
        lines.append(f"<small>{t['source']}{n}: {source}</small>")
        cards.append(f'<div class="lotse-product">{"<br>".join(lines)}</div>')
    return (f"\n\n**{t['products']}**\n\n<div class=\"lotse-products\">{''.join(cards)}</div>"
            if cards else "")


def answer_bubble(text: str, answer: dict, language: str, last: bool = True) -> dict:
    """A bot answer: its text, product cards, source cards, and (on the newest answer only,
    since only it can be replied to) the quick replies of an advice question."""
    t = TEXTS.get(language, TEXTS["de"])
    content = (text + product_cards(list(answer.get("products") or []), language)
               + cards_html(list(answer.get("citations") or []), t["sources"]))
    bubble: dict = {"role": "assistant", "content": content}
    if last and answer.get("options"):
        bubble["options"] = [{"value": o} for o in answer["options"]]
    return bubble


def refusal(exc: InvalidQuestion | RateLimited, language: str) -> str:
    """Why a message was not taken, in the customer's language (the text stays in the box)."""
    if isinstance(exc, RateLimited):
        return TEXTS[language]["too_fast"].format(n=int(exc.retry_after))
    if exc.length:
        return TEXTS[language]["too_long"].format(n=exc.length, max=MAX_QUESTION_CHARS)
    return TEXTS[language]["empty"]


# Answers of one chat page whose rating still names the message rated; an older answer's
# rating is kept for the conversation without it. Gradio holds this map for every open
# page, so it must not grow with the conversation.
RATEABLE_ANSWERS = 100


def rateable(ids: dict[int, int | None]) -> dict[int, int | None]:
    """The message ids of the last ``RATEABLE_ANSWERS`` answers of the page (chat position
    -> stored message id)."""
    return dict(sorted(ids.items())[-RATEABLE_ANSWERS:])


def reveal(text: str) -> Iterator[str]:
    """A whole answer as it grows word by word, so it reads like the streamed ones."""
    words = text.split(" ")
    for i in range(1, len(words) + 1):
        yield " ".join(words[:i])


def browser_language(header: str | None) -> str:
    """German or English, whichever the browser's Accept-Language ranks first; German, the
    shop's own language, when it names neither."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        ranked.append((-weight, position, tag.strip().lower()[:2]))
    return next((lang for _, _, lang in sorted(ranked) if lang in TEXTS), "de")


def page_texts(lang: str, sid: str, brand: str) -> tuple:
    """The page's own words in ``lang``: box, send, person button, comment, privacy note,
    title, example questions (the outputs of ``ChatPage.switch``)."""
    t = TEXTS[lang]
    return (gr.update(placeholder=t["placeholder"], label=t["question"]),
            gr.update(value=t["send"]), gr.update(value=t["human"]),
            gr.update(label=t["comment"]), privacy_note(lang, sid),
            t["title"].format(brand=html.escape(brand)),
            gr.update(examples=[{"text": q} for q in EXAMPLES[lang]]))


def privacy_note(lang: str, sid: str) -> str:
    return f"<small>{TEXTS[lang]['privacy']}<code>{sid}</code></small>" if sid else ""


class ChatPage:
    """The chat page's handlers; each returns what the page shows, nothing else."""

    def __init__(self, chat: ChatService, cookies: ChatCookies) -> None:
        self.chat, self.cookies = chat, cookies

    def start(self, sid: str, lang: str, request: gr.Request):
        """The browser's conversation from its cookie, with what was said so far (a reload
        resumes it), in the browser's language; without a cookie this server signed (an API
        client, a planted one), a conversation of its own."""
        lang = browser_language(request.headers.get("accept-language")) if request else lang
        history: list = []
        owner = self.cookies.read(request.cookies.get(COOKIE)) if request else None
        if not sid and owner:
            try:
                sid = self.chat.claim(*owner)
                history = bubbles(self.chat.transcript(sid), lang)
            except LotseError:
                sid = ""  # a conversation since erased, or another secret: start afresh
        sid = sid or self.chat.start_conversation()[0]
        return sid, privacy_note(lang, sid), history, len(history), lang

    def switch(self, lang: str, sid: str):
        return page_texts(lang, sid, self.chat.brand)

    def respond(self, message: str, history: list, ids: dict, sid: str, lang: str,
                request: gr.Request):
        """Yields (chat, message ids, box, transcript length, session, announcement): the
        answer grows in the chat, and once whole it is handed to the page's live region,
        so a screen reader reads it once instead of word by word."""
        message = (message or "").strip()
        if not message:
            yield history, ids, gr.update(), gr.update(), sid, gr.update()
            return
        # A client that skipped the page load gets a conversation of its own, never a
        # shared one.
        sid = sid or self.chat.start_conversation()[0]
        history = history + [{"role": "user", "content": message},
                             {"role": "assistant", "content": ""}]
        client = request.client.host if request and request.client else None
        streamed = ""
        # The box is emptied once, when the message is taken: what the customer types
        # while the answer is still coming in must stay in it.
        box_states = iter([""])

        def box_update():
            return next(box_states, gr.update())

        try:
            for item in self.chat.stream(sid, message, client=client):
                if isinstance(item, Reply):
                    reply = item
                    break
                streamed += item
                history[-1] = {"role": "assistant", "content": streamed}
                yield history, ids, box_update(), gr.update(), sid, ""
        except (InvalidQuestion, RateLimited) as exc:
            history[-1] = {"role": "assistant", "content": refusal(exc, lang)}
            yield (history, ids, gr.update(), len(self.chat.transcript(sid)), sid,
                   refusal(exc, lang))
            return
        # Counted now, not after the reveal: a team reply that arrives while the answer is
        # still being revealed must be left for the next poll to show.
        shown = len(self.chat.transcript(sid))
        if not streamed:
            for partial in reveal(reply.text):
                history[-1] = {"role": "assistant", "content": partial}
                yield history, ids, box_update(), gr.update(), sid, ""
        if reply.forwarded:  # a receipt for the team, not an answer to rate
            history[-1] = labelled("notice", reply.text, lang)
        else:
            answer = reply.answer.to_dict() if reply.answer else {}
            history[-1] = answer_bubble(reply.text, answer, lang)
            ids = rateable({**ids, len(history) - 1: reply.message_id})
        yield history, ids, box_update(), shown, sid, announcement(reply.text, lang)

    def pick_example(self, data: gr.SelectData, history: list, ids: dict, sid: str, lang: str,
                     request: gr.Request):
        yield from self.respond(data.value["text"], history, ids, sid, lang, request)

    def pick_option(self, data: gr.SelectData, history: list, ids: dict, sid: str, lang: str,
                    request: gr.Request):
        """A quick reply is sent as the customer's message; its buttons go away."""
        history = [{k: v for k, v in m.items() if k != "options"} for m in history]
        yield from self.respond(data.value, history, ids, sid, lang, request)

    def ask_human(self, history: list, ids: dict, sid: str, lang: str):
        sid = sid or self.chat.start_conversation()[0]
        reply = self.chat.request_human(sid, lang)
        history = history + [labelled("notice", reply.text, lang)]
        return (history, ids, len(self.chat.transcript(sid)), sid,
                announcement(reply.text, lang))

    def rate(self, data: gr.LikeData, ids: dict, sid: str, note: str, request: gr.Request):
        if not sid:
            return note  # nothing of this visitor's to rate
        position = data.index if isinstance(data.index, int) else data.index[0]
        client = request.client.host if request and request.client else None
        try:
            self.chat.feedback(sid, 1 if data.liked else -1, ids.get(position), note or "",
                               client)
        except RateLimited as exc:
            gr.Warning(f"{exc}")
            return note
        return ""

    def refresh(self, history: list, sid: str, shown: int, lang: str):
        """Show agent replies (and the notice that a ticket closed) since the last look.

        With nothing new the chat is left alone: the tick may carry a history from
        before an answer that is streaming right now, and must not overwrite it."""
        if not sid:
            return gr.skip(), gr.skip(), gr.skip()
        transcript = self.chat.transcript(sid)
        new = [m for m in transcript[shown:] if m.role in ("agent", "notice")]
        if not new:
            return gr.skip(), gr.skip(), gr.skip()
        heard = " ".join(announcement(m.text, lang, m.role) for m in new)
        return history + bubbles(new, lang), len(transcript), heard


def announcement(text: str, lang: str, role: str = "bot") -> str:
    """What the live region reads out: who speaks, then the text as plain words."""
    who = TEXTS[lang]["agent" if role == "agent" else "said_bot"]
    return f"{who}: {html.escape(text)}"


def _layout(brand: str) -> SimpleNamespace:
    """The page's parts, in German until the page load has read the browser's language."""
    t = TEXTS["de"]
    with gr.Row():
        title = gr.Markdown(t["title"].format(brand=html.escape(brand)), elem_id="title")
        language = gr.Radio(["de", "en"], value="de", label="Sprache / Language", scale=0,
                            elem_id="language")
    # No share, clear or copy-all icons and no floating label over the messages: the
    # page's title names the chat, and a customer has nothing to share with Gradio's hub.
    chatbot = gr.Chatbot(label="Chat", show_label=False, height=480, elem_id="chat",
                         examples=[{"text": q} for q in EXAMPLES["de"]], buttons=["copy"],
                         group_consecutive_messages=False)
    with gr.Row():
        box = gr.Textbox(placeholder=t["placeholder"], label=t["question"], show_label=False,
                         scale=5, elem_id="question")
        send = gr.Button(t["send"], variant="primary", scale=1, elem_id="send")
    human = gr.Button(t["human"], elem_id="human")
    comment = gr.Textbox(label=t["comment"], lines=1, elem_id="comment")
    privacy = gr.Markdown("", elem_id="privacy")
    # Read out by screen readers, never seen: each whole answer once (page_style).
    announce = gr.Markdown("", elem_id="announce", elem_classes=["lotse-live", "lotse-sr-only"])
    return SimpleNamespace(title=title, language=language, chatbot=chatbot, box=box, send=send,
                           human=human, comment=comment, privacy=privacy, announce=announce)


def build_customer_ui(chat: ChatService, cookies: ChatCookies) -> gr.Blocks:
    """The chat page; ``cookies`` reads the conversation cookie the page was served with."""
    page = ChatPage(chat, cookies)
    # No usage data leaves the server (Gradio's default would send it, and check its version).
    with gr.Blocks(title="Lotse – Kundenservice", analytics_enabled=False) as ui:
        session = gr.State("")
        bot_ids = gr.State({})  # chat position -> stored message id, for feedback
        seen = gr.State(0)  # transcript length already shown
        p = _layout(chat.brand)
        poll = gr.Timer(2.0)
        ui.load(page.start, [session, p.language], [session, p.privacy, p.chatbot, seen,
                                                     p.language])
        # Also when the page load sets the browser's language.
        p.language.change(page.switch, [p.language, session],
                          [p.box, p.send, p.human, p.comment, p.privacy, p.title, p.chatbot])
        answered = [p.chatbot, bot_ids, p.box, seen, session, p.announce]
        # A message sent while an answer is still coming in runs right after it (Gradio's
        # default drops it).
        for trigger in (p.send.click, p.box.submit):
            trigger(page.respond, [p.box, p.chatbot, bot_ids, session, p.language], answered,
                    trigger_mode="always_last")
        picked = [p.chatbot, bot_ids, session, p.language]
        p.chatbot.example_select(page.pick_example, picked, answered)
        p.chatbot.option_select(page.pick_option, picked, answered)
        p.human.click(page.ask_human, picked, [p.chatbot, bot_ids, seen, session, p.announce])
        p.chatbot.like(page.rate, [bot_ids, session, p.comment], [p.comment])
        poll.tick(page.refresh, [p.chatbot, session, seen, p.language],
                  [p.chatbot, seen, p.announce])
    # Gradio's queue is unbounded by default: bound it so a flood cannot exhaust memory.
    ui.queue(max_size=64, default_concurrency_limit=4)
    return ui
