"""Conversations over the engine: the chat and admin services, tickets and drafts, staff
accounts and logins, rate limits, PII redaction, KPIs and the state database."""
