"""The CPU inference fast path: oneDNN GEMMs, bucketed lengths and fused layers, applied on request.

The layers of :mod:`speechtools.nn` and the models are plain PyTorch. This module holds faster
CPU inference variants of some of them, as subclasses with the same parameters and state-dict
keys (a variant only overrides ``forward``), and one entry point,
:func:`enable_cpu_fast_path`, which switches the modules of a loaded model to them in place.
It is called where a model directory is loaded for CPU inference (``speechtools synth``,
``correct-asr``, ``align durations``, ``teacher``, the benchmarks in ``bench/``); training
never calls it.

What the variants do, at inference (autograd off) on CPU in float32:

* matrix products go through oneDNN's matmul primitive
  (``torch.ops.mkldnn._linear_pointwise``, the op PyTorch's own inductor compiler emits for
  frozen linear layers) instead of ``F.linear``/``matmul``, which PyTorch runs on MKL's sgemm.
  On AMD CPUs MKL does not take its AVX-512 code path, so its GEMM reaches about half of
  oneDNN's throughput (``bench/README.md``). The two differ only in summation order (~1e-5).
  :class:`FastLinear` (the ``nn.Linear`` layers of :data:`FAST_LINEAR_HOSTS`: attention
  projections, the correctors' decoder FFNs), the projections and attention products of
  :class:`FastSelfAttention` (``nn.MultiheadAttention`` self-attention),
  :class:`FastTransformerEncoderLayer` (post-LN ReLU ``nn.TransformerEncoderLayer``, the
  correctors' encoder) and the correctors' tied output projection
  (:class:`FastTiedEmbedding`) use it, with the ReLU of a feed-forward layer fused into its
  GEMM (a post-op of the primitive). Other linear layers (mel heads, variance-predictor
  projections) stay ``nn.Linear``: small products at a new length every sentence, where
  compiling a oneDNN kernel costs more than MKL's product;
* dense "same" convolutions on ``(B, T, C)`` (:class:`FastConv1dT`) are one im2col GEMM with the
  ReLU fused (~7% faster than oneDNN's direct convolution for FastSpeech 2's 256 -> 1024, K = 9
  FFN layer);
* oneDNN compiles a kernel ("primitive") for every GEMM shape it meets and caches it; a new shape
  costs ~0.3-2 ms (FastSpeech 2 at 600 frames: ~25 ms per sentence when every length is new, as
  in real synthesis). :func:`bucket_length` rounds lengths up to one of 8 per octave; the dense
  and depthwise convolutions and the self-attention pad their time axis to it (the extra rows
  are zeros or masked keys, and are dropped), so their cached kernels are reused, and
  :class:`FastConvFFN` / :class:`FastSeparableConv1d` hand the bucketed rows of their first
  convolution straight to their pointwise second one.

Everything else, and every call with autograd on (training, gradients through a loaded model),
off CPU, in another dtype, under a ``TorchDispatchMode`` (``torch.utils.flop_counter``, tracers),
with ``torch.backends.mkldnn.flags(enabled=False)`` or with ``SPEECHTOOLS_ONEDNN_GEMM=0`` in the
environment, runs the plain layer's own ``forward``, so a fast-pathed model trains and
differentiates exactly like the plain one. The private ops this relies on are checked once at
import (:data:`ONEDNN_LINEAR_AVAILABLE`); without them :func:`enable_cpu_fast_path` swaps nothing.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.nn.attention import MultiHeadAttention, SelfAttention, attend_heads, key_mask, split_heads
from speechtools.nn.conv import Conv1dT, ConvFFN, SeparableConv1d, depthwise_conv1d_btc, masked_fill_padding
from speechtools.nn.embedding import TiedEmbedding
from speechtools.nn.conv import conv1d_btc as plain_conv1d_btc
from speechtools.nn.transformer_layers import DecoderLayer

# The private API the fast path uses, checked once at import: oneDNN's linear op and the
# dispatch-mode stack (to step aside under flop counters).
ONEDNN_LINEAR_AVAILABLE = (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
                           and hasattr(torch._C, "_len_torch_dispatch_stack"))


def onednn_gemm_active(x: torch.Tensor) -> bool:
    """Whether the fast variants take their oneDNN path on ``x`` (CPU float32 inference, op present, not disabled)."""
    return (
        ONEDNN_LINEAR_AVAILABLE
        and not torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and torch.backends.mkldnn.enabled
        and torch._C._len_torch_dispatch_stack() == 0
        and os.environ.get("SPEECHTOOLS_ONEDNN_GEMM", "1") != "0"
    )


def bucket_length(length: int) -> int:
    """``length`` rounded up to a multiple of ``2 ** (bits(length) - 4)`` (at least 8): <= 12.5% padding, 8 sizes per octave."""
    step = max(8, 1 << max(0, length.bit_length() - 4))
    return -(-length // step) * step


def linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, relu: bool = False) -> torch.Tensor:
    """``x @ weight.T + bias`` (``torch.nn.functional.linear``), then ReLU if ``relu``; oneDNN when active.

    On the oneDNN path the ReLU is fused into the GEMM (a post-op of the primitive).
    """
    if onednn_gemm_active(x) and weight.dtype == torch.float32:
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu" if relu else "none", [], "")
    out = F.linear(x, weight, bias)
    return torch.relu(out) if relu else out


def conv1d_btc(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, groups: int = 1,
               relu: bool = False, keep_bucket: bool = False) -> torch.Tensor:
    """:func:`speechtools.nn.conv.conv1d_btc` (then ReLU if ``relu``), as im2col GEMMs on bucketed lengths when active.

    A dense convolution is the K shifted frames side by side, ``(B, T, C_in * K)``, times the
    weight viewed as ``(C_out, C_in * K)``: one GEMM with the ReLU fused; the zero padding also
    extends the time axis to :func:`bucket_length` rows. A depthwise one runs on zero frames
    appended up to that length. With ``keep_bucket`` those rows are returned (rows from ``T``
    on are not meaningful) so that a following pointwise layer reuses its compiled kernel.
    Not active: the plain convolution, ``T`` rows.
    """
    if not onednn_gemm_active(x):
        out = plain_conv1d_btc(x, weight, bias, groups)
        return torch.relu(out) if relu else out
    kernel = weight.shape[-1]
    time = x.size(1)
    extra = bucket_length(time) - time
    if groups == 1:
        if kernel == 1:
            cols = x  # small pointwise products: compiling their kernel costs less than the padding copy
        else:
            pad = kernel // 2
            cols = F.pad(x, (0, 0, pad, pad + extra)).unfold(1, kernel, 1).reshape(x.size(0), time + extra, -1)
        out = linear(cols, weight.reshape(weight.size(0), -1), bias, relu=relu)
        return out if keep_bucket else out[:, :time]
    if weight.shape[1] != 1:
        out = plain_conv1d_btc(x, weight, bias, groups)
    else:
        out = depthwise_conv1d_btc(F.pad(x, (0, 0, 0, extra)) if extra else x, weight, bias, groups)
        if not keep_bucket:
            out = out[:, :time]
    return torch.relu(out) if relu else out


def _conv(conv: nn.Conv1d, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False,
          keep_bucket: bool = False) -> torch.Tensor:
    """The fast :func:`conv1d_btc` of a :class:`~speechtools.nn.conv.Conv1dT`'s parameters on ``x`` zeroed where ``mask`` is False."""
    return conv1d_btc(masked_fill_padding(x, mask), conv.weight, conv.bias, conv.groups, relu=relu, keep_bucket=keep_bucket)


class FastLinear(nn.Linear):
    """``nn.Linear`` computed by :func:`linear`: oneDNN at CPU inference."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)


class FastConv1dT(Conv1dT):
    """:class:`~speechtools.nn.conv.Conv1dT` through the fast :func:`conv1d_btc`."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False,  # type: ignore[override]
                keep_bucket: bool = False) -> torch.Tensor:
        """As ``Conv1dT.forward``; with ``keep_bucket`` at CPU inference the bucketed rows stay (see :func:`conv1d_btc`)."""
        return _conv(self, x, mask, relu, keep_bucket)


class FastConvFFN(ConvFFN):
    """:class:`~speechtools.nn.conv.ConvFFN` whose pointwise second layer runs on the first one's bucketed rows."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not onednn_gemm_active(x) or self.conv2.kernel_size[0] != 1:
            return super().forward(x, mask)
        time = x.size(1)
        # The pointwise layer never mixes rows: the bucketed rows past the end (and the padded
        # ones) are dropped or masked by the caller; the valid rows equal the plain path's.
        h = self.dropout(_conv(self.conv1, x, mask, relu=True, keep_bucket=True))
        return _conv(self.conv2, h)[:, :time]


class FastSeparableConv1d(SeparableConv1d):
    """:class:`~speechtools.nn.conv.SeparableConv1d` whose pointwise layer runs on the depthwise one's bucketed rows."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False) -> torch.Tensor:
        time = x.size(1)
        return _conv(self.pointwise, _conv(self.depthwise, x, mask, keep_bucket=True), relu=relu)[:, :time]


class FastSelfAttention(SelfAttention):
    """:class:`~speechtools.nn.attention.SelfAttention` whose self-attention at CPU inference runs on oneDNN GEMMs.

    The projections and the two attention products ``softmax(Q K^T / sqrt(d)) V`` are oneDNN
    matmuls on a bucketed time axis, about 2x faster than PyTorch's MKL-based path on AMD CPUs.
    Anything else (training, attention weights, attention masks, cross-attention) runs
    ``nn.MultiheadAttention.forward``.
    """

    def forward(  # type: ignore[override]
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
        key_padding_mask: Optional[torch.Tensor] = None, need_weights: bool = True,
        attn_mask: Optional[torch.Tensor] = None, average_attn_weights: bool = True, is_causal: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        fast = (query is key and key is value and not need_weights and attn_mask is None and not is_causal
                and not self.training and onednn_gemm_active(query))
        if not fast:
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                   attn_mask=attn_mask, average_attn_weights=average_attn_weights, is_causal=is_causal)
        return self._onednn_self_attention(query, key_padding_mask), None

    def _onednn_self_attention(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        batch, time, dim = x.shape
        d = self.head_dim
        # Pad the time axis to a bucketed length so oneDNN reuses its compiled kernels; the extra
        # keys are masked out of the softmax and the extra queries dropped at the end.
        padded = bucket_length(time)
        if padded > time:
            x = F.pad(x, (0, 0, 0, padded - time))
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias)
        # (3, batch, heads, time, d), contiguous: oneDNN's fast kernels want dense operands.
        q, k, v = qkv.view(batch, padded, 3, self.num_heads, d).permute(2, 0, 3, 1, 4).contiguous()
        q = q * d ** -0.5
        v_t = v.transpose(-1, -2).contiguous()
        masked = None if key_padding_mask is None else F.pad(key_padding_mask, (0, padded - time), value=True)
        heads = []
        for b in range(batch):
            per_head = []
            for h in range(self.num_heads):
                scores = linear(q[b, h], k[b, h])
                if masked is not None:
                    scores = scores.masked_fill(masked[b].unsqueeze(0), float("-inf"))
                elif padded > time:
                    scores[:, time:] = float("-inf")
                per_head.append(linear(torch.softmax(scores, dim=-1), v_t[b, h]))
            heads.append(torch.cat(per_head, dim=-1))
        return linear(torch.stack(heads), self.out_proj.weight, self.out_proj.bias)[:, :time]


class FastTransformerEncoderLayer(nn.TransformerEncoderLayer):
    """A post-LN, ReLU, batch-first ``nn.TransformerEncoderLayer`` whose inference runs on :func:`linear`.

    The same function as the layer's own forward in eval mode (Vaswani et al. 2017, Sec. 3.1),
    its GEMMs on oneDNN with the FFN's ReLU fused. Other configurations (pre-LN, GELU,
    sequence-first), attention masks, causal attention and training run the layer's own forward.
    """

    def forward(self, src: torch.Tensor, src_mask: Optional[torch.Tensor] = None,  # type: ignore[override]
                src_key_padding_mask: Optional[torch.Tensor] = None, is_causal: bool = False) -> torch.Tensor:
        attn = self.self_attn
        plain = (self.training or src_mask is not None or is_causal or self.norm_first or self.activation_relu_or_gelu != 1
                 or not attn.batch_first or not attn._qkv_same_embed_dim or not onednn_gemm_active(src))
        if plain:
            return super().forward(src, src_mask, src_key_padding_mask, is_causal)
        pad = src_key_padding_mask
        # nn.TransformerEncoder hands its layers the padding mask as a float (-inf) mask.
        if pad is None or not bool(pad.any()):
            mask = None
        elif pad.dtype == torch.bool:
            mask = key_mask(pad)
        else:
            mask = pad[:, None, None, :].to(src.dtype)
        q, k, v = linear(src, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        heads = attn.num_heads
        mixed = attend_heads(split_heads(q, heads), split_heads(k, heads), split_heads(v, heads), mask, False)
        x = self.norm1(src + linear(mixed, attn.out_proj.weight, attn.out_proj.bias))
        hidden = linear(x, self.linear1.weight, self.linear1.bias, relu=True)
        return self.norm2(x + linear(hidden, self.linear2.weight, self.linear2.bias))


class FastTiedEmbedding(TiedEmbedding):
    """A tied embedding whose output projection (:meth:`logits`, the correctors' vocabulary logits) runs on :func:`linear`."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight)


#: Plain layer class -> its fast variant (matched by exact class: subclasses keep their own forward).
FAST_VARIANTS: Dict[type, type] = {
    Conv1dT: FastConv1dT,
    ConvFFN: FastConvFFN,
    SeparableConv1d: FastSeparableConv1d,
    SelfAttention: FastSelfAttention,
    nn.TransformerEncoderLayer: FastTransformerEncoderLayer,
    TiedEmbedding: FastTiedEmbedding,
}
#: Modules whose ``nn.Linear`` layers become :class:`FastLinear`: their products repeat their
#: shapes (every decoding step, short token sequences) or are large.
FAST_LINEAR_HOSTS = (MultiHeadAttention, DecoderLayer)


def enable_cpu_fast_path(model: nn.Module) -> int:
    """Switch every module of ``model`` whose class has a fast variant to it, in place; returns how many.

    Sets each such module's ``__class__`` to the variant (:data:`FAST_VARIANTS`, and
    :class:`FastLinear` for the ``nn.Linear`` layers inside :data:`FAST_LINEAR_HOSTS`), which adds no
    parameters, buffers or state: ``state_dict()`` keys and values stay the same, and so do the
    results (to summation order). Call it on a model loaded for CPU inference; with autograd on,
    off CPU, or with ``SPEECHTOOLS_ONEDNN_GEMM=0`` the variants run the plain forward. Returns 0
    and changes nothing when this PyTorch build lacks the oneDNN ops.
    """
    if not ONEDNN_LINEAR_AVAILABLE:
        return 0
    hosted = {id(m) for host in model.modules() if isinstance(host, FAST_LINEAR_HOSTS) for m in host.modules()}
    swapped = 0
    for module in model.modules():
        fast = FAST_VARIANTS.get(type(module))
        if type(module) is nn.Linear and id(module) in hosted:
            fast = FastLinear
        if fast is not None:
            module.__class__ = fast
            swapped += 1
    return swapped
