"""Helper process for the crash tests: ingests with a slow fake embedder.

    python slow_ingest.py HOME CORPUS

Prints EMBEDDING when the first batch is being embedded, then takes seconds per
batch, so the test can kill -9 it in the middle of writing a generation.
"""

import sys
import time
from pathlib import Path

from bot.wiring import build_engine
from kb.embedders import FakeEmbedder
from kb.settings import LotseSettings


class SlowEmbedder(FakeEmbedder):
    def embed_batch(self, texts):
        print("EMBEDDING", flush=True)
        time.sleep(0.5)
        return super().embed_batch(texts)


if __name__ == "__main__":
    settings = LotseSettings(home=Path(sys.argv[1]), embedding={"mode": "fake", "batch_size": 8})
    build_engine(settings, embedder=SlowEmbedder()).syncer.sync([Path(sys.argv[2])])
    print("DONE", flush=True)
