"""Size and CPU speed of trained acoustic models, side by side on one sentence set (``speechtools score cost``).

Every model directory is loaded on the CPU as ``speechtools synth`` runs it (eval mode, CPU fast
path, ``torch.inference_mode()``) and measured with :mod:`speechtools.nas.cost`, the functions the
architecture search measures its candidates with:

* parameters, and MACs of one pass over the median-length sentence (``bench/tts_speed.py``'s count);
* latency: mean ms per sentence at batch 1 over the first ``n_sentences`` utterances of a data
  directory (sorted by id) with their reference durations, so that every model generates the same
  frames; the fastest of ``repeats`` passes at ``threads`` threads;
* real-time factor: model time over the audio time of those frames (frames x hop / sample rate
  of the model's feature config). Mel generation only: the vocoder is not timed.

Models are measured one after another in one process, so their ratios are comparable; absolute
times move with the machine and its load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.nas.cost import fixed_sentences, mean_latency_ms, model_size


@dataclass
class ModelCost:
    """One model's size and speed (the figures of :func:`measure_model_dirs`)."""

    name: str
    params: int
    macs: int
    latency_ms: float
    rtf: float
    sentences: int
    audio_seconds: float

    def summary(self) -> Dict[str, Dict[str, float]]:
        """The ``summary`` of a score report (``score compare`` reads it): params_m, gmacs, latency_ms, rtf."""
        values = {"params_m": self.params / 1e6, "gmacs": self.macs / 1e9, "latency_ms": self.latency_ms, "rtf": self.rtf}
        return {key: {"value": value, "statistic": "measured", "n": self.sentences} for key, value in values.items()}


def measure_model_dirs(models: Sequence[Tuple[str, PathLike]], data_dir: PathLike, feats_dir: PathLike, n_sentences: int,
                       threads: int = 1, repeats: int = 3) -> List[ModelCost]:
    """:class:`ModelCost` of each ``(name, model directory)``, in order, on the first ``n_sentences`` of ``data_dir``.

    Raises UserError for a directory that is not a TTS model directory or an empty data directory.
    """
    from speechtools.train.model_dir import load_model_dir

    costs: List[ModelCost] = []
    for name, path in models:
        loaded = load_model_dir(path, device="cpu", cpu_fast_path=True)
        feature_config = getattr(loaded.task, "feature_config", None)
        if feature_config is None or not callable(getattr(loaded.task, "dataset", None)):
            raise UserError(f"not a TTS model directory (model: {loaded.config.model})", path)
        items = loaded.task.dataset(str(data_dir), str(feats_dir)).items
        sentences = fixed_sentences(items, n_sentences)
        if not sentences:
            raise UserError("no utterances to time", data_dir)
        median = sorted(sentences, key=lambda s: int(s[1].sum()))[len(sentences) // 2]
        params, macs = model_size(loaded.model, median)
        latency = mean_latency_ms(loaded.model, sentences, threads, repeats)
        frames = sum(int(d.sum()) for _, d in sentences)
        audio_seconds = frames * feature_config.hop_length / feature_config.sample_rate
        rtf = latency / 1e3 * len(sentences) / audio_seconds
        costs.append(ModelCost(name, params, macs, latency, rtf, len(sentences), audio_seconds))
    return costs


def cost_table(costs: Sequence[ModelCost]) -> str:
    """Markdown: one row per model (parameters in millions, GMACs, ms per sentence, RTF, ratios to the first row)."""
    from speechtools.scoring.report import markdown_table

    first = costs[0]
    rows = [[c.name, f"{c.params / 1e6:.2f}", f"{c.macs / 1e9:.3f}", f"{c.latency_ms:.2f}", f"{c.rtf:.4f}",
             f"{c.latency_ms / first.latency_ms:.2f}"] for c in costs]
    return markdown_table(["model", "params (M)", "GMACs (median sentence)", "ms / sentence", "RTF", f"time / {first.name}"], rows)
