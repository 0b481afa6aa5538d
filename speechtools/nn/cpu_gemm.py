"""Matrix products of CPU inference through oneDNN instead of the BLAS library.

PyTorch runs float32 ``F.linear`` and ``matmul`` on CPU through MKL's sgemm, and convolutions
through oneDNN. On AMD CPUs MKL does not take its AVX-512 code path, so its GEMM reaches about
half of oneDNN's throughput: 114 vs 244 GFLOP/s at one thread for FastSpeech 2's
``603 x 1024 @ 1024 x 256`` FFN product on the project's AMD EPYC machines (``bench/README.md``).
At inference (autograd off), on CPU, in float32, the linear layers and the attention products
of the NAR TTS models and of the correctors therefore go through oneDNN's matmul primitive
(``torch.ops.mkldnn._linear_pointwise``, the op PyTorch's own inductor compiler emits for frozen
linear layers); otherwise (training, GPU, other dtypes, a PyTorch build without the op) they
use ``torch.nn.functional.linear``. The two differ only in summation order (~1e-5).

oneDNN compiles a kernel ("primitive") for every GEMM shape it meets and caches it; a new shape
costs ~0.3-2 ms (FastSpeech 2 at 600 frames: ~25 ms per sentence when every length is new, as in
real synthesis). :func:`bucket_length` rounds lengths up to one of 8 per octave; the dense
convolutions (im2col) and the self-attention of ``speechtools.nn`` pad their time axis to it (the
extra rows are zeros or masked keys, and are dropped), so their cached kernels are reused. Small
products (LightSpeech's 256 x 256 pointwise layers, the mel head) are not padded: there the copy
costs more than compiling the kernel. The correctors (``speechtools.models.fastcorrect``,
``transformer_corrector``) do not pad either: sentences are a few to a few dozen tokens, so the
kernels of every length are compiled within the first sentences and then reused.

``SPEECHTOOLS_ONEDNN_GEMM=0`` in the environment, or ``torch.backends.mkldnn.flags(enabled=False)``,
turns the oneDNN path off (for A/B timing and debugging). It is also off while a
``TorchDispatchMode`` is active (``torch.utils.flop_counter.FlopCounterMode``, tracers), so tools
that inspect ATen ops see the standard ones and count the same FLOPs.
"""

from __future__ import annotations

import os
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

_HAS_ONEDNN_LINEAR = (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
                      and hasattr(torch._C, "_len_torch_dispatch_stack"))


def onednn_gemm_active(x: torch.Tensor) -> bool:
    """Whether :func:`linear` on ``x`` goes through oneDNN (CPU float32 inference, op present, not disabled)."""
    return (
        _HAS_ONEDNN_LINEAR
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
    """``x @ weight.T + bias`` (``torch.nn.functional.linear``), then ReLU if ``relu``; oneDNN at CPU inference.

    On the oneDNN path the ReLU is fused into the GEMM (a post-op of the primitive).
    """
    if onednn_gemm_active(x) and weight.dtype == torch.float32:
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu" if relu else "none", [], "")
    out = F.linear(x, weight, bias)
    return torch.relu(out) if relu else out


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters and state-dict keys) computed by :func:`linear`: oneDNN at CPU inference."""

    def forward(self, x: torch.Tensor, relu: bool = False) -> torch.Tensor:  # type: ignore[override]
        """``x @ weight.T + bias``, then ReLU (fused on the oneDNN path) if ``relu``."""
        return linear(x, self.weight, self.bias, relu)
