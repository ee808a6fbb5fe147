"""The customer web chat (Gradio): formats what ``ChatService`` returns, nothing more.

German by default with an English switch; answers stream in; every answer shows
its sources as expandable cards; recommended products as cards with their key
facts, and an advice question's answers as quick-reply buttons; thumbs up/down
with an optional comment; a
visible "Mit Mitarbeiter sprechen" button; example questions on first open;
agent replies appear in the chat while a ticket is open.

The bot's answers are the only bubbles with thumbs. The team's replies and the
notices (receipts, ticket state, closing) get a bubble of their own with a role
label; the label's class hides the rating buttons next to it (``CSS``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import gradio as gr

from bot.answer.question import MAX_QUESTION_CHARS, InvalidQuestion
from bot.chat.ratelimit import RateLimited
from bot.chat.service import ChatService, Reply
from bot.web.chat_cookie import COOKIE, ChatCookies
from kb.errors import LotseError

TEXTS = {
    "de": {"title": "## Lotse · {brand} Kundenservice",
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
    "en": {"title": "## Lotse · {brand} customer service",
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
EXAMPLES = [
    "Welches Zelt empfehlt ihr für Norwegen im Oktober?",
    "Welche Größe vom AlpinPro 35 brauche ich?",
    "Wie lange habe ich Zeit für eine Rücksendung?",
    "Which hiking poles are good for bad knees?",
]


# Rating buttons follow each bubble; a bubble with a role label (team reply, notice) has none.
CSS = (".message-row:has(.lotse-role) + .message-buttons { display: none !important; }\n"
       ".lotse-role { display: inline-block; font-size: 0.8em; font-weight: 600; "
       "text-transform: uppercase; letter-spacing: 0.04em; opacity: 0.75; }\n"
       ".lotse-products { display: flex; flex-wrap: wrap; gap: 0.5em; }\n"
       ".lotse-product { flex: 1 1 12em; border: 1px solid var(--border-color-primary); "
       "border-radius: 8px; padding: 0.5em 0.75em; }")
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


def build_customer_ui(chat: ChatService, cookies: ChatCookies) -> gr.Blocks:
    """The chat page; ``cookies`` reads the conversation cookie the page was served with."""
    with gr.Blocks(title="Lotse – Kundenservice") as ui:
        session = gr.State("")
        bot_ids = gr.State({})  # chat position -> stored message id, for feedback
        seen = gr.State(0)  # transcript length already shown
        with gr.Row():
            title = gr.Markdown(TEXTS["de"]["title"].format(brand=html.escape(chat.brand)),
                                elem_id="title")
            language = gr.Radio(["de", "en"], value="de", label="Sprache / Language", scale=0)
        chatbot = gr.Chatbot(label="Chat", height=480, elem_id="chat",
                             examples=[{"text": q} for q in EXAMPLES],
                             group_consecutive_messages=False)
        with gr.Row():
            box = gr.Textbox(placeholder=TEXTS["de"]["placeholder"], show_label=False, scale=5,
                             elem_id="question")
            send = gr.Button(TEXTS["de"]["send"], variant="primary", scale=1, elem_id="send")
        human = gr.Button(TEXTS["de"]["human"], elem_id="human")
        comment = gr.Textbox(label=TEXTS["de"]["comment"], lines=1, elem_id="comment")
        privacy = gr.Markdown("", elem_id="privacy")
        poll = gr.Timer(2.0)

        def start(sid: str, lang: str, request: gr.Request):
            """The browser's conversation from its cookie, with what was said so far (a
            reload resumes it); without a cookie this server signed (an API client, a
            planted one), a conversation of its own."""
            history: list = []
            owner = cookies.read(request.cookies.get(COOKIE)) if request else None
            if not sid and owner:
                try:
                    sid = chat.claim(*owner)
                    history = bubbles(chat.transcript(sid), lang)
                except LotseError:
                    sid = ""  # a conversation since erased, or another secret: start afresh
            sid = sid or chat.start_conversation()[0]
            privacy_note = f"<small>{TEXTS[lang]['privacy']}<code>{sid}</code></small>"
            return sid, privacy_note, history, len(history)

        ui.load(start, [session, language], [session, privacy, chatbot, seen])

        def switch(lang: str, sid: str):
            t = TEXTS[lang]
            return (gr.update(placeholder=t["placeholder"]), gr.update(value=t["send"]),
                    gr.update(value=t["human"]), gr.update(label=t["comment"]),
                    f"<small>{t['privacy']}<code>{sid}</code></small>",
                    t["title"].format(brand=html.escape(chat.brand)))

        language.change(switch, [language, session],
                        [box, send, human, comment, privacy, title])

        def respond(message: str, history: list, ids: dict, sid: str, lang: str,
                    request: gr.Request):
            """Yields (chat, message ids, box, transcript length, session)."""
            message = (message or "").strip()
            if not message:
                yield history, ids, gr.update(), gr.update(), sid
                return
            # A client that skipped the page load gets a conversation of its own, never a
            # shared one.
            sid = sid or chat.start_conversation()[0]
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
                for item in chat.stream(sid, message, client=client):
                    if isinstance(item, Reply):
                        reply = item
                        break
                    streamed += item
                    history[-1] = {"role": "assistant", "content": streamed}
                    yield history, ids, box_update(), gr.update(), sid
            except (InvalidQuestion, RateLimited) as exc:
                history[-1] = {"role": "assistant", "content": refusal(exc, lang)}
                yield history, ids, gr.update(), len(chat.transcript(sid)), sid
                return
            # Counted now, not after the reveal: a team reply that arrives while the answer is
            # still being revealed must be left for the next poll to show.
            shown = len(chat.transcript(sid))
            if not streamed:
                for partial in reveal(reply.text):
                    history[-1] = {"role": "assistant", "content": partial}
                    yield history, ids, box_update(), gr.update(), sid
            if reply.forwarded:  # a receipt for the team, not an answer to rate
                history[-1] = labelled("notice", reply.text, lang)
            else:
                answer = reply.answer.to_dict() if reply.answer else {}
                history[-1] = answer_bubble(reply.text, answer, lang)
                ids = rateable({**ids, len(history) - 1: reply.message_id})
            yield history, ids, box_update(), shown, sid

        # A message sent while an answer is still coming in runs right after it (Gradio's
        # default drops it).
        for trigger in (send.click, box.submit):
            trigger(respond, [box, chatbot, bot_ids, session, language],
                    [chatbot, bot_ids, box, seen, session], trigger_mode="always_last")

        def pick_example(data: gr.SelectData, history: list, ids: dict, sid: str, lang: str,
                         request: gr.Request):
            yield from respond(data.value["text"], history, ids, sid, lang, request)

        chatbot.example_select(pick_example, [chatbot, bot_ids, session, language],
                               [chatbot, bot_ids, box, seen, session])

        def pick_option(data: gr.SelectData, history: list, ids: dict, sid: str, lang: str,
                        request: gr.Request):
            """A quick reply is sent as the customer's message; its buttons go away."""
            history = [{k: v for k, v in m.items() if k != "options"} for m in history]
            yield from respond(data.value, history, ids, sid, lang, request)

        chatbot.option_select(pick_option, [chatbot, bot_ids, session, language],
                              [chatbot, bot_ids, box, seen, session])

        def ask_human(history: list, ids: dict, sid: str, lang: str):
            sid = sid or chat.start_conversation()[0]
            reply = chat.request_human(sid, lang)
            history = history + [labelled("notice", reply.text, lang)]
            return history, ids, len(chat.transcript(sid)), sid

        human.click(ask_human, [chatbot, bot_ids, session, language],
                    [chatbot, bot_ids, seen, session])

        def rate(data: gr.LikeData, ids: dict, sid: str, note: str, request: gr.Request):
            if not sid:
                return note  # nothing of this visitor's to rate
            position = data.index if isinstance(data.index, int) else data.index[0]
            client = request.client.host if request and request.client else None
            try:
                chat.feedback(sid, 1 if data.liked else -1, ids.get(position), note or "", client)
            except RateLimited as exc:
                gr.Warning(f"{exc}")
                return note
            return ""

        chatbot.like(rate, [bot_ids, session, comment], [comment])

        def refresh(history: list, sid: str, shown: int, lang: str):
            """Show agent replies (and the notice that a ticket closed) since the last look.

            With nothing new the chat is left alone: the tick may carry a history from
            before an answer that is streaming right now, and must not overwrite it."""
            if not sid:
                return gr.skip(), gr.skip()
            transcript = chat.transcript(sid)
            new = [m for m in transcript[shown:] if m.role in ("agent", "notice")]
            if not new:
                return gr.skip(), gr.skip()
            return history + bubbles(new, lang), len(transcript)

        poll.tick(refresh, [chatbot, session, seen, language], [chatbot, seen])
    # Gradio's queue is unbounded by default: bound it so a flood cannot exhaust memory.
    ui.queue(max_size=64, default_concurrency_limit=4)
    return ui
