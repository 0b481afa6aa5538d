"""Multiply-accumulates of a forward pass, counted the one way the benchmarks and the NAS count them."""

from __future__ import annotations

from typing import Any, Callable

import torch


def count_macs(forward: Callable[[], Any]) -> int:
    """Multiply-accumulates of ``forward()``: FLOPs of matmuls and convolutions / 2 (``torch.utils.flop_counter``).

    Counted on PyTorch's reference ops: ``FlopCounterMode`` does not see the fused inference
    kernels (``nn.MultiheadAttention``'s fast path, the CPU flash-attention kernel), so autograd
    stays on and attention takes the math backend (matmuls); :mod:`speechtools.nn.cpu_fast_path`
    steps aside too. Used by ``bench/tts_speed.py`` and the NAS (:mod:`speechtools.nas.cost`).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        forward()
    return int(counter.get_total_flops() // 2)
