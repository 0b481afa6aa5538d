"""DeepRapper (Xue et al., ACL 2021, arXiv 2107.01875): a GPT-style lyrics language model with
rhyme, sentence, intra-sentence position and beat embeddings.

The input of position ``t`` is the sum (paper Sec. 3.3, Fig. 3) of the token embedding, a learnt
absolute position embedding and, each switchable for ablations, the embeddings of the token's
rhyme class (its pinyin final or English rhyme), its line index, its position inside the line
and its beat id (:mod:`speechtools.music.lyrics` builds these ids). The stack is GPT-2's
(Radford et al. 2019): pre-LN causal blocks (:class:`~speechtools.nn.transformer_layers.CausalBlock`),
a final LayerNorm and an output projection tied to the token embedding. The paper's size is
12 layers, 768 dimensions, 12 heads, context 1024 (the dataclass defaults); sentence,
intra-sentence position and beat tables of 1032, 1032 and 1024 rows as in the released code.
Ids beyond a table are clamped to its last row.

Training (``task: deeprapper``): ``forward(tokens, rhymes, sentences, positions, beats)``
gives next-token logits at every position; ``loss`` is the cross-entropy against ``target``
(pad ``-100``). Decoding: ``init_state(n)``, ``step(...)`` one position per hypothesis with
cached keys/values, ``reorder(state, index)``; stepping through a sequence gives the
log-softmax of ``forward`` position by position (``tests/models/test_deeprapper.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import LyricsModelInfo
from speechtools.nn.embedding import TiedEmbedding
from speechtools.nn.transformer_layers import Cache, CausalBlock

IGNORE_ID = -100
FEATURES = ("rhymes", "sentences", "positions", "beats")
"""The id streams read beside the tokens, in the order of :meth:`DeepRapper.embed`'s tables."""


@dataclass
class DeepRapperConfig:
    """``model_conf`` of ``deeprapper``.

    Attributes:
        dim, layers, heads, ffn: Transformer size (paper: 768, 12, 12, 3072).
        dropout: on embeddings, attention weights, residual branches.
        max_length: context (absolute positions); longer songs are cut by the task.
        max_sentences, max_line_positions, max_beats: rows of the sentence, intra-sentence
            position and beat tables (released code: 1032, 1032, 1024).
        use_rhyme, use_sentence, use_line_position, use_beat: which embeddings are summed in
            (all on: DeepRapper; all off: a plain GPT language model).
        vocab_size, rhyme_count, pad_id: set from the task.
    """

    dim: int = 768
    layers: int = 12
    heads: int = 12
    ffn: int = 3072
    dropout: float = 0.1
    max_length: int = 1024
    max_sentences: int = 1032
    max_line_positions: int = 1032
    max_beats: int = 1024
    use_rhyme: bool = True
    use_sentence: bool = True
    use_line_position: bool = True
    use_beat: bool = True
    vocab_size: int = 0
    rhyme_count: int = 0
    pad_id: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim", "layers", "heads", "ffn", "max_length", "max_sentences", "max_line_positions",
                                     "max_beats"),
                     non_negative=("vocab_size", "rhyme_count", "pad_id"), probability=("dropout",))
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")


DecodeState = Dict[str, Any]
"""Incremental state of :meth:`DeepRapper.step`: ``caches`` (one dict per layer) and ``offset`` (positions seen)."""


@MODELS.register("deeprapper", config=DeepRapperConfig)
class DeepRapper(nn.Module):
    """Causal Transformer LM over lyric tokens with summed rhyme/sentence/position/beat embeddings."""

    def __init__(self, conf: DeepRapperConfig) -> None:
        super().__init__()
        if conf.vocab_size <= 0 or conf.rhyme_count <= 0:
            raise ValueError("vocab_size and rhyme_count must be set (build the model through its task)")
        self.conf = conf
        self.tokens = TiedEmbedding(conf.vocab_size, conf.dim)
        self.absolute = nn.Embedding(conf.max_length, conf.dim)
        rows = {"rhymes": (conf.use_rhyme, conf.rhyme_count), "sentences": (conf.use_sentence, conf.max_sentences),
                "positions": (conf.use_line_position, conf.max_line_positions), "beats": (conf.use_beat, conf.max_beats)}
        self.features = nn.ModuleDict({name: nn.Embedding(n, conf.dim) for name, (on, n) in rows.items() if on})
        self.drop = nn.Dropout(conf.dropout)
        self.blocks = nn.ModuleList([CausalBlock(conf.dim, conf.heads, conf.ffn, conf.dropout) for _ in range(conf.layers)])
        self.norm = nn.LayerNorm(conf.dim)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @classmethod
    def build_model(cls, conf: DeepRapperConfig, task: LyricsModelInfo) -> "DeepRapper":
        """The construction rule: vocabulary size, padding id and rhyme classes from the task."""
        return cls(replace(conf, vocab_size=task.vocab_size, rhyme_count=task.rhyme_count, pad_id=task.pad_id))

    def embed(self, tokens: torch.Tensor, streams: Dict[str, torch.Tensor], offset: int = 0) -> torch.Tensor:
        """Sum of token, absolute position and the enabled feature embeddings ``(B, T, d)`` (paper Fig. 3)."""
        length = tokens.size(1)
        if offset + length > self.conf.max_length:
            raise ValueError(f"sequence of {offset + length} tokens exceeds max_length {self.conf.max_length}")
        x = self.tokens(tokens) + self.absolute(torch.arange(offset, offset + length, device=tokens.device))
        for name, table in self.features.items():
            x = x + table(streams[name].clamp(0, table.num_embeddings - 1))
        return self.drop(x)

    def forward(self, tokens: torch.Tensor, rhymes: torch.Tensor, sentences: torch.Tensor, positions: torch.Tensor,
                beats: torch.Tensor, **unused: Any) -> torch.Tensor:
        """Teacher-forced next-token logits ``(B, T, V)`` of right-padded ``(B, T)`` id streams."""
        x = self.embed(tokens, {"rhymes": rhymes, "sentences": sentences, "positions": positions, "beats": beats})
        for block in self.blocks:
            x = block(x)
        return self.tokens.logits(self.norm(x))

    def loss(self, out: torch.Tensor, target: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Mean next-token cross-entropy over non-pad targets (``-100``): ``loss`` and ``ppl``."""
        ce = F.cross_entropy(out.float().transpose(1, 2), target, ignore_index=IGNORE_ID)
        return {"loss": ce, "ppl": torch.exp(ce.detach())}

    def init_state(self, n: int) -> DecodeState:
        """State of ``n`` hypotheses before any token."""
        return {"caches": [{} for _ in self.blocks], "offset": 0}

    def step(self, tokens: torch.Tensor, rhymes: torch.Tensor, sentences: torch.Tensor, positions: torch.Tensor,
             beats: torch.Tensor, state: DecodeState) -> torch.Tensor:
        """Float32 log-probabilities ``(N, V)`` of the token after ``(N, T)`` new positions (the
        prompt at once, then one per step); ``state`` is updated in place."""
        x = self.embed(tokens, {"rhymes": rhymes, "sentences": sentences, "positions": positions, "beats": beats},
                       state["offset"])
        caches: List[Cache] = state["caches"]
        for block, cache in zip(self.blocks, caches):
            x = block(x, cache)
        state["offset"] += tokens.size(1)
        return F.log_softmax(self.tokens.logits(self.norm(x[:, -1])).float(), dim=-1)

    @staticmethod
    def reorder(state: DecodeState, index: torch.Tensor) -> None:
        """Keep hypotheses ``index`` (in that order, repeats allowed), in place."""
        for cache in state["caches"]:
            for key in list(cache):
                cache[key] = cache[key].index_select(0, index)


def sequence_log_probs(model: DeepRapper, batch: Dict[str, torch.Tensor]) -> Optional[torch.Tensor]:
    """Sum of target log-probabilities and the number of scored targets of a batch: ``(2,)``
    (the numerator and denominator of a perplexity), or ``None`` for a batch with no target."""
    out = model(**batch)
    target = batch["target"]
    valid = target != IGNORE_ID
    if not bool(valid.any()):
        return None
    logp = F.log_softmax(out.float(), dim=-1).gather(-1, target.clamp(min=0)[..., None])[..., 0]
    return torch.stack([(logp * valid).sum(), valid.sum().to(logp.dtype)])
