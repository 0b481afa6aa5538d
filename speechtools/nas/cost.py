"""Size and speed of a candidate architecture, measured on this machine with the real model.

For an architecture string the plain :class:`~speechtools.models.lightspeech.LightSpeech` of that
string is built with the supernet's other settings (and its inherited weights), as ``speechtools
synth`` runs it on CPU (:func:`~speechtools.nn.cpu_fast_path.enable_cpu_fast_path`, eval mode,
``torch.inference_mode()``), and measured:

* parameters;
* MACs of the median-length sentence of the fixed set, counted as ``bench/tts_speed.py`` counts
  them (:func:`speechtools.nn.macs.count_macs`);
* latency: mean milliseconds per sentence at batch 1 over a fixed sentence set (the first
  utterances of the held-out data directory, with their reference durations so every candidate
  generates the same frames; the predictors still run), at ``threads`` threads, after one
  warm-up sentence; the fastest of ``repeats`` passes (the least disturbed by other load).

Latencies are cached in a JSON file per (architecture string, thread count); the file records
the CPU, the sentence set and the number of passes, and entries made under other ones are not
reused.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from speechtools.device import cpu_name
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_write
from speechtools.nas.evaluate import build_standalone
from speechtools.nn.cpu_fast_path import enable_cpu_fast_path
from speechtools.nn.macs import count_macs
from speechtools.nn.search_space import OPERATIONS, Operation, arch_ids, canonical_arch

Sentence = Tuple[torch.Tensor, torch.Tensor]  # token ids (T,), durations (T,)


def fixed_sentences(items: Sequence[Dict[str, Any]], n: int) -> List[Sentence]:
    """The first ``n`` items of a :class:`~speechtools.datasets.tts.TTSDataset` (sorted by id) as (tokens, durations)."""
    return [(torch.tensor(it["tokens"], dtype=torch.long), torch.tensor(it["durations"], dtype=torch.long)) for it in items[:n]]


class LatencyCache:
    """Measured latencies (ms) in a JSON file, keyed by architecture string and thread count."""

    def __init__(self, path: PathLike, meta: Dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta
        self.entries: Dict[str, float] = {}
        if self.path.is_file():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"unreadable latency cache ({exc})", self.path) from None
            if stored.get("meta") == meta:
                self.entries = {str(k): float(v) for k, v in stored.get("latency_ms", {}).items()}

    @staticmethod
    def key(arch: str, threads: int) -> str:
        """The cache key of ``arch`` (in operation names, so ids and names share entries) at ``threads``."""
        return f"{canonical_arch(arch)}|threads={threads}"

    def get(self, arch: str, threads: int) -> Optional[float]:
        """The cached latency of ``arch`` at ``threads``, or None."""
        return self.entries.get(self.key(arch, threads))

    def put(self, arch: str, threads: int, latency_ms: float) -> None:
        """Record one measurement and rewrite the file (atomically)."""
        self.entries[self.key(arch, threads)] = latency_ms
        with atomic_write(self.path) as handle:
            json.dump({"meta": self.meta, "latency_ms": self.entries}, handle, indent=1, sort_keys=True)


def sentence_fingerprint(sentences: Sequence[Sentence]) -> str:
    """A short hash of the token ids and durations of a sentence set (part of the cache's meta)."""
    digest = hashlib.sha256()
    for tokens, durations in sentences:
        digest.update(json.dumps([tokens.tolist(), durations.tolist()]).encode())
    return digest.hexdigest()[:16]


@dataclass
class Cost:
    """What a candidate costs: parameters, MACs of the median sentence, latency (ms/sentence, or None if not measured)."""

    params: int
    macs: int
    latency_ms: Optional[float] = None


class CostMeter:
    """Parameters, MACs and (cached) measured CPU latency of architecture strings of one supernet."""

    def __init__(self, supernet: torch.nn.Module, task: Any, sentences: Sequence[Sentence], threads: int = 1,
                 cache_path: Optional[PathLike] = None, repeats: int = 3) -> None:
        if not sentences:
            raise ValueError("no sentences to time")
        if threads < 1 or repeats < 1:
            raise ValueError("threads and repeats must be >= 1")
        self.supernet = supernet
        self.task = task
        self.sentences = list(sentences)
        self.threads = threads
        self.repeats = repeats
        self.median = sorted(self.sentences, key=lambda s: int(s[1].sum()))[len(self.sentences) // 2]
        meta = {"cpu": cpu_name(), "sentences": sentence_fingerprint(self.sentences), "repeats": repeats, "torch": torch.__version__}
        self.cache = LatencyCache(cache_path, meta) if cache_path is not None else None
        self._size: Dict[str, Tuple[int, int]] = {}

    def build(self, arch: str) -> torch.nn.Module:
        """The standalone LightSpeech of ``arch`` with the supernet's weights, eval mode, CPU fast path."""
        model = build_standalone(self.supernet, self.task, arch)
        model.eval()
        enable_cpu_fast_path(model)
        return model

    def size(self, arch: str) -> Tuple[int, int]:
        """``(parameters, MACs of the median sentence)`` of ``arch``."""
        key = canonical_arch(arch)
        if key not in self._size:
            self._size[key] = model_size(self.build(key), self.median)
        return self._size[key]

    def param_count(self, arch: str) -> int:
        """Parameters of the standalone model of ``arch``, counted from the supernet without building it (exact)."""
        enc, dec = self.supernet.split(arch)
        stacks = (self.supernet.encoder, self.supernet.decoder)
        shared = sum(p.numel() for p in self.supernet.parameters())
        shared -= sum(p.numel() for stack in stacks for layer in stack.layers for p in layer.parameters())
        chosen = [layer.choices[op.name] for stack, ops in zip(stacks, (enc, dec)) for layer, op in zip(stack.layers, ops)]
        return shared + sum(p.numel() for module in chosen for p in module.parameters())

    def latency_ms(self, arch: str) -> float:
        """Measured mean ms per sentence of ``arch`` at ``threads`` (from the cache when it has it)."""
        cached = self.cache.get(arch, self.threads) if self.cache is not None else None
        if cached is not None:
            return cached
        value = self.measure(self.build(arch))
        if self.cache is not None:
            self.cache.put(arch, self.threads, value)
        return value

    def measure(self, model: torch.nn.Module) -> float:
        """Mean ms per sentence of ``model`` over the set at ``threads`` threads: the fastest of ``repeats`` passes."""
        return mean_latency_ms(model, self.sentences, self.threads, self.repeats)

    def cost(self, arch: str, latency: bool = True) -> Cost:
        """:class:`Cost` of ``arch``; latency measured only if ``latency``."""
        params, macs = self.size(arch)
        return Cost(params, macs, self.latency_ms(arch) if latency else None)


def model_size(model: torch.nn.Module, sentence: Sentence) -> Tuple[int, int]:
    """``(parameters, MACs of one batch-1 pass over sentence)``; MACs counted as ``bench/tts_speed.py`` counts them."""
    tokens, durations = sentence
    return sum(p.numel() for p in model.parameters()), count_macs(lambda: _run(model, tokens, durations))


def mean_latency_ms(model: torch.nn.Module, sentences: Sequence[Sentence], threads: int, repeats: int) -> float:
    """Mean ms per sentence of an acoustic model at batch 1 over ``sentences`` at ``threads`` threads.

    Under ``torch.inference_mode()``, after one warm-up sentence; the fastest of ``repeats`` passes
    (the least disturbed by other load). Each sentence runs with its given durations, so models
    that predict different durations still generate the same frames (their predictors still run).
    """
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            _run(model, *sentences[0])
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                for tokens, durations in sentences:
                    _run(model, tokens, durations)
                best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(saved)
    return best / len(sentences) * 1e3


def _run(model: torch.nn.Module, tokens: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
    return model(tokens.unsqueeze(0), torch.tensor([tokens.numel()]), durations=durations.unsqueeze(0))["mel_post"]


class AdditiveEstimate:
    """A cost of an architecture estimated as a sum over its layers, from ``1 + 2 × 11`` measured architectures.

    ``cost(arch) ≈ cost(all identity) + Σ_layers Δ[stack][op]``, where ``Δ[stack][op]`` is the
    measured cost of the architecture with ``op`` in the first layer of that stack (encoder or
    decoder) and identity everywhere else, minus the all-identity cost (clamped at 0). Exact for
    parameters (a layer's parameters do not depend on the others); for latency an estimate, which
    the search uses only to skip candidates far over the limit before measuring the real model
    (the limit is always checked on the measured latency).
    """

    def __init__(self, measure: Callable[[str], float], n_encoder: int, n_decoder: int) -> None:
        identity = OPERATIONS[max(OPERATIONS)]
        base = [identity] * (n_encoder + n_decoder)
        self.n_encoder = n_encoder
        self.base = float(measure(_names(base)))
        self.delta: Dict[str, Dict[int, float]] = {}
        for stack, first in (("encoder", 0), ("decoder", n_encoder)):
            self.delta[stack] = {identity.op_id: 0.0}
            for op in OPERATIONS.values():
                if op is not identity:
                    ops = list(base)
                    ops[first] = op
                    self.delta[stack][op.op_id] = max(0.0, float(measure(_names(ops))) - self.base)

    def __call__(self, arch: str) -> float:
        """The estimated cost of ``arch``."""
        ids = arch_ids(arch)
        return self.base + sum(self.delta["encoder" if i < self.n_encoder else "decoder"][op] for i, op in enumerate(ids))

    def to_dict(self) -> Dict[str, Any]:
        """The measured terms, by operation name (for the search log)."""
        return {"all_identity": self.base,
                **{stack: {OPERATIONS[i].name: d for i, d in deltas.items()} for stack, deltas in self.delta.items()}}


def _names(ops: Sequence[Operation]) -> str:
    return " ".join(op.name for op in ops)
