"""Speech encoders of a CTC/attention recogniser (ESPnet2 ``asr1`` style): Conformer and Transformer.

:class:`SpeechEncoder` is :class:`~speechtools.nn.subsampling.Conv2dSubsampling` (time ×4, absolute
sinusoidal positions), a stack of :class:`ConformerBlock` (Gulati et al. 2020, Fig. 1) or
:class:`TransformerEncoderBlock` (Vaswani et al. 2017, Sec. 3.1, pre-LN as ESPnet's
``normalize_before=True``), and a final LayerNorm.

Differences from ESPnet's Conformer encoder, on purpose:

* self-attention uses the absolute positions the subsampling added; the relative positional
  multi-head attention of Gulati et al. 2020 (Sec. 2.1, Transformer-XL's scheme) is **not**
  implemented;
* the convolution module normalises with LayerNorm over channels instead of BatchNorm, so a
  frame's output never depends on the other utterances (or the padding) of its batch: a padded
  batch computes what each utterance computes alone, in training and in evaluation.

Padding: attention masks padded keys, and padded frames are zeroed before every depthwise
convolution, so padding never reaches a valid frame; the encoder's padded output frames are 0.
Plain PyTorch throughout.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from speechtools.nn.attention import MultiHeadAttention, key_mask
from speechtools.nn.masks import lengths_to_padding_mask
from speechtools.nn.subsampling import Conv2dSubsampling

BLOCKS = ("conformer", "transformer")


def attention_mask(pad: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """``(B, T)`` padding (True = pad) → ``(B, 1, 1, T)`` self-attention mask (True = attend; Vaswani et al. 2017, Eq. 1).

    An utterance with no valid frame attends to all of its frames (its outputs are discarded),
    so no softmax row is empty and no NaN appears.
    """
    if pad is None:
        return None
    return key_mask(pad & ~pad.all(dim=1, keepdim=True))


def self_attention(attn: MultiHeadAttention, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Multi-head self-attention of ``x`` ``(B, T, d)`` (Vaswani et al. 2017, Sec. 3.2.2)."""
    k, v = attn.keys_values(x)
    return attn.attend(x, k, v, mask)


class FeedForward(nn.Sequential):
    """Position-wise feed-forward ``Linear → activation → dropout → Linear`` (Vaswani et al. 2017, Eq. 2;
    with Swish, the feed-forward module of Gulati et al. 2020, Sec. 2.3 and Fig. 4)."""

    def __init__(self, dim: int, ffn: int, dropout: float, activation: nn.Module) -> None:
        super().__init__(nn.Linear(dim, ffn), activation, nn.Dropout(dropout), nn.Linear(ffn, dim))


class ConvolutionModule(nn.Module):
    """Convolution module of Gulati et al. 2020 (Sec. 2.2, Fig. 2), LayerNorm in place of BatchNorm.

    ``LayerNorm → pointwise Conv1d (d → 2d) → GLU → depthwise Conv1d (kernel, groups d) →
    LayerNorm over channels → Swish → pointwise Conv1d (d → d) → dropout``. The LayerNorm over
    channels (not BatchNorm) keeps a padded batch equal to its items alone. Padded frames are zeroed
    before the depthwise convolution, so padding never leaks into valid frames.
    """

    def __init__(self, dim: int, kernel: int, dropout: float) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd ('same' depthwise convolution), got {kernel}")
        self.norm_in = nn.LayerNorm(dim)
        self.pointwise_in = nn.Conv1d(dim, 2 * dim, 1)
        self.glu = nn.GLU(dim=1)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.act = nn.SiLU()
        self.pointwise_out = nn.Conv1d(dim, dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x`` ``(B, T, d)``, ``pad`` ``(B, T)`` True at padding → ``(B, T, d)`` (the residual is the caller's)."""
        h = self.glu(self.pointwise_in(self.norm_in(x).transpose(1, 2)))  # (B, d, T)
        if pad is not None:
            h = h.masked_fill(pad.unsqueeze(1), 0.0)
        h = self.depthwise(h)
        h = self.act(self.norm(h.transpose(1, 2)))  # (B, T, d)
        return self.drop(self.pointwise_out(h.transpose(1, 2)).transpose(1, 2))


class ConformerBlock(nn.Module):
    """Conformer block (Gulati et al. 2020, Fig. 1 and Eq. 1), pre-LN residuals:

    ``x̃ = x + ½ FFN(x)``, ``x' = x̃ + MHSA(x̃)``, ``x'' = x' + Conv(x')``,
    ``y = LayerNorm(x'' + ½ FFN(x''))``; each module normalises its own input (pre-LN), the FFNs use
    Swish. MHSA is :class:`~speechtools.nn.attention.MultiHeadAttention` on absolute positions
    (relative positional attention is not implemented); the convolution module is
    :class:`ConvolutionModule` (LayerNorm, not BatchNorm).
    """

    def __init__(self, dim: int, heads: int, ffn: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm_ff_macaron = nn.LayerNorm(dim)
        self.ff_macaron = FeedForward(dim, ffn, dropout, nn.SiLU())
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.conv = ConvolutionModule(dim, kernel, dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ffn, dropout, nn.SiLU())
        self.norm_final = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x`` ``(B, T, d)``, ``pad`` ``(B, T)`` True at padded frames (or ``None``) → ``(B, T, d)``."""
        x = x + 0.5 * self.drop(self.ff_macaron(self.norm_ff_macaron(x)))
        x = x + self.drop(self_attention(self.attn, self.norm_attn(x), attention_mask(pad)))
        x = x + self.conv(x, pad)  # the convolution module ends with its own dropout
        x = x + 0.5 * self.drop(self.ff(self.norm_ff(x)))
        return self.norm_final(x)


class TransformerEncoderBlock(nn.Module):
    """Pre-LN Transformer encoder layer (Vaswani et al. 2017, Sec. 3.1; ESPnet ``EncoderLayer`` with
    ``normalize_before=True``): ``x' = x + MHSA(LN(x))``, ``y = x' + FFN(LN(x'))``, ReLU FFN (Eq. 2)."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ffn, dropout, nn.ReLU())
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x`` ``(B, T, d)``, ``pad`` ``(B, T)`` True at padded frames (or ``None``) → ``(B, T, d)``."""
        x = x + self.drop(self_attention(self.attn, self.norm_attn(x), attention_mask(pad)))
        return x + self.drop(self.ff(self.norm_ff(x)))


class SpeechEncoder(nn.Module):
    """Speech encoder: conv2d ×4 subsampling → ``layers`` blocks → LayerNorm (ESPnet2 asr1 encoder).

    ``block="conformer"``: :class:`ConformerBlock` (Gulati et al. 2020, Fig. 1);
    ``block="transformer"``: :class:`TransformerEncoderBlock` (Vaswani et al. 2017, Sec. 3.1, pre-LN,
    hence the final LayerNorm as ESPnet's ``after_norm``).

    Args:
        idim: feature bins per input frame.
        dim: model dimension.
        heads: attention heads.
        ffn: hidden size of the feed-forward modules.
        layers: number of blocks.
        kernel: depthwise convolution kernel of the Conformer (odd).
        dropout: dropout of every module (attention weights included).
        block: ``"conformer"`` or ``"transformer"``.
        subsampling_channels: channels of the subsampling convolutions (default ``dim``).
    """

    def __init__(self, idim: int, dim: int, heads: int, ffn: int, layers: int, kernel: int = 31,
                 dropout: float = 0.1, block: str = "conformer", subsampling_channels: Optional[int] = None) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"unknown encoder block {block!r}; known blocks: {', '.join(BLOCKS)}")
        self.subsampling = Conv2dSubsampling(idim, dim, dropout, channels=subsampling_channels)
        if block == "conformer":
            blocks = [ConformerBlock(dim, heads, ffn, kernel, dropout) for _ in range(layers)]
        else:
            blocks = [TransformerEncoderBlock(dim, heads, ffn, dropout) for _ in range(layers)]
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim)

    def output_length(self, lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames of ``lengths`` input frames (:meth:`Conv2dSubsampling.output_length`)."""
        return Conv2dSubsampling.output_length(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode ``x`` ``(B, T, idim)`` with valid ``lengths`` ``(B,)`` → ``h`` ``(B, T', dim)``, ``(B,)`` lengths.

        ``T' = ((T - 1) // 2 - 1) // 2``; frames of ``h`` past an utterance's length are 0.
        Raises ``ValueError`` when ``T < 7``.
        """
        h, out_lengths = self.subsampling(x, lengths)
        pad = lengths_to_padding_mask(out_lengths.to(h.device), h.size(1))
        for block in self.blocks:
            h = block(h, pad)
        return self.norm(h).masked_fill(pad.unsqueeze(-1), 0.0), out_lengths
