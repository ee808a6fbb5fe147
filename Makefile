# Two commands do all the setup on a fresh machine:
#   make run    create .venv, install, ingest docs_corpus/ and start Lotse (chat, staff UI,
#               REST API on http://127.0.0.1:7860, logins printed)
#   make test   create .venv, install (with Debian's chromium and postgresql: root or sudo), run the tests,
#               the citation-check benchmark and the evaluations (about 15 minutes)
# Also: make test-fast (unit tier, under a minute), make screenshots (refresh docs/screenshots/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps run test test-fast screenshots grounding test-slow reliability soak ingest-bench channels-bench crawl-bench corpora-bench train eval corpus clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: these machines carry its wheel, and with it
	# installed nothing can pull a CUDA build in through sentence-transformers.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright drives it and never downloads one),
# PostgreSQL 15, whose throwaway clusters the state tests start, and dovecot, the IMAP
# server of the e-mail channel's tests (each test starts its own on a free port).
system-deps:
	@test -x /usr/bin/chromium -a -x /usr/lib/postgresql/15/bin/initdb -a -x /usr/sbin/dovecot || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium postgresql-15 dovecot-imapd; }

run: install
	$(BIN)/lotse ingest docs_corpus
	$(BIN)/lotse serve

test: install system-deps
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory grounding
	$(MAKE) --no-print-directory eval
	$(BIN)/python -m bench.corpora --fast --check --json "$$(mktemp -d)/corpora.json"

# Unit tests: every test that uses none of the heavy fixtures (a model, the ingested
# corpus, a browser, PostgreSQL, a server, processes of its own) is marked "fast" by
# tests/conftest.py.
test-fast: install
	$(BIN)/python -m pytest -m "fast and not slow" -q

# The citation check on its labelled sentences; fails below the thresholds CI enforces.
# The JSON goes to a temporary folder, so a test run leaves the checkout clean.
grounding: install
	$(BIN)/python -m bench.grounding --check --json "$$(mktemp -d)/grounding.json"

# Browser tests that write their screenshots to docs/screenshots/ for the README.
screenshots: install system-deps
	LOTSE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/e2e -q

# Slow tests: the real Gemma-3-270M through llama.cpp (the llamacpp extra builds
# llama-cpp-python from source the first time, about 7 minutes on 2 cores).
test-slow: install
	$(BIN)/pip install --quiet -e ".[test,llamacpp]"
	$(BIN)/python -m pytest -m slow

# Chat load during re-ingests, on chromadb files and on a `chroma run` server shared by two
# Lotse processes (about 6 minutes; needs ../shared/data/xquad, skips without it).
reliability: install
	$(BIN)/python -m bench.reingest_load

# Lotse's ingest against a plain split-embed-add pipeline on the XQuAD paragraphs, side by
# side, and the peak memory of the 100k-chunk build (about 10 minutes; skips without
# ../shared/data/xquad).
ingest-bench: install
	$(BIN)/python -m bench.ingest --runs 5 --build 100000

# Answer latency through REST, the OpenAI endpoint, the widget (chromium) and e-mail
# (dovecot and aiosmtpd), against one real `lotse serve` (about 3 minutes).
channels-bench: install system-deps
	$(BIN)/python -m bench.channels --runs 20 --poll 2

# Crawl throughput and a no-change re-crawl of a local 551-page help center, and the
# retrieval test's latency (about 1 minute).
crawl-bench: install
	$(BIN)/python -m bench.crawl --pages 500 --runs 3

# The soak (a benchmark, not in CI): 50 customers for an hour through nginx to three
# `lotse serve` processes on one `chroma run` server and one PostgreSQL, a re-ingest every
# 5 minutes from each process in turn and one rollback halfway; every process's RSS
# sampled every 30 s, and each Lotse process may grow by at most 15 MB in the second half
# hour. Installs Debian's nginx and postgresql-15 when missing.
soak: install
	@test -x /usr/sbin/nginx -a -x /usr/lib/postgresql/15/bin/initdb || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    nginx postgresql-15; }
	$(BIN)/python -m bench.soak --check

# Every fitted artifact in bot/models/ from the committed data (bench/corpora): the
# dialogue-act model, the answer-unit ranker and the answerability model, each with its
# card (about 10 minutes on 2 cores). scikit-learn is needed here only, not to serve.
train: install
	$(BIN)/pip install --quiet -e ".[train]"
	$(BIN)/python -m learn.acts
	$(BIN)/python -m learn.answers

# The corpora suite: real help centers with blind-written cases, train and dev corpora,
# through `lotse ingest`, `lotse ask --json` and `/v1/chat` (see bench/corpora/README.md).
corpora-bench: install
	$(BIN)/python -m bench.corpora --split train,dev --json bench/results/corpora.json

# The gold set against a fresh store of docs_corpus/ with the offline default embedder.
eval: install
	rm -rf .lotse-eval
	LOTSE_HOME=.lotse-eval $(BIN)/lotse ingest docs_corpus
	LOTSE_HOME=.lotse-eval $(BIN)/lotse eval

corpus: install
	$(BIN)/python scripts/make_corpus_binaries.py

clean:
	rm -rf $(VENV) .lotse .lotse-eval .pytest_cache
