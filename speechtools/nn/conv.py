"""Convolutions on channel-last sequences ``(batch, time, channels)`` that respect padding.

Padded positions are zeroed before every convolution, so a padded batch computes exactly
what each item computes alone.

Speed (CPU): activations stay ``(batch, time, channels)``. A depthwise convolution runs as a 2-D
convolution on the free ``(batch, C, 1, time)`` view of that tensor, which is channels-last in
memory, so oneDNN takes its vectorised depthwise kernel without copies (0.05-0.09 ms instead of
1.3-2.0 ms for ``nn.Conv1d`` on a channel-first copy, 256 channels x 360 frames at kernels 17-25,
``docs/tts-efficient.md``); a 1-wide convolution is a matrix product
(:func:`speechtools.nn.cpu_gemm.linear`), and so is a dense one at CPU inference (im2col);
other convolutions run on a channel-first copy.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.nn.cpu_gemm import bucket_length, linear, onednn_gemm_active


def masked_fill_padding(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Zero ``x`` ``(batch, time, ch)`` where ``mask`` ``(batch, time)`` is False (padding)."""
    if mask is None:
        return x
    return x * mask.unsqueeze(-1).to(x.dtype)


def conv1d_btc(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, groups: int = 1,
               relu: bool = False, keep_bucket: bool = False) -> torch.Tensor:
    """"Same" 1-D convolution of ``x`` ``(B, T, C_in)`` with ``weight`` ``(C_out, C_in / groups, K)``, K odd.

    Equals ``F.conv1d(x.transpose(1, 2), weight, bias, padding=K // 2, groups=groups).transpose(1, 2)``
    (then ReLU if ``relu``), computed without transposed copies where it can (see the module
    docstring); returns ``(B, T, C_out)``. With ``keep_bucket``, the im2col and depthwise paths
    at CPU inference return ``bucket_length(T)`` rows (rows from ``T`` on are not meaningful) so
    that a following pointwise layer reuses oneDNN's compiled kernel.
    """
    kernel = weight.shape[-1]
    pad = kernel // 2
    fast = onednn_gemm_active(x)
    if groups == 1 and (kernel == 1 or fast):
        # A 1-wide convolution is a matrix product. At CPU inference a wider one is too: the
        # K shifted frames side by side, (B, T, C_in * K), times the weight viewed as
        # (C_out, C_in * K) -- one GEMM with the ReLU fused, ~7% faster than oneDNN's direct
        # convolution for FastSpeech 2's 256 -> 1024, K = 9 FFN layer. The zero padding also
        # extends the time axis to a bucketed length (``cpu_gemm.bucket_length``).
        time = x.size(1)
        extra = bucket_length(time) - time if fast else 0
        if kernel == 1:
            cols = x
        else:
            cols = F.pad(x, (0, 0, pad, pad + extra)).unfold(1, kernel, 1).reshape(x.size(0), time + extra, -1)
        out = linear(cols, weight.reshape(weight.size(0), -1), bias, relu=relu)
        return out if keep_bucket else out[:, :time]
    if weight.shape[1] != 1:
        # Dense: oneDNN would re-layout the (large) weight for a channels-last call every time.
        out = F.conv1d(x.transpose(1, 2).contiguous(), weight, bias, padding=pad, groups=groups).transpose(1, 2)
    else:
        time = x.size(1)
        extra = bucket_length(time) - time if fast else 0
        if extra:
            x = F.pad(x, (0, 0, 0, extra))  # zero frames past the end: a bucketed shape, same valid outputs
        view = x.transpose(1, 2).unsqueeze(2)  # (B, C, 1, T) with channels-last strides
        if not view.is_contiguous(memory_format=torch.channels_last):
            view = view.contiguous(memory_format=torch.channels_last)
        out = F.conv2d(view, weight.unsqueeze(2), bias, padding=(0, pad), groups=groups).squeeze(2).transpose(1, 2)
        if not keep_bucket:
            out = out[:, :time]
    return torch.relu(out) if relu else out


class Conv1dT(nn.Conv1d):
    """``nn.Conv1d`` on ``(batch, time, channels)`` with "same" padding and padding masking."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, groups: int = 1, bias: bool = True) -> None:
        super().__init__(in_ch, out_ch, kernel_size, padding=(kernel_size - 1) // 2, groups=groups, bias=bias)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False,  # type: ignore[override]
                keep_bucket: bool = False) -> torch.Tensor:
        """Convolve ``x`` ``(batch, time, in_ch)`` (zeroed where ``mask`` is False), then ReLU if ``relu``."""
        return conv1d_btc(masked_fill_padding(x, mask), self.weight, self.bias, self.groups, relu=relu, keep_bucket=keep_bucket)


class ConvFFN(nn.Module):
    """Position-wise feed-forward of FastSpeech's FFT block: conv(k1) → ReLU → dropout → conv(k2).

    FastSpeech 2 (arXiv 2006.04558, Sec. 3.1 / App. A) uses kernels (9, 1), 256 → 1024 → 256.
    """

    def __init__(self, dim: int, hidden: int, kernels: Sequence[int] = (9, 1), dropout: float = 0.1) -> None:
        super().__init__()
        self.conv1 = Conv1dT(dim, hidden, kernels[0])
        self.conv2 = Conv1dT(hidden, dim, kernels[1])
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        time = x.size(1)
        h = self.dropout(self.conv1(x, mask, relu=True, keep_bucket=self.conv2.kernel_size[0] == 1))
        if h.size(1) != time:
            # CPU inference: a pointwise second layer runs on conv1's bucketed rows (cpu_gemm), then
            # the rows past the end are dropped; they never mix into the valid ones.
            return self.conv2(h)[:, :time]
        return self.conv2(h, mask)


class SeparableConv1d(nn.Module):
    """Depthwise (no bias) then pointwise convolution (LightSpeech, arXiv 2102.04040, Sec. 3.2)."""

    def __init__(self, dim: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise = Conv1dT(dim, dim, kernel_size, groups=dim, bias=False)
        self.pointwise = Conv1dT(dim, dim, 1)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False) -> torch.Tensor:
        """``x`` ``(batch, time, dim)`` zeroed where ``mask`` is False, then depthwise, pointwise (and ReLU)."""
        time = x.size(1)
        # At CPU inference the depthwise step keeps its bucketed rows for the pointwise GEMM.
        return self.pointwise(self.depthwise(x, mask, keep_bucket=True), relu=relu)[:, :time]
