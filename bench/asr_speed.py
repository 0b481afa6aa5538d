"""Decoding real-time factor of the CTC/attention recogniser (greedy CTC and joint beam search).

Measured in one run, on CPU with 1 thread and with all threads (and on GPU when one is present):
``CTCAttentionASR.recognize`` under ``torch.inference_mode()``, batch 1, on random normalised
log-mel features of ``--seconds`` of audio (``seconds·22050/256`` frames, 80 bins), at the small
configuration (``conf/asr/ctc_attention_small.yaml``: ``small_*``) and the paper configuration
(``conf/asr/ctc_attention.yaml``: ``paper_*``), each with

* ``greedy``: batched greedy CTC (beam 1, CTC weight 1): the encoder and one arg-max;
* ``beam10``: the joint CTC/attention beam search (beam 10, CTC weight 0.3, no LM).

RTF = decode seconds / audio seconds. Untrained (random) weights, built through the
construction rule with a 32-unit vocabulary (``FixedSizes(vocab_size=32, n_mels=80)``): the
arithmetic, and so the speed, does not depend on them, except for when the search stops: random
weights emit ``<eos>`` at random (the first runs ended after 20 of 30 allowed tokens). So the
output length is fixed: ``max_len`` = ``--chars-per-second`` (15, read English speech) × seconds
tokens, ESPnet's end detection off, and the attention decoder's ``<eos>`` and immediate repeats
masked before step ``max_len`` (:func:`fix_output_length`, two fills per step): every beam search decodes
exactly ``max_len`` tokens (the JSON's ``setup.output_tokens`` shows the lengths). The
script sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set (see ``bench/vocoder_speed.py``). JSON:
``{"rtf": {NAME: {"1": x, "all": y[, "cuda": z]}}, "cpu": MODEL NAME, "params": {...}, "setup": {...}}``::

    python bench/asr_speed.py --quick --json out.json      # one 5 s utterance; seconds on 2 cores
    python bench/asr_speed.py --json out.json               # 5 utterances of 5 s
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

import torch  # noqa: E402

from speechtools.device import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
CONFIGS = {"small": "ctc_attention_small.yaml", "paper": "ctc_attention.yaml"}
SEARCHES = {"greedy": (1, 1.0), "beam10": (10, 0.3)}  # name -> (beam size, CTC weight)
HOP, RATE, VOCAB = 256, 22050, 32


def build_recognizer(config: str) -> torch.nn.Module:
    """The recogniser of ``conf/asr/<config>`` through the construction rule (32 units, 80 mel bins), eval mode."""
    from speechtools.models import MODELS
    from speechtools.models.task_info import FixedSizes
    from speechtools.train.experiment import load_experiment

    experiment = load_experiment(ROOT / "conf" / "asr" / config)
    torch.manual_seed(0)
    return MODELS.build(experiment.model, experiment.model_conf, FixedSizes(vocab_size=VOCAB, n_mels=80)).eval()


def random_mels(count: int, seconds: float) -> List[torch.Tensor]:
    """Random normalised log-mels ``(1, frames, 80)`` of ``seconds`` of audio each."""
    g = torch.Generator().manual_seed(0)
    frames = int(seconds * RATE / HOP)
    return [torch.randn(1, frames, 80, generator=g) for _ in range(count)]


def fix_output_length(model: torch.nn.Module, max_len: int) -> None:
    """Make the attention decoder give ``<eos>`` and a repeat of the previous token log-probability
    −∞ before step ``max_len`` (benchmark only): with ``end_detect=False`` every beam search then
    runs exactly ``max_len`` + 1 steps and returns ``max_len`` tokens. (Untrained weights repeat one
    token; CTC needs a blank frame between repeats, so 30 repeats do not fit 42 encoder frames and
    every hypothesis would die.) Two in-place fills per step; the arithmetic is otherwise the model's."""
    step, eos = model.step, model.conf.sos_eos_id

    def masked_step(tokens: torch.Tensor, state: Dict) -> torch.Tensor:
        early = int(state["step"]) < max_len
        logp = step(tokens, state)
        if early:
            logp[:, eos] = float("-inf")
            logp.scatter_(1, tokens[:, None], float("-inf"))
        return logp

    model.step = masked_step  # type: ignore[method-assign]


def runner(model: torch.nn.Module, beam: int, ctc_weight: float, max_len: int) -> Callable[[torch.Tensor], List[List[int]]]:
    def run(mel: torch.Tensor) -> List[List[int]]:
        lengths = torch.tensor([mel.size(1)], device=mel.device)
        return model.recognize(mel, lengths, beam_size=beam, ctc_weight=ctc_weight, max_len=max_len, end_detect=False)

    return run


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_runs(run: Callable[[torch.Tensor], List[List[int]]], mels: Sequence[torch.Tensor], device: torch.device) -> Tuple[float, List[int]]:
    """Seconds to decode ``mels`` (after a warm-up on a short piece) and the output lengths."""
    with torch.inference_mode():
        run(mels[0][:, :32].to(device))
        _sync(device)
        lengths = []
        start = time.perf_counter()
        for mel in mels:
            lengths.append(len(run(mel.to(device))[0]))
        _sync(device)
        return time.perf_counter() - start, lengths


def run_benchmark(quick: bool, seconds: Optional[float] = None, count: Optional[int] = None, chars_per_second: float = 15.0,
                  progress: Callable[[str], None] = print) -> Dict:
    """Measure every configuration and search; returns the JSON structure."""
    seconds = seconds or 5.0
    mels = random_mels(count or (1 if quick else 5), seconds)
    audio = seconds * len(mels)
    max_len = max(1, round(chars_per_second * seconds))
    settings: List[Tuple[str, torch.device, int]] = [("1", torch.device("cpu"), 1), ("all", torch.device("cpu"), os.cpu_count() or 1)]
    if torch.cuda.is_available():
        settings.append(("cuda", torch.device("cuda"), os.cpu_count() or 1))
    models = {prefix: build_recognizer(config) for prefix, config in CONFIGS.items()}
    for model in models.values():
        fix_output_length(model, max_len)
    result: Dict = {"rtf": {}, "cpu": cpu_name(), "params": {p: sum(x.numel() for x in m.parameters()) for p, m in models.items()}}
    output_tokens: Dict[str, List[int]] = {}
    threads = torch.get_num_threads()
    try:
        for key, device, n_threads in settings:
            torch.set_num_threads(n_threads)
            for prefix, model in models.items():
                model.to(device)
                for search, (beam, weight) in SEARCHES.items():
                    name = f"{prefix}_{search}"
                    elapsed, lengths = time_runs(runner(model, beam, weight, max_len), mels, device)
                    result["rtf"].setdefault(name, {})[key] = elapsed / audio
                    output_tokens[name] = lengths
                    progress(f"{name:14s} {key:>4s}: RTF {elapsed / audio:.3f}")
                model.to("cpu")
    finally:
        torch.set_num_threads(threads)
    result["setup"] = {"audio_seconds": audio, "utterances": len(mels), "seconds_per_utterance": seconds,
                       "frames_per_utterance": mels[0].size(1), "max_len": max_len, "end_detect": False,
                       "output_tokens": output_tokens, "vocab_size": VOCAB, "quick": quick, "cpu_threads_all": os.cpu_count(),
                       "torch": torch.__version__, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    return result


def table(result: Dict) -> str:
    """Markdown: RTF per configuration/search and setting."""
    keys = list(next(iter(result["rtf"].values())).keys())
    labels = {"1": "CPU 1 thread", "all": f"CPU {result['setup']['cpu_threads_all']} threads", "cuda": "GPU"}
    lines = ["| recogniser | " + " | ".join(f"RTF {labels[k]}" for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, values in result["rtf"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[k]:.3f}" if k in values else "–" for k in keys) + " |")
    setup = result["setup"]
    lines.append("")
    lines.append(f"CPU: {result['cpu']}; audio: {setup['audio_seconds']:.2f} s ({setup['utterances']} × {setup['frames_per_utterance']} frames); "
                 f"beam search: exactly {setup['max_len']} output tokens (<eos> and repeats masked before, end detection off); parameters: "
                 + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in result["params"].items()))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tts_efficient import report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one utterance instead of 5 (seconds on 2 cores)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of audio per utterance (default 5)")
    parser.add_argument("--utterances", type=int, default=None, help="number of utterances (default 5, quick 1)")
    parser.add_argument("--chars-per-second", type=float, default=15.0, help="output tokens of the beam search per second of audio")
    args = parser.parse_args(argv)
    result = run_benchmark(args.quick, args.seconds, args.utterances, args.chars_per_second, progress=lambda s: print(s, file=sys.stderr))
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
