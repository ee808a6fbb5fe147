"""Training: reads bench/corpora and external data, writes bot/models/ (never imported by bot/)."""
