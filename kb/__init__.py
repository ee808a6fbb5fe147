"""Lotse knowledge base: types, settings, embedders, chunk store, lexical index and retrieval."""
