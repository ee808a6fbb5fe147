"""The REST routes, one router module per area; ``bot.web.api.create_api`` includes them.

    chat            the customer's conversation: /v1/chat, /v1/human, /v1/feedback,
                    /v1/conversations/…, /healthz, /widget.js
    handoffs        the agents' tickets and the FAQ loop: /v1/handoffs/…, /v1/faq-proposals/…,
                    /v1/kpis
    admin           the knowledge base and operations: /v1/admin/…, /v1/uploads, /v1/ingest,
                    /v1/metrics
    openai_compat   /v1/chat/completions and /v1/models for OpenAI clients
    login           the staff UI's cookie login: /login, /logout
    hooks           what other systems call: /hooks/chatwoot/{token}

Every handler is a module-level function that formats what a service returns; the
services and the caller's role come in as FastAPI dependencies (``dependencies``).
"""
