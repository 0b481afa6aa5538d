"""One-shot supernet layers over the LightSpeech search space (single-path one-shot NAS).

Every layer of a :class:`SupernetStack` holds all twelve operations of
:data:`~speechtools.nn.search_space.OPERATIONS` (:class:`MixedOperation`); one of them, the
layer's *active* operation, runs per forward pass. Weights are shared between architectures:
a candidate architecture uses, in each layer, the weights of its chosen operation in that layer
(Guo et al., "Single Path One-Shot NAS with Uniform Sampling", ECCV 2020; Bender et al.,
ICML 2018). With a fixed path the stack computes exactly what a
:class:`~speechtools.nn.search_space.SearchedStack` of that path computes with the same weights
(:func:`path_state_dict` maps the keys).
"""

from __future__ import annotations

import re
from typing import Dict, Mapping, Sequence

import torch
from torch import nn

from speechtools.nn.search_space import OPERATIONS, Operation, SearchedStack, build_operation


class MixedOperation(nn.Module):
    """All operations of the search space for one layer; ``active`` (an operation name) runs."""

    def __init__(self, dim: int, filter_size: int, dropout: float, attention_dropout: float, active: str) -> None:
        super().__init__()
        self.choices = nn.ModuleDict(
            {op.name: build_operation(op, dim, filter_size, dropout, attention_dropout) for op in OPERATIONS.values()}
        )
        self.active = active

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The active operation of ``x`` ``(batch, T, dim)``."""
        return self.choices[self.active](x, mask)


class SupernetStack(SearchedStack):
    """A :class:`SearchedStack` whose layers are :class:`MixedOperation` s; ``ops`` is the initial path."""

    def layer_module(self, op: Operation, dim: int, filter_size: int, dropout: float, attention_dropout: float) -> nn.Module:
        """A :class:`MixedOperation` whose active operation is ``op``."""
        return MixedOperation(dim, filter_size, dropout, attention_dropout, active=op.name)

    def set_path(self, ops: Sequence[Operation]) -> None:
        """Make ``ops`` (one per layer) the active operations."""
        if len(ops) != len(self.layers):
            raise ValueError(f"path has {len(ops)} operations, the stack has {len(self.layers)} layers")
        self.ops = list(ops)
        for layer, op in zip(self.layers, ops):
            layer.active = op.name


def path_state_dict(state: Mapping[str, torch.Tensor], paths: Dict[str, Sequence[Operation]]) -> Dict[str, torch.Tensor]:
    """The state dict of the standalone model of one path, from a supernet's state dict.

    ``paths`` maps a stack's key prefix (``"encoder."``) to its operations. A supernet key
    ``<prefix>layers.<i>.choices.<name>.<rest>`` becomes ``<prefix>layers.<i>.<rest>`` when
    ``<name>`` is layer ``i``'s operation and is dropped otherwise; every other key is kept.
    """
    patterns = {prefix: re.compile(re.escape(prefix) + r"layers\.(\d+)\.choices\.([a-z0-9]+)\.(.*)") for prefix in paths}
    out: Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for prefix, pattern in patterns.items():
            match = pattern.fullmatch(key)
            if match:
                layer, name, rest = int(match.group(1)), match.group(2), match.group(3)
                if paths[prefix][layer].name == name:
                    out[f"{prefix}layers.{layer}.{rest}"] = value
                break
        else:
            out[key] = value
    return out
