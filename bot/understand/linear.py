"""A fitted logistic model served with numpy: standardised features, coefficients, bias.

    >>> model = LinearModel.load(MODELS / "units.npz")
    >>> model.probability(features)  # one row or a matrix of rows
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "models"


class LinearModel:
    """``sigmoid(((x - mean) / scale) @ coef + bias)``; the feature names travel with it so
    a model and the code that computes its features cannot drift apart unnoticed."""

    def __init__(self, names: tuple[str, ...], mean: np.ndarray, scale: np.ndarray,
                 coef: np.ndarray, bias: float, thresholds: dict[str, float] | None = None) -> None:
        self.names = names
        self.mean = mean.astype(np.float32)
        self.scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        self.coef = coef.astype(np.float32)
        self.bias = float(bias)
        self.thresholds = thresholds or {}

    @classmethod
    def load(cls, path: Path, names: tuple[str, ...]) -> LinearModel:
        """The model at ``path``, refused when it was fitted on other features."""
        if not path.exists():
            raise FileNotFoundError(f"{path}: no fitted model; `make train` builds it")
        with np.load(path, allow_pickle=False) as data:
            stored = tuple(str(n) for n in data["names"])
            if stored != names:
                raise ValueError(f"{path}: fitted on features {stored}, the code computes "
                                 f"{names}; run `make train` again")
            thresholds = {str(k): float(v) for k, v in zip(data["threshold_names"],
                                                            data["threshold_values"], strict=True)}
            return cls(names, data["mean"], data["scale"], data["coef"], float(data["bias"]),
                       thresholds)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, names=np.array(self.names), mean=self.mean, scale=self.scale,
                            coef=self.coef, bias=np.float32(self.bias),
                            threshold_names=np.array(list(self.thresholds), dtype=str),
                            threshold_values=np.array(list(self.thresholds.values()),
                                                      dtype=np.float32))

    def probability(self, x: np.ndarray) -> np.ndarray | float:
        z = ((np.asarray(x, dtype=np.float32) - self.mean) / self.scale) @ self.coef + self.bias
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return float(p) if np.ndim(p) == 0 else p
