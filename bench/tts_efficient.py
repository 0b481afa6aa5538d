"""Side-by-side speed and size of Transformer TTS, FastSpeech, FastSpeech 2 and LightSpeech.

The speed claims of FastSpeech (arXiv 1905.09263: 270x faster mel generation than the
autoregressive Transformer TTS) and LightSpeech (arXiv 2102.04040: 15x fewer parameters, 16x
fewer MACs, 6.5x faster on CPU than FastSpeech 2), measured in one run at the paper
configurations (``conf/tts/<model>.yaml``, 76-phone vocabulary, 80 mel bins):

* mel-generation latency per sentence (batch 1) and real-time factor (model time / audio
  seconds) on CPU with 1 thread and with all threads, and on GPU when present;
* parameters, and multiply-accumulates for one sentence of median length
  (``torch.utils.flop_counter``; MACs = FLOPs / 2).

Sentences: the normalised texts of ``tests/fixtures/text/ljspeech_normalization_sample.csv``
(100 LJSpeech sentences) through the ``en_phone`` front-end. Every model is timed on the same
token sequences with the same frame counts: tokens × the frames-per-token rate measured on the
bundled mini corpus (real LJSpeech audio), so the NAR models are given those durations
(their predictors still run) and Transformer TTS decodes autoregressively, with cached keys and
values, until the reference length (its stop token ignored). Untrained weights: speed does not
depend on them. The models run with the CPU inference fast path
(:func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`, as ``speechtools synth`` applies it
on CPU); ``--no-cpu-fast-path`` times the plain PyTorch models.

Used by ``bench/tts_speed.py`` (all models side by side) or alone::

    python bench/tts_efficient.py --quick --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
# fastspeech2_lightspeech_baseline: FastSpeech 2 as the LightSpeech paper measured it (its 27M
# baseline: frame-level pitch/energy with 5 x k5 predictors), the reference of the 15x/16x/6.5x claims.
MODELS = ("transformer_tts", "fastspeech", "fastspeech2", "fastspeech2_lightspeech_baseline", "lightspeech")
PAPER_VOCAB = 76
N_MELS = 80
HOP, SAMPLE_RATE = 256, 22050


def sentences(limit: int) -> List[List[str]]:
    """Phone sequences of the fixed benchmark sentences (first ``limit``)."""
    from speechtools.text.frontend import get_frontend

    frontend = get_frontend("en_phone")
    path = ROOT / "tests/fixtures/text/ljspeech_normalization_sample.csv"
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter="|"))
    texts = [row[-1] for row in rows if row and row[-1].strip()][:limit]
    return [frontend.tokenize(t) for t in texts]


def frames_per_token() -> float:
    """Mel frames per front-end token on the bundled mini corpus (real LJSpeech recordings)."""
    import soundfile

    from speechtools.text.frontend import get_frontend

    frontend = get_frontend("en_phone")
    corpus = ROOT / "egs/ljspeech/mini_corpus"
    frames = tokens = 0
    for row in csv.reader((corpus / "metadata.csv").open(encoding="utf-8"), delimiter="|"):
        info = soundfile.info(str(corpus / "wavs" / f"{row[0]}.flac"))
        frames += int(info.frames * SAMPLE_RATE / info.samplerate) // HOP
        tokens += len(frontend.tokenize(row[-1]))
    return frames / tokens


def build(name: str, fast_path: bool = True) -> torch.nn.Module:
    """The model at its paper configuration (``conf/tts/<name>.yaml``), eval mode, with the CPU fast path if ``fast_path``."""
    from speechtools.models import MODELS as REGISTRY
    from speechtools.models.task_info import FixedSizes
    from speechtools.nn.cpu_fast_path import enable_cpu_fast_path
    from speechtools.train.experiment import load_experiment

    experiment = load_experiment(ROOT / "conf/tts" / f"{name}.yaml")
    torch.manual_seed(0)
    model = REGISTRY.build(experiment.model, experiment.model_conf, FixedSizes(vocab_size=PAPER_VOCAB, n_mels=N_MELS)).eval()
    if fast_path:
        enable_cpu_fast_path(model)
    return model


def inputs(tokens: int, frames: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids, lengths and durations (spread evenly, summing to ``frames``) of one sentence."""
    gen = torch.Generator().manual_seed(tokens)
    ids = torch.randint(1, PAPER_VOCAB, (1, tokens), generator=gen)
    base = torch.full((1, tokens), frames // tokens, dtype=torch.long)
    base[0, : frames - int(base.sum())] += 1
    return ids.to(device), torch.tensor([tokens], device=device), base.to(device)


def runner(name: str, model: torch.nn.Module) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """``f(ids, lengths, durations) -> mel`` for one sentence, the way each model generates."""
    if name == "transformer_tts":
        return lambda ids, lengths, d: model.generate(ids, lengths, forced_lengths=d.sum(1))["mel_post"]
    return lambda ids, lengths, d: model(ids, lengths, durations=d)["mel_post"]


def build_runner(name: str, fast_path: bool = True) -> Tuple[torch.nn.Module, Callable[[torch.Tensor, torch.Tensor], int]]:
    """``(model, run)`` with ``run(ids (T,), durations (T,)) -> frames`` (``bench/tts_speed.py``'s runner shape)."""
    model = build(name, fast_path)
    generate = runner(name, model)

    def run(ids: torch.Tensor, durations: torch.Tensor) -> int:
        return int(generate(ids.unsqueeze(0), torch.tensor([ids.numel()]), durations.unsqueeze(0)).shape[1])

    return model, run


def ar_sentences(quick: bool) -> int:
    """How many of the sentences the autoregressive model decodes (it is ~100x slower)."""
    return 2 if quick else 20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_model(name: str, model: torch.nn.Module, lengths: Sequence[Tuple[int, int]], device: torch.device) -> Dict[str, float]:
    """Per-sentence latency (mean, seconds) and RTF over ``(tokens, frames)`` sentences at batch 1."""
    run = runner(name, model)
    with torch.inference_mode():
        ids, lens, d = inputs(*lengths[0], device)
        run(ids, lens, d)  # warm-up
        _sync(device)
        total = 0.0
        for n_tok, n_frames in lengths:
            ids, lens, d = inputs(n_tok, n_frames, device)
            _sync(device)
            start = time.perf_counter()
            mel = run(ids, lens, d)
            _sync(device)
            total += time.perf_counter() - start
            assert mel.size(1) == n_frames
    audio = sum(f for _, f in lengths) * HOP / SAMPLE_RATE
    return {"latency": total / len(lengths), "rtf": total / audio}


def count_macs(name: str, model: torch.nn.Module, n_tok: int, n_frames: int) -> int:
    """Multiply-accumulates of generating one sentence (:func:`speechtools.nn.macs.count_macs`: FLOPs of matmuls/convs / 2)."""
    from speechtools.nn.macs import count_macs as count_forward_macs

    ids, lens, d = inputs(n_tok, n_frames, torch.device("cpu"))
    if name == "transformer_tts":
        # One teacher-forced pass: the projections and FFNs of cached decoding, frame for frame
        # (its self-attention scores the full S x S square, cached decoding the lower half);
        # counting op by op through 600 decoding steps takes minutes.
        mel = torch.zeros(1, n_frames, N_MELS)

        def run(ids: torch.Tensor, lens: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
            return model(ids, lens, mel, d.sum(1))["mel_post"]
    else:
        run = runner(name, model)
    return count_forward_macs(lambda: run(ids, lens, d))


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def run_benchmark(quick: bool, models: Sequence[str] = MODELS, progress: Callable[[str], None] = print,
                  n_sentences: Optional[int] = None, n_ar: Optional[int] = None, fast_path: bool = True) -> Dict[str, Dict]:
    """Measure every model; returns the JSON structure (rtf, latency, params, macs, ratios)."""
    n_sent = n_sentences or (10 if quick else 100)
    rate = frames_per_token()
    phones = sentences(n_sent)
    lengths = [(len(p), max(1, round(len(p) * rate))) for p in phones]
    ar_lengths = lengths[: n_ar or ar_sentences(quick)]
    median = sorted(lengths, key=lambda x: x[1])[len(lengths) // 2]
    settings: List[Tuple[str, torch.device, int]] = [("1", torch.device("cpu"), 1), ("all", torch.device("cpu"), os.cpu_count() or 1)]
    if torch.cuda.is_available():
        settings.append(("cuda", torch.device("cuda"), os.cpu_count() or 1))
    result: Dict[str, Dict] = {"rtf": {}, "latency": {}, "params": {}, "macs": {}, "sentences": {}}
    threads = torch.get_num_threads()
    try:
        for name in models:
            model = build(name, fast_path)
            result["params"][name] = params(model)
            torch.set_num_threads(1)
            result["macs"][name] = count_macs(name, model, *median)
            sents = ar_lengths if name == "transformer_tts" else lengths
            result["sentences"][name] = len(sents)
            result["rtf"][name], result["latency"][name] = {}, {}
            for key, device, n_threads in settings:
                torch.set_num_threads(n_threads)
                measured = time_model(name, model.to(device), sents, device)
                result["rtf"][name][key] = measured["rtf"]
                result["latency"][name][key] = measured["latency"]
                progress(f"{name:16s} {key:>4s}: latency {measured['latency'] * 1e3:9.2f} ms/sentence  RTF {measured['rtf']:.2e}")
            model.to("cpu")
    finally:
        torch.set_num_threads(threads)
    result["ratios"] = ratios(result)
    result["setup"] = {"frames_per_token": rate, "sentences": len(lengths), "ar_sentences": len(ar_lengths), "median_sentence": {"tokens": median[0], "frames": median[1]},
                       "cpu_threads_all": os.cpu_count(), "vocab": PAPER_VOCAB, "quick": quick, "cpu_fast_path": fast_path}
    return result


def ratios(result: Dict[str, Dict]) -> Dict[str, float]:
    """Speedups and compression ratios quoted by the papers, from one run's numbers.

    LightSpeech is compared with FastSpeech 2 at the FastSpeech 2 paper's configuration
    (``fs2``) and with the LightSpeech paper's own 27M FastSpeech 2 baseline (``fs2_baseline``).
    """
    out: Dict[str, float] = {}
    rtf, p, m = result["rtf"], result["params"], result["macs"]
    for big, tag in (("fastspeech2", "fs2"), ("fastspeech2_lightspeech_baseline", "fs2_baseline")):
        if big in p and "lightspeech" in p:
            out[f"params_{tag}_over_lightspeech"] = p[big] / p["lightspeech"]
            out[f"macs_{tag}_over_lightspeech"] = m[big] / m["lightspeech"]
            for key in rtf["lightspeech"]:
                out[f"rtf_{tag}_over_lightspeech_{key}"] = rtf[big][key] / rtf["lightspeech"][key]
    if "transformer_tts" in rtf and "fastspeech" in rtf:
        for key in rtf["fastspeech"]:
            out[f"rtf_transformer_tts_over_fastspeech_{key}"] = rtf["transformer_tts"][key] / rtf["fastspeech"][key]
    return out


def table(result: Dict[str, Dict]) -> str:
    """Markdown tables: latency/RTF per model and setting, size, and the paper ratios."""
    keys = list(next(iter(result["rtf"].values())).keys())
    labels = {"1": "CPU 1 thread", "all": f"CPU {result['setup']['cpu_threads_all']} threads", "cuda": "GPU"}
    base = "transformer_tts" if "transformer_tts" in result["rtf"] else None
    head = "| model | params | MACs (median sentence) | " + " | ".join(
        f"{labels[k]}: ms/sentence | RTF | speedup vs AR" if base else f"{labels[k]}: ms/sentence | RTF" for k in keys) + " |"
    lines = [head, "|" + "---|" * (3 + len(keys) * (3 if base else 2))]
    for name in result["rtf"]:
        cells = [name, f"{result['params'][name] / 1e6:.2f}M", f"{result['macs'][name] / 1e9:.2f}G"]
        for k in keys:
            cells += [f"{result['latency'][name][k] * 1e3:.1f}", f"{result['rtf'][name][k]:.2e}"]
            if base:
                cells.append(f"{result['rtf'][base][k] / result['rtf'][name][k]:.1f}x")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| ratio | measured | paper |", "|---|---|---|"]
    paper = {"params_fs2_baseline_over_lightspeech": "15x", "macs_fs2_baseline_over_lightspeech": "16x", "rtf_fs2_baseline_over_lightspeech_1": "6.5x (CPU)",
             "rtf_transformer_tts_over_fastspeech_cuda": "270x (V100)", "rtf_transformer_tts_over_fastspeech_1": "270x is GPU",
             "rtf_transformer_tts_over_fastspeech_all": "270x is GPU"}
    for key, value in result["ratios"].items():
        lines.append(f"| {key} | {value:.1f}x | {paper.get(key, '')} |")
    return "\n".join(lines)


def write_json(path: str, result: Dict) -> None:
    """Write a benchmark result as indented JSON, atomically (temp file, then rename)."""
    from speechtools.fileio import atomic_write

    with atomic_write(path) as handle:
        handle.write(json.dumps(result, indent=2) + "\n")


def report(result: Dict, text: str, json_path: Optional[str]) -> int:
    """Print a benchmark's tables and write its JSON to ``json_path`` (when given); returns the exit status."""
    print(text)
    if json_path:
        write_json(json_path, result)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 sentences (2 for Transformer TTS) instead of 100 (20)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--sentences", type=int, default=None, help="number of sentences (default 100, quick 10)")
    parser.add_argument("--ar-sentences", type=int, default=None, help="of which Transformer TTS decodes (default 20, quick 2)")
    parser.add_argument("--no-cpu-fast-path", dest="fast_path", action="store_false",
                        help="time the plain PyTorch models (without speechtools.nn.cpu_fast_path)")
    args = parser.parse_args(argv)
    result = run_benchmark(args.quick, args.models, progress=lambda s: print(s, file=sys.stderr),
                           n_sentences=args.sentences, n_ar=args.ar_sentences, fast_path=args.fast_path)
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
