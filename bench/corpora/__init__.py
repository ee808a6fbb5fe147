"""The corpora suite: real help centers with blind-written cases (``python -m bench.corpora``)."""
