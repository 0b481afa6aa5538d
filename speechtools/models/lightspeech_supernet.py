"""The one-shot supernet of LightSpeech's search space (``model: lightspeech_supernet``).

LightSpeech (Luo et al., ICASSP 2021, arXiv 2102.04040, Sec. 3) searches the encoder and
decoder layers of a FastSpeech-like model over twelve operations
(:mod:`speechtools.nn.search_space`). This model is the supernet of that search: every
encoder/decoder layer holds all twelve operations with weights shared between architectures
(:mod:`speechtools.nn.supernet`); embedding, variance adaptor and mel head are LightSpeech's.
It trains with the ordinary trainer and the ``tts`` task; before every update the trainer's
``set_num_updates(n)`` hook draws the path of update ``n`` (all micro-batches of one update share
it), a function of ``(sampling_seed, n)`` alone, so a resumed run draws the same paths:

* ``sampling: fair`` (default): FairNAS's strict fairness (Chu et al., ICCV 2021)
  spread over consecutive updates: in every block of 12 updates each layer runs a random
  permutation of the twelve operations, so every operation of every layer is trained exactly
  equally often (FairNAS accumulates the 12 paths into one update instead). Chosen because on a
  CPU budget of a few thousand updates uniform sampling leaves per-operation counts that differ
  by ±10 % (binomial), which biases the ranking of candidates toward the operations that
  happened to train more.
* ``sampling: uniform``: each layer draws its operation uniformly at every update (Single Path
  One-Shot, Guo et al., ECCV 2020).

In eval mode (validation, candidate evaluation) the model runs its fixed path: ``arch`` of the
config, or what :meth:`LightSpeechSupernet.set_arch` set. :meth:`~LightSpeechSupernet.standalone`
returns the config and state dict of the plain :class:`~speechtools.models.lightspeech.LightSpeech`
of one architecture, which computes the same outputs (``tests/tts/test_lightspeech_supernet.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch

from speechtools.models import MODELS
from speechtools.models.lightspeech import LightSpeech, LightSpeechConfig
from speechtools.nn.search_space import OPERATIONS, Operation, canonical_arch, parse_arch, split_arch
from speechtools.nn.supernet import SupernetStack, path_state_dict

SAMPLINGS = ("fair", "uniform")


@dataclass
class LightSpeechSupernetConfig(LightSpeechConfig):
    """``model_conf`` of ``model: lightspeech_supernet``: :class:`LightSpeechConfig` plus path sampling.

    Attributes:
        arch: the path run in eval mode (validation during training); its length fixes the
            number of encoder + decoder layers of the supernet.
        sampling: ``fair`` or ``uniform`` (module docstring).
        sampling_seed: seed of the path sequence.
    """

    sampling: str = "fair"
    sampling_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {self.sampling!r}")
        if self.dim % max(op.heads for op in OPERATIONS.values()):
            raise ValueError(f"dim {self.dim} must be divisible by 8 (the supernet holds the 8-head attention operation)")


def sample_path(n_layers: int, num_updates: int, sampling: str, seed: int) -> List[Operation]:
    """The operations of every layer at update ``num_updates`` (uniform: SPOS; fair: per-block permutations)."""
    ops = [OPERATIONS[i] for i in sorted(OPERATIONS)]
    generator = torch.Generator()
    if sampling == "uniform":
        generator.manual_seed(seed * 1_000_003 + num_updates)
        picks = torch.randint(len(ops), (n_layers,), generator=generator).tolist()
    else:
        block, position = divmod(num_updates, len(ops))
        generator.manual_seed(seed * 1_000_003 + block)
        picks = [int(torch.randperm(len(ops), generator=generator)[position]) for _ in range(n_layers)]
    return [ops[i] for i in picks]


@MODELS.register("lightspeech_supernet", config=LightSpeechSupernetConfig)
class LightSpeechSupernet(LightSpeech):
    """LightSpeech whose searched layers hold all operations; one path per update in training."""

    stack_class = SupernetStack

    def __init__(self, conf: LightSpeechSupernetConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__(conf, vocab_size, n_mels, n_speakers)
        self.sampled: Optional[List[Operation]] = None
        self.fixed: Tuple[List[Operation], List[Operation]] = split_arch(conf.arch, conf.encoder_layers)

    @property
    def n_layers(self) -> int:
        """Encoder plus decoder layers."""
        return len(self.encoder.layers) + len(self.decoder.layers)

    def split(self, arch: str) -> Tuple[List[Operation], List[Operation]]:
        """Encoder and decoder operations of ``arch``; ValueError unless it has one per layer."""
        ops = parse_arch(arch)
        if len(ops) != self.n_layers:
            raise ValueError(f"arch {arch!r} has {len(ops)} operations; this supernet has {self.n_layers} layers")
        return split_arch(arch, len(self.encoder.layers))

    def set_arch(self, arch: str) -> None:
        """Run ``arch`` in eval mode (candidate evaluation)."""
        self.fixed = self.split(arch)

    def set_num_updates(self, num_updates: int) -> None:
        """The trainer's hook before every update: draw that update's path (:func:`sample_path`)."""
        self.sampled = sample_path(self.n_layers, num_updates, self.conf.sampling, self.conf.sampling_seed)

    @property
    def arch(self) -> str:
        """The architecture string of the path the next forward pass runs."""
        enc, dec = self._path()
        return " ".join(op.name for op in enc + dec)

    def _path(self) -> Tuple[List[Operation], List[Operation]]:
        if self.training and self.sampled is not None:
            n = len(self.encoder.layers)
            return self.sampled[:n], self.sampled[n:]
        return self.fixed

    def decode(self, tokens: torch.Tensor, token_lengths: torch.Tensor, **inputs: Any) -> Dict[str, torch.Tensor]:
        """:meth:`NARTTS.decode` along the current path (sampled in training, fixed in eval mode)."""
        enc, dec = self._path()
        self.encoder.set_path(enc)
        self.decoder.set_path(dec)
        return super().decode(tokens, token_lengths, **inputs)

    def standalone(self, arch: str) -> Tuple[LightSpeechConfig, Dict[str, torch.Tensor]]:
        """Config and weights of the plain LightSpeech of ``arch`` that inherits this supernet's weights."""
        enc, dec = self.split(arch)
        fields = {f.name: getattr(self.conf, f.name) for f in dataclasses.fields(LightSpeechConfig)}
        conf = LightSpeechConfig(**{**fields, "arch": canonical_arch(arch), "encoder_layers": len(enc)})
        return conf, path_state_dict(self.state_dict(), {"encoder.": enc, "decoder.": dec})
