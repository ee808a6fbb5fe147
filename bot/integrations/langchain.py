"""Lotse as LangChain parts: a retriever, the answer chain, and the citation check.

    >>> from bot.integrations.langchain import LotseChain, LotseRetriever
    >>> docs = LotseRetriever().invoke("Wie lange dauert der Versand?")
    >>> docs[0].metadata["source"], docs[0].metadata["score"]
    >>> LotseChain().invoke("Wie lange dauert der Versand?")["answer"]

Built with no arguments, each reads the settings the way the CLI does (``LOTSE_HOME``,
``lotse.toml``, ``LOTSE_…`` variables) and opens that store; or pass ``engine=`` (what
``bot.wiring.build_engine`` returns) to share one engine. The audience is fixed when a
part is built: a retriever or chain for customers never returns an internal document,
whatever its input says.

:class:`CitationFilter` is the citation check on its own: it keeps the sentences of
another chain's text that the documents it is given support.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from bot.answer.followup import Turn
from bot.answer.grounding import CitationChecker
from kb.types import Answer, Hit

VIEWS = ("customer", "agent")


def _default_engine() -> Any:
    from bot.wiring import build_engine

    return build_engine()


def _checked_view(view: str) -> str:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    return view


# The metadata a ``where`` filter may name: what chunks are stored with for filtering.
WHERE_KEYS = ("doc_type", "product")


def _checked_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}")
    return k


def _checked_where(where: Any) -> dict[str, str] | None:
    """``where`` if it only compares ``doc_type`` or ``product`` with a text; the audience
    is the view's and never a filter a caller sets."""
    if where is None:
        return None
    if not isinstance(where, dict) or not where:
        raise ValueError(f"where must be a non-empty dict of {' and/or '.join(WHERE_KEYS)}, "
                         f"not {where!r}"[:200])
    for key, value in where.items():
        if key not in WHERE_KEYS:
            raise ValueError(f"where may name {' and '.join(WHERE_KEYS)} only, not {key!r}"[:200])
        if not isinstance(value, str):
            raise ValueError(f"where[{key!r}] must be a text, not {value!r}"[:200])
    return dict(where)


def to_document(hit: Hit) -> Document:
    """A hit as a langchain Document; the metadata names where the text comes from."""
    chunk = hit.chunk
    return Document(page_content=chunk.text, id=chunk.id, metadata={
        "source": chunk.source, "title": chunk.title, "section": chunk.section or "",
        "score": round(float(hit.score), 4), "audience": chunk.audience,
        "doc_type": chunk.metadata.get("doc_type", ""),
        "product": chunk.metadata.get("product", ""),
        "language": chunk.metadata.get("language", ""),
        "signals": {k: round(float(v), 4) for k, v in hit.signals.items()}})


class LotseRetriever(BaseRetriever):
    """Lotse's hybrid retrieval (BM25 and dense, fused) for one view.

    ``view`` is ``customer`` (public documents only) or ``agent`` (internal notes too) and
    is fixed when the retriever is built; ``k`` hits are returned, best first; ``where``
    narrows by ``doc_type`` or ``product``. ``k`` and ``where`` may also be given with each
    call, which is how LangChain's standard retriever tests and other tools ask:

        >>> retriever = LotseRetriever(k=5)
        >>> retriever.invoke("Was kostet der Expressversand?", k=1)           # one document
        >>> retriever.invoke("Rucksack", where={"doc_type": "product"})    # products only

    Any other argument of a call (``view``, ``audience``, …) is refused with a
    ``TypeError``: what a caller passes never widens what the retriever may show.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any = Field(default_factory=_default_engine, exclude=True)
    view: str = "customer"
    k: int = 5
    where: dict[str, str] | None = None

    def model_post_init(self, __context: Any) -> None:
        _checked_view(self.view)
        _checked_k(self.k)
        _checked_where(self.where)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, where: dict[str, str] | None = None,
                                **other: Any) -> list[Document]:
        # langchain-core hands every keyword of ``invoke`` down, its own ``verbose`` included.
        other.pop("verbose", None)
        if other:
            raise TypeError(f"LotseRetriever takes k and where with a call, not {', '.join(other)}"
                            f"; the view ({self.view}) is fixed when the retriever is built")
        k = self.k if k is None else _checked_k(k)
        where = self.where if where is None else _checked_where(where)
        hits = self.engine.retriever.retrieve(query, view=self.view, k=k, where=where).hits
        return [to_document(h) for h in hits]

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs: Any) -> list[Document]:
        # langchain-core's default drops the call's arguments on the way to the thread.
        return await run_in_executor(None, self._get_relevant_documents, query,
                                     run_manager=run_manager.get_sync(), **kwargs)


def _question(value: str | dict) -> tuple[str, list[Turn]]:
    """A question, or ``{"question": ..., "history": [...]}`` with earlier turns as
    ``{"question", "answer"}`` dicts or ``(question, answer)`` pairs, oldest first."""
    if isinstance(value, str):
        return value, []
    if not isinstance(value, dict) or not isinstance(value.get("question"), str):
        raise TypeError("LotseChain takes a question (str) or a dict with a 'question' string "
                        f"and an optional 'history'; got {type(value).__name__}")
    history = []
    for turn in value.get("history") or []:
        if isinstance(turn, dict):
            history.append(Turn(str(turn.get("question", "")), str(turn.get("answer", ""))))
        else:
            question, answer = turn
            history.append(Turn(str(question), str(answer)))
    return value["question"], history


class LotseChain(Runnable[str | dict, dict]):
    """Question in, Lotse's answer out: the object ``lotse ask --json`` prints (a dict with
    ``answer``, ``citations``, ``confidence``, ``handoff``, …).

    ``stream`` yields the answer text in pieces as it is released, then one last item,
    the whole answer dict. ``invoke``, ``batch``, ``stream`` and their async forms come
    from langchain's Runnable; the async ones run the same work in a thread.
    """

    def __init__(self, engine: Any = None, view: str = "customer") -> None:
        self.engine = engine if engine is not None else _default_engine()
        self.view = _checked_view(view)

    def invoke(self, input: str | dict, config: RunnableConfig | None = None,
               **kwargs: Any) -> dict:
        return self._call_with_config(self._answer, input, config)

    def _answer(self, input: str | dict) -> dict:
        question, history = _question(input)
        return self.engine.chain.ask(question, view=self.view, history=history).to_dict()

    def stream(self, input: str | dict, config: RunnableConfig | None = None,
               **kwargs: Any) -> Iterator[str | dict]:
        yield from self._transform_stream_with_config(iter([input]), self._pieces, config)

    def _pieces(self, inputs: Iterator[str | dict]) -> Iterator[str | dict]:
        for value in inputs:
            question, history = _question(value)
            for item in self.engine.chain.stream(question, self.view, history):
                yield item.to_dict() if isinstance(item, Answer) else item

    async def astream(self, input: str | dict, config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[str | dict]:
        # The chain is synchronous; the default would buffer it. One item at a time from
        # a worker thread keeps the pieces streaming.
        import asyncio

        pieces = self.stream(input, config, **kwargs)
        done = object()
        while (item := await asyncio.to_thread(next, pieces, done)) is not done:
            yield item


class CitationFilter(Runnable[dict, dict]):
    """The citation check as a step of another chain.

    Input: ``{"text": str, "documents": [Document | str, ...]}`` where ``[n]`` markers in
    the text cite ``documents[n-1]``. Output: ``{"text": the supported sentences,
    "verdicts": one per sentence (ok, reason, cited)}``. A sentence without a marker, or
    citing a document that does not say it, is dropped.
    """

    def __init__(self, engine: Any = None, products: Sequence[str] | None = None) -> None:
        self.engine = engine if engine is not None else _default_engine()
        names = products if products is not None else self.engine.retriever.products("customer")
        self.checker = CitationChecker(self.engine.embedder, list(names),
                                       self.engine.settings.grounding)

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> dict:
        return self._call_with_config(self._filter, input, config)

    def _filter(self, input: dict) -> dict:
        if not isinstance(input, dict) or not isinstance(input.get("text"), str):
            raise TypeError("CitationFilter takes {'text': str, 'documents': [...]}")
        sources = [d.page_content if isinstance(d, Document) else str(d)
                   for d in input.get("documents") or []]
        verdicts = self.checker.check(input["text"], sources)
        return {"text": " ".join(v.sentence for v in verdicts if v.ok),
                "verdicts": [v.to_dict() for v in verdicts]}
