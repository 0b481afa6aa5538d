"""Bar-level masking for MusicBERT pre-training (Zeng et al. 2021, Sec. 3.3 and Table 5).

As ``OctupleMaskTokensDataset`` in muzic ``musicbert/__init__.py`` (``mask_strategy=bar``):
every (bar, instrument) group of octuples gets, *per field column*, one decision drawn with
probability ``mask_prob`` (fairseq default 0.15); a chosen group-column is replaced by
``<mask>`` (80%), a random token (10%) or kept (10%) as a whole, so the model cannot copy a
masked attribute from a neighbour of the same bar and instrument. The ``<s>`` and ``</s>``
octuples are masked whole, one decision each. ``element`` (per token) and ``compound``
(per octuple) are the paper's ablation strategies.

Random replacements are drawn from the whole dictionary, as the reference does.
"""

from __future__ import annotations

from typing import Literal, Tuple

import numpy as np

from speechtools.music import vocab as V

KEEP, MASK, ORIGINAL, RANDOM = 0, 1, 2, 3
Strategy = Literal["bar", "element", "compound"]


def draw_decisions(rng: np.random.Generator, n: int, mask_prob: float, leave_unmasked_prob: float, random_token_prob: float) -> np.ndarray:
    """n decisions in {0 keep, 1 ``<mask>``, 2 predict-but-keep, 3 random token}.

    With u ~ U(0, 1): 3 if u < p·r, 2 if u < p·(r + l), 1 if u < p, else 0 (the reference
    ``generate_mask``), so a selected item is 80/10/10 for l = r = 0.1.
    """
    u = rng.random(n)
    out = (u < mask_prob * random_token_prob).astype(np.int8)
    out += u < mask_prob * (random_token_prob + leave_unmasked_prob)
    out += u < mask_prob
    return out


def mask_decisions(
    ids: np.ndarray,
    rng: np.random.Generator,
    strategy: Strategy = "bar",
    mask_prob: float = 0.15,
    leave_unmasked_prob: float = 0.1,
    random_token_prob: float = 0.1,
) -> np.ndarray:
    """Decision per token for one sequence ``ids`` (T, 8) whose first and last octuples are ``<s>``/``</s>``."""
    t = len(ids)
    decisions = np.zeros((t, 8), dtype=np.int8)
    args = (mask_prob, leave_unmasked_prob, random_token_prob)
    decisions[0] = draw_decisions(rng, 1, *args)[0]
    decisions[-1] = draw_decisions(rng, 1, *args)[0]
    body = ids[1:-1]
    n = len(body)
    if n == 0:
        return decisions
    if strategy == "element":
        decisions[1:-1] = draw_decisions(rng, n * 8, *args).reshape(n, 8)
    elif strategy == "compound":
        decisions[1:-1] = np.repeat(draw_decisions(rng, n, *args)[:, None], 8, axis=1)
    elif strategy == "bar":
        groups = (body[:, V.BAR] - V.FIELD_OFFSETS[V.BAR]) * 256 + (body[:, V.PROGRAM] - V.FIELD_OFFSETS[V.PROGRAM])
        _, group_index = np.unique(groups, return_inverse=True)
        table = draw_decisions(rng, (int(group_index.max()) + 1) * 8, *args).reshape(-1, 8)
        decisions[1:-1] = table[group_index.reshape(-1)]
    else:
        raise ValueError(f"unknown mask strategy {strategy!r}")
    return decisions


def apply_mask(ids: np.ndarray, decisions: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Masked input and targets: targets are the original ids where a decision was made, ``<pad>`` elsewhere."""
    inputs = ids.copy()
    inputs[decisions == MASK] = V.MASK_ID
    random_positions = decisions == RANDOM
    inputs[random_positions] = rng.integers(0, V.VOCAB_SIZE, size=int(random_positions.sum()))
    targets = np.where(decisions != KEEP, ids, V.PAD_ID)
    return inputs, targets
