"""The settings sections of the channels: e-mail out and in, webhooks, Chatwoot.

Part of the one settings tree (``kb.settings.LotseSettings`` holds them as ``mail``,
``mailbox``, ``webhooks`` and ``chatwoot``); read from env ``LOTSE_MAIL__HOST`` and so on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host and, if any, a numeric port."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class MailSettings(BaseModel):
    """Outgoing e-mail: agents' replies to customers who asked for the answer by e-mail."""

    host: str = Field("", description="SMTP server; empty: no e-mail, and none is offered.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="'starttls' upgrades the connection, 'tls' connects with TLS "
        "(SMTPS), 'none' sends in the clear (only for a relay on the same host)."
    )
    username: str = Field("", description="SMTP login; empty: no login.")
    password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    sender: str = Field("service@example.org", description="From address of the e-mails.")
    timeout_s: float = Field(15.0, gt=0, description="Seconds to wait for the SMTP server.")


class MailboxSettings(BaseModel):
    """Incoming e-mail: Lotse answers a support mailbox it reads over IMAP
    (bot.channels.mailbox); its replies go out through ``mail`` (SMTP)."""

    host: str = Field("", description="IMAP server; empty: Lotse reads no mailbox.")
    port: int = Field(993, ge=1, le=65535, description="IMAP port (993 TLS, 143 STARTTLS).")
    security: Literal["tls", "starttls", "none"] = Field(
        "tls", description="'tls' connects with TLS (IMAPS), 'starttls' upgrades the "
        "connection, 'none' reads in the clear (only for a server on the same host)."
    )
    username: str = Field("", description="IMAP login.")
    password: SecretStr = Field(SecretStr(""), description="IMAP password.")
    folder: str = Field("INBOX", description="The folder Lotse reads.")
    address: str = Field("", description="The mailbox's own address, if customers should "
                         "write to it rather than to mail.sender: Lotse's e-mails name it in "
                         "Reply-To, and messages from it are never answered.")
    use_keyword: bool = Field(True, description="Mark handled messages with the IMAP keyword "
                              "$Lotse (where the server keeps keywords), so staff see them in "
                              "their mail program; the state database decides either way.")
    replies_per_address_per_day: int = Field(
        20, ge=1, description="Lotse's e-mails to one address in 24 hours; beyond that, new "
        "messages from it go to a person without an automatic reply (a mail loop ends here).")
    poll_seconds: float = Field(60.0, ge=1, description="Seconds between two looks at the folder.")
    max_age_hours: float = Field(
        72.0, gt=0, description="Messages that arrived longer ago than this are marked as seen "
        "by Lotse but not answered (a mailbox connected for the first time keeps its history)."
    )
    timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for the IMAP server.")


WEBHOOK_EVENTS = ("ticket.opened", "customer.message", "agent.reply", "ticket.closed")


class WebhookSettings(BaseModel):
    """Signed outgoing webhooks for a helpdesk or any other receiver (bot.channels.webhooks)."""

    urls: list[str] = Field(default_factory=list, description="Receivers; each gets every "
                            "event listed in `events`. Empty: no webhooks.")
    secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of the "
                              "`X-Lotse-Signature` header; required when `urls` is set.")
    events: list[Literal["ticket.opened", "customer.message", "agent.reply", "ticket.closed"]] = \
        Field(default_factory=lambda: list(WEBHOOK_EVENTS), description="Which events are sent.")
    attempts: int = Field(6, ge=1, le=30, description="Tries per delivery before it goes to the "
                          "dead-letter list (the admin can replay it from there).")
    backoff_seconds: float = Field(5.0, gt=0, description="Wait before the first retry; "
                                   "doubled for each further one (5, 10, 20, 40, 80 s).")
    timeout_seconds: float = Field(10.0, gt=0, description="Seconds to wait for a receiver.")

    @model_validator(mode="after")
    def _signed(self) -> WebhookSettings:
        if self.urls and not self.secret.get_secret_value():
            raise ValueError("webhooks.urls is set but webhooks.secret is empty: every "
                             "webhook is signed, so a receiver can tell it comes from Lotse")
        bad = [u for u in self.urls if not is_http_url(u)]
        if bad:
            raise ValueError(f"webhooks.urls must be http(s) URLs: {', '.join(bad)}")
        return self


class ChatwootSettings(BaseModel):
    """Lotse as a Chatwoot Agent Bot (bot.channels.chatwoot)."""

    url: str = Field("", description="Chatwoot's base URL (https://chat.example.com); empty: "
                     "no Chatwoot connector.")
    bot_token: SecretStr = Field(SecretStr(""), description="The agent bot's access token "
                                 "(Chatwoot: Settings > Bots), sent as `api_access_token`.")
    webhook_token: SecretStr = Field(SecretStr(""), description="A long random secret; the "
                                     "bot's outgoing URL in Chatwoot is "
                                     "https://LOTSE/hooks/chatwoot/<webhook_token>.")
    timeout_seconds: float = Field(15.0, gt=0, description="Seconds to wait for Chatwoot's API.")
    account_id: int | None = Field(None, gt=0, description="The Chatwoot account the bot "
                                   "serves (the number in Chatwoot's URLs, /app/accounts/<id>/); "
                                   "an event of any other account is refused (403).")
    signing_secret: SecretStr = Field(SecretStr(""), description="The agent bot's webhook "
                                      "secret (Chatwoot 4.13 and later sign agent-bot events "
                                      "with it). Set: an event without a valid "
                                      "X-Chatwoot-Signature is refused (401).")
    max_age_seconds: float = Field(300.0, gt=0, description="With a signing secret: an event "
                                   "whose X-Chatwoot-Timestamp is further than this from now "
                                   "is refused (401), so a recorded event cannot be replayed.")
    seen_ids_kept: int = Field(10_000, ge=100, description="Message ids of handled events "
                               "remembered (the newest), so a repeated event is not answered "
                               "twice.")

    @model_validator(mode="after")
    def _complete(self) -> ChatwootSettings:
        if self.url and not (self.bot_token.get_secret_value()
                             and len(self.webhook_token.get_secret_value()) >= 16):
            raise ValueError("chatwoot.url is set: chatwoot.bot_token and a chatwoot."
                             "webhook_token of at least 16 characters are needed too")
        if self.url and self.account_id is None:
            raise ValueError("chatwoot.url is set: chatwoot.account_id (the account the bot "
                             "serves) is needed too")
        return self
