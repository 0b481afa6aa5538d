"""Token embeddings whose matrix is also the output projection (weight tying, Press & Wolf 2017).

:class:`TiedEmbedding` is ``nn.Embedding`` (same ``weight`` key) with :meth:`TiedEmbedding.logits`,
the projection of hidden states onto the vocabulary by the same matrix, as fairseq's
``share_all_embeddings`` (the Transformer correctors). The CPU fast path
(:mod:`speechtools.nn.cpu_fast_path`) gives it a oneDNN variant.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TiedEmbedding(nn.Embedding):
    """``nn.Embedding`` that also projects hidden states ``(..., d)`` to vocabulary logits ``(..., V)``."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight.T``: the embedding matrix as the output projection."""
        return F.linear(x, self.weight)
