"""Embedding and writing new chunks while the next files are still being parsed.

The syncer hands over each file's chunks as soon as they exist. Worker threads (as many
as the embedder runs well in parallel) embed them in batches, a chunk and its sentences
in one pass (:func:`kb.embedders.embed_grouped`); for the default model each thread hands
its batch to a worker process (:mod:`kb.embed_processes`). One more thread adds each
embedded batch to the next generation. Parsing, embedding and chromadb's inserts overlap instead
of running one after the other. Nothing is published here: the syncer validates and
publishes the writer it gets from :meth:`ChunkWriter.finish`; leaving the ``with``
block without that throws everything written away.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack

import numpy as np

from ingest.chunking import chunk_units
from kb.chroma_records import Sentence
from kb.embedders import BatchEmbedding, Embedder, batch_embedding
from kb.generation_writer import GenerationWriter
from kb.store import ChunkStore
from kb.types import Chunk

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stages are 'load' (files) and 'embed' (chunks,
whose total grows while files are still being parsed)."""


def sentences_of(chunk: Chunk) -> list[Sentence]:
    """The chunk's sentences as stored for sentence-level retrieval."""
    meta = {k: chunk.metadata.get(k, "") for k in ("doc_type", "product")}  # query filters
    return [Sentence(f"{chunk.id}:{i}", chunk.id, text, chunk.audience, meta)
            for i, text in enumerate(chunk_units(chunk))]


class ChunkWriter:
    """Embeds and writes chunks in the background, into a generation opened at the first
    changed file."""

    def __init__(self, store: ChunkStore, embedder: Embedder, base: str | None,
                 batch_size: int, progress: Progress | None = None) -> None:
        self.store, self.embedder, self.base = store, embedder, base
        self.batch_size = batch_size
        self.progress = progress
        self.writer: GenerationWriter | None = None
        self.probe: tuple[Chunk, np.ndarray] | None = None  # for the publish's smoke test
        self.added: list[Chunk] = []  # every chunk handed over, for the lexical index
        self.written = 0
        self._pending: list[Chunk] = []
        self._futures: list[Future] = []
        self._threads = ExitStack()  # holds the embedder's batch mode while we run
        self._batch: BatchEmbedding | None = None
        self._embedding: ThreadPoolExecutor | None = None
        self._warm: Future | None = None
        self._finished = False
        self._writing = ThreadPoolExecutor(1, thread_name_prefix="lotse-write")

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        """Whatever was written is thrown away unless the syncer finished and published."""
        if exc_type is not None or not self._finished:
            self.abort()

    def expect(self) -> None:
        """A changed file is about to be parsed: the embedder's batch mode (the default
        model's worker processes, which load it) and the new generation start now, beside
        the parser, not after it. A sync that finds nothing changed never calls this and
        never loads the model; one whose changed files all fail to parse has started it
        in vain (about half a second of processor time)."""
        if self._embedding is None:
            self._batch = self._threads.enter_context(batch_embedding(self.embedder))
            self._embedding = ThreadPoolExecutor(self._batch.workers, thread_name_prefix="lotse-embed")
            self._warm = self._embedding.submit(self._batch.warm)
            self._futures.append(self._warm)
            self._futures.append(self._writing.submit(self._open))

    def add(self, chunks: list[Chunk]) -> None:
        self.expect()
        self._pending += chunks
        self.added += chunks
        if len(self._pending) >= self.batch_size:
            self._submit()
        self._raise_early()
        self._report()

    def finish(self) -> GenerationWriter:
        """Waits for every batch; the writer of the next generation (opened if nothing was
        added). A failed batch raises here."""
        self._submit()
        # An embedded batch adds its write before it counts as done, so once every
        # future listed is done, nothing more is coming.
        while pending := [f for f in self._futures if not f.done()]:
            wait(pending, timeout=0.5)
            self._report()
        if self._embedding is not None:
            self._embedding.shutdown()
        self._writing.shutdown()
        self._threads.close()
        for future in self._futures:
            future.result()
        self._open()
        self._finished = True
        return self.writer

    def abort(self) -> None:
        """Stops both workers and throws away whatever was written."""
        stop = getattr(self._batch, "kill", None)
        if stop is not None:  # worker processes: a batch still running is not waited for
            stop()
        if self._embedding is not None:
            self._embedding.shutdown(wait=True, cancel_futures=True)
        self._writing.shutdown(wait=True, cancel_futures=True)
        self._threads.close()
        if self.writer is not None:
            self.writer.abort()

    def _submit(self) -> None:
        if self._pending:
            self.expect()
            self._futures.append(self._embedding.submit(self._embed, self._pending))
            self._pending = []

    def _raise_early(self) -> None:
        """A batch that failed ends the sync now, not after every file was parsed."""
        for future in self._futures:
            if future.done() and future.exception() is not None:
                future.result()

    def _embed(self, chunks: list[Chunk]) -> None:
        self._warm.result()  # the model is loaded once, not by two threads at a time
        sentences = [sentences_of(c) for c in chunks]
        # the chunk's vector reads its title and section too (Chunk.search_text)
        heads = [c.search_text[:len(c.search_text) - len(c.text)].strip() for c in chunks]
        groups = [([h] if h else []) + [s.text for s in ss] for h, ss in zip(heads, sentences)]
        vectors, part_vectors = self._batch.embed_grouped(groups)
        rows, row = [], 0
        for head, ss in zip(heads, sentences):
            row += bool(head)
            rows += range(row, row + len(ss))
            row += len(ss)
        self._futures.append(self._writing.submit(
            self._write, chunks, vectors, [s for ss in sentences for s in ss], part_vectors[rows]))

    def _open(self) -> None:
        if self.writer is None:
            self.writer = self.store.begin(base=self.base)

    def _write(self, chunks: list[Chunk], vectors: np.ndarray, sentences: list[Sentence],
               sentence_vectors: np.ndarray) -> None:
        self._open()
        self.writer.add(chunks, vectors, sentences, sentence_vectors)
        if self.probe is None:
            self.probe = (chunks[len(chunks) // 2], vectors[len(chunks) // 2])
        self.written += len(chunks)

    def _report(self) -> None:
        """Progress is reported from the syncer's own thread: a UI's progress callback
        (Gradio's) may only work there."""
        if self.progress and self.added:
            self.progress("embed", self.written, len(self.added))
