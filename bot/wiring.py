"""The one place that chooses backends and builds Lotse's objects from the settings.

    >>> engine = build_engine(get_settings())
    >>> engine.chain.ask("Was kostet der Versand?").text
    >>> services = build_chat(engine.settings, engine)   # conversations, admin, staff logins

Heavy libraries (the embedder's model, chromadb) load here, once per process.
``lotse serve``, the CLI and the tests' server helper all build through these
functions, so a setting means the same thing everywhere. The answer and chat
layers are imported by the functions that build them: ``lotse ingest`` needs
neither and starts a second faster without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ingest.sync import Syncer
from kb.embedders import Embedder, make_embedder
from kb.settings import LotseSettings, WebSourceSettings, get_settings
from kb.store import make_store

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.chat.engine import Engine
    from bot.chat.service import ChatServices


def upload_dir(settings: LotseSettings) -> Path:
    """Where admins' uploads are kept (an ingest root like the configured folders)."""
    return Path(settings.home) / "uploads"


def ingest_targets(settings: LotseSettings) -> tuple[list[Path], list[WebSourceSettings]]:
    """What a full re-ingest covers: ``server.ingest_roots`` and the uploads (those that
    exist), and the web sources of ``ingest.sources``."""
    folders = [Path(r) for r in settings.server.ingest_roots] + [upload_dir(settings)]
    return [f for f in folders if f.exists()], list(settings.ingest.sources)


def build_syncer(settings: LotseSettings | None = None, embedder: Embedder | None = None) -> Syncer:
    """Store, embedder and syncer only: what an ingest needs."""
    settings = settings or get_settings()
    return Syncer(make_store(settings), embedder or make_embedder(settings.embedding), settings)


def build_engine(settings: LotseSettings | None = None, embedder: Embedder | None = None,
                 chat_model: BaseChatModel | None = None) -> Engine:
    """Wire store, embedder, retriever, answer chain (with an LLM if ``llm.mode`` names one)
    and syncer from one settings tree.

    ``embedder`` and ``chat_model`` let tests inject fakes; everything else follows the settings.
    """
    from bot.answer.chain import AnswerChain
    from bot.answer.extractive import ExtractiveAnswerer
    from bot.answer.generative import GenerativeAnswerer
    from bot.answer.llm import make_chat_model
    from bot.chat.engine import Engine
    from kb.retrieval import HybridRetriever

    settings = settings or get_settings()
    store = make_store(settings)
    embedder = embedder or make_embedder(settings.embedding)
    retriever = HybridRetriever(store, embedder, settings.retrieval)
    model = chat_model if chat_model is not None else make_chat_model(settings.llm)
    writer = GenerativeAnswerer(model, settings.llm, settings.server.brand) if model else None
    chain = AnswerChain(retriever, ExtractiveAnswerer(settings.answer), settings.answer, writer,
                        settings.grounding, settings.server.brand, reading=settings.reading)
    return Engine(settings, store, embedder, retriever, chain, Syncer(store, embedder, settings))


def build_chat(settings: LotseSettings | None = None, engine: Engine | None = None,
               state_url: str | None = None) -> ChatServices:
    """The conversation, admin and staff-login services over one state database.

    ``state_url`` defaults to the settings' database; tests pass their own."""
    from bot.channels.chatwoot import ChatwootConnector
    from bot.channels.email import EmailChannel
    from bot.channels.mailbox import MailboxPoller
    from bot.channels.webhooks import WebhookOutbox, WebhookSender
    from bot.chat.admin import AdminService
    from bot.chat.documents import DocumentBrowser
    from bot.chat.faq import FaqLoop
    from bot.chat.metrics import Metrics
    from bot.chat.schedule import IngestScheduler
    from bot.chat.service import ChatService, ChatServices
    from bot.chat.staff import Credentials, LoginSessions
    from bot.chat.state import StateStore

    settings = settings or (engine.settings if engine else get_settings())
    engine = engine or build_engine(settings)
    state = StateStore(state_url or settings.state_url())
    credentials = Credentials.load(settings, state)

    def published_at() -> float | None:
        gen = engine.store.current()
        return gen.info.get("published_at") if gen else None

    metrics = Metrics(published_at)
    admin = AdminService(engine, upload_dir(settings), list(settings.server.ingest_roots), metrics,
                         state)
    mail = EmailChannel(settings.mail, settings.server.brand, state) if settings.mail.host else None
    chat = ChatService(engine, state, mail=mail, metrics=metrics)
    scheduler = IngestScheduler(admin, state, settings.ingest)
    workers: list = [scheduler]  # started and stopped by `lotse serve`
    if settings.webhooks.urls:
        chat.listeners.append(WebhookOutbox(state, settings.webhooks))
        workers.append(WebhookSender(state, settings.webhooks))
    if settings.mailbox.host and mail is not None:
        workers.append(MailboxPoller(chat, settings.mailbox, mail))
    return ChatServices(
        chat=chat,
        admin=admin,
        faq=FaqLoop(state, admin),
        credentials=credentials,
        logins=LoginSessions(credentials, state),
        documents=DocumentBrowser(engine, state),
        scheduler=scheduler,
        workers=workers,
        chatwoot=ChatwootConnector(chat, settings.chatwoot) if settings.chatwoot.url else None,
    )
