"""One embedding worker process (``python -m kb.embed_worker``), started by
:mod:`kb.embed_processes`: it loads the default model with one BLAS thread and embeds the
batches that arrive on stdin until its input ends.

A module of its own, so that :mod:`kb.embedders` (which starts the workers) and the
worker (which runs an embedder) do not import each other.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from kb import pipes
from kb.embedders import UseEmbedder


def _serve() -> None:
    """A worker: load the model and say so, then embed what arrives until the parent
    closes stdin. Ctrl-C reaches the whole process group; the parent decides, and this
    worker ends when its input does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = pipes.reply_stream()
    os.nice(10)
    try:
        embedder = UseEmbedder(threads=1)
        embedder.embed_batch(["Lotse"])  # the model loads now, while the first files are parsed
    except Exception as exc:
        pipes.send(replies, ("error", f"{exc.__class__.__name__}: {exc}"))
        return
    pipes.send(replies, ("ok", None))
    for groups in pipes.requests():
        try:
            reply: tuple[str, Any] = ("ok", embedder.embed_grouped(groups))
        except Exception as exc:  # the caller decides what a failed batch means
            reply = ("error", f"{exc.__class__.__name__}: {exc}")
        pipes.send(replies, reply)


if __name__ == "__main__":
    _serve()
