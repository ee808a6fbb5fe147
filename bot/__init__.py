"""Using the knowledge base: answer chain, handoff, sessions, CLI, REST and UI."""
