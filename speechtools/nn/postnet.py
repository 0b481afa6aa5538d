"""Convolutional post-net of Tacotron 2 (Shen et al., 2018, arXiv 1712.05884, Sec. 2.2).

``layers`` 1D convolutions (kernel 5) with batch norm and tanh (none on the last), predicting
a residual added to the decoder's mel output. ESPnet's FastSpeech 2 uses 5 × 256 channels.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from speechtools.nn.conv import Conv1dT, masked_fill_padding


class Postnet(nn.Module):
    """Residual mel refinement ``(batch, time, n_mels) → (batch, time, n_mels)``."""

    def __init__(self, n_mels: int, channels: int = 256, kernel_size: int = 5, layers: int = 5, dropout: float = 0.5) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(layers):
            ch_in = n_mels if i == 0 else channels
            ch_out = n_mels if i == layers - 1 else channels
            self.convs.append(Conv1dT(ch_in, ch_out, kernel_size, bias=False))
            self.norms.append(nn.BatchNorm1d(ch_out))
        self.dropout = nn.Dropout(dropout)

    def forward(self, mel: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = mel
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = norm(conv(x, mask).transpose(1, 2)).transpose(1, 2)
            if i != last:
                x = torch.tanh(x)
            x = self.dropout(x)
        return masked_fill_padding(mel + x, mask)
