"""The performance predictor of GBDT-NAS: gradient-boosted trees on the one-hot architecture encoding.

GBDT-NAS (Luo et al., "Neural Architecture Search with GBDT", 2020; the secondary
sources' account of LightSpeech's search) encodes an architecture as the concatenated one-hot
vectors of its layers' operations and regresses its accuracy with a gradient-boosted decision
tree. Here the target is the supernet's validation loss and the regressor is scikit-learn's
``HistGradientBoostingRegressor`` (the optional ``nas`` extra), with settings for tens of samples.
Kendall's tau (tau-b, ties counted) measures how well the predictor ranks held-out candidates.
"""

from __future__ import annotations

from typing import Any, List, Sequence

import numpy as np

from speechtools.errors import UserError
from speechtools.nn.search_space import OPERATIONS, arch_ids


def encode(archs: Sequence[str]) -> np.ndarray:
    """``(n, layers * 12)`` one-hot features: layer ``l``'s operation id ``k`` sets column ``12 l + k - 1``."""
    ids = np.array([arch_ids(a) for a in archs], dtype=np.int64)
    n, layers = ids.shape
    out = np.zeros((n, layers * len(OPERATIONS)), dtype=np.float64)
    rows = np.repeat(np.arange(n), layers)
    cols = (np.tile(np.arange(layers), n) * len(OPERATIONS) + ids.reshape(-1) - 1)
    out[rows, cols] = 1.0
    return out


def decode(features: np.ndarray) -> List[List[int]]:
    """Operation ids of each row of :func:`encode`'s features (its inverse)."""
    n = features.shape[0]
    return (features.reshape(n, -1, len(OPERATIONS)).argmax(axis=2) + 1).tolist()


def fit_predictor(archs: Sequence[str], losses: Sequence[float], seed: int) -> Any:
    """A fitted ``HistGradientBoostingRegressor`` of loss from the encoding (deterministic for a seed)."""
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError:
        raise UserError("the search needs scikit-learn: pip install 'speechtools[nas]'") from None
    model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=2,
                                          l2_regularization=1.0, early_stopping=False, random_state=seed)
    model.fit(encode(archs), np.asarray(losses, dtype=np.float64))
    return model


def predict(model: Any, archs: Sequence[str]) -> np.ndarray:
    """Predicted losses of ``archs``."""
    return model.predict(encode(archs))


def kendall_tau(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Kendall's tau-b between two score lists (nan when undefined: fewer than 2 items or a constant list)."""
    from scipy.stats import kendalltau

    if len(set(predicted)) < 2 or len(set(actual)) < 2:  # fewer than 2 items, or a constant list: undefined
        return float("nan")
    return float(kendalltau(predicted, actual).statistic)


def cross_validated_predictions(archs: Sequence[str], losses: Sequence[float], seed: int, folds: int = 5) -> np.ndarray:
    """Out-of-fold predictions: each candidate predicted by a predictor fitted without its fold."""
    n = len(archs)
    order = np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.float64)
    for fold in range(min(folds, n)):
        held = order[fold::min(folds, n)]
        rest = np.setdiff1d(order, held)
        model = fit_predictor([archs[i] for i in rest], [losses[i] for i in rest], seed)
        out[held] = predict(model, [archs[i] for i in held])
    return out
