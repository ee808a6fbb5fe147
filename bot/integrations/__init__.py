"""Lotse for developers: LangChain parts (``bot.integrations.langchain``)."""
