"""One question in, one Answer out: the chain, the answerers, the citation check, confidence,
handoff rules and follow-ups. No database and no HTTP here; only ``kb`` below."""
