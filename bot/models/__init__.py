"""Fitted artifacts made by `make train`, each with its card (*.md)."""
