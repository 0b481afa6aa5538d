"""Real-time factor of the PriorGrad vocoder (T = 6, 12, 50) beside Griffin-Lim, alone and end to end in synthesis.

Measured in one run, on CPU with 1 thread and with all threads (and on GPU when one is present):

* **vocoder alone**: waveform time / audio seconds for natural-log mels of real speech (the first
  bundled LJSpeech mini-corpus clips, cut to ``--seconds`` each), batch 1, under
  ``torch.inference_mode()``: the PriorGrad vocoder at the paper configuration
  (``conf/vocoder/priorgrad_paper.yaml``, 2.62M parameters; names ``priorgrad_T6``,
  ``priorgrad_T12``, ``priorgrad_T50``) and at the CPU configuration (``priorgrad_cpu.yaml``,
  0.63M; ``priorgrad_cpu_T6`` ...), and Griffin-Lim as ``synth`` runs it (32 iterations,
  ``griffin_lim``);
* **end to end** (``synth_<vocoder>``): FastSpeech 2 at its paper configuration with the CPU fast
  path, as ``speechtools synth`` runs it on CPU, from phone ids (the first phones of the benchmark's
  LJSpeech sentences, durations spread to the same frame counts) to the mel, then the vocoder.
  ``--quick`` measures T = 6 end to end; the full run T = 6, 12 and 50.

Untrained (randomly initialised) weights: the arithmetic, and so the speed, does not depend on
them. The script sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set: on a shared machine, OpenMP
threads that spin at barriers while another process holds a core made the 2-thread runs 2.3x
slower than 1 thread (measured on the 2-core development machine under load); passive waiting
keeps "all threads" from collapsing below one thread. JSON: ``{"rtf": {NAME: {"1": x, "all": y[, "cuda": z]}}, "params": {...}, "setup": {...}}``::

    python bench/vocoder_speed.py --quick --json out.json      # 0.5 s of audio; under 3 minutes on 2 cores
    python bench/vocoder_speed.py --json out.json               # 3 clips of 2 s
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see the module docstring)

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
CONFIGS = {"priorgrad": "priorgrad_paper.yaml", "priorgrad_cpu": "priorgrad_cpu.yaml"}
STEPS = (6, 12, 50)


def build_vocoder(config: str) -> torch.nn.Module:
    """The vocoder of ``conf/vocoder/<config>`` through the construction rule (80 mel bins, hop 256), eval mode."""
    from speechtools.models import MODELS
    from speechtools.models.task_info import FixedSizes
    from speechtools.train.experiment import load_experiment

    experiment = load_experiment(ROOT / "conf" / "vocoder" / config)
    torch.manual_seed(0)
    return MODELS.build(experiment.model, experiment.model_conf, FixedSizes(vocab_size=1)).eval()


def real_mels(count: int, seconds: float) -> List[torch.Tensor]:
    """Natural-log mels ``(1, frames, 80)`` of the first ``count`` mini-corpus clips, ``seconds`` each (from 0.5 s in)."""
    import soundfile as sf

    from speechtools.audio.features import FeatureConfig, log_mel, num_frames

    cfg = FeatureConfig()
    clips = sorted((ROOT / "egs" / "ljspeech" / "mini_corpus" / "wavs").glob("*.flac"))[:count]
    mels = []
    for clip in clips:
        audio, rate = sf.read(clip, dtype="float32")
        assert rate == cfg.sample_rate, clip
        piece = audio[rate // 2: rate // 2 + int(seconds * rate)]
        mels.append(log_mel(torch.from_numpy(piece), cfg)[: num_frames(len(piece), cfg) - 1].unsqueeze(0))
    return mels


def vocoder_runners(models: Dict[str, torch.nn.Module], steps: Sequence[int]) -> Dict[str, Callable[[torch.Tensor], object]]:
    """``name -> f(log_mel (1, T, 80))`` for every vocoder of the benchmark (``models``: PriorGrad by config name)."""
    from speechtools.audio.features import FeatureConfig
    from speechtools.tts.vocoders import build_vocoder as build_registered

    def priorgrad(model: torch.nn.Module, n: int) -> Callable[[torch.Tensor], object]:
        return lambda mel: model.infer(mel, n)

    runners = {f"{prefix}_T{t}": priorgrad(model, t) for prefix, model in models.items() for t in steps}
    griffin_lim = build_registered("griffin-lim", FeatureConfig())
    runners["griffin_lim"] = lambda mel: griffin_lim(mel, torch.tensor([mel.size(1)], device=mel.device))
    return runners


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_runs(run: Callable[[torch.Tensor], object], mels: Sequence[torch.Tensor], device: torch.device) -> float:
    """Seconds to run ``run`` over ``mels`` (after a warm-up on a short piece), under inference mode."""
    with torch.inference_mode():
        run(mels[0][:, :8].to(device))
        _sync(device)
        start = time.perf_counter()
        for mel in mels:
            run(mel.to(device))
        _sync(device)
        return time.perf_counter() - start


def acoustic_inputs(frames: Sequence[int]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """Phone ids and durations for ``frames`` mel frames each: the first phones of the benchmark sentences."""
    from tts_efficient import frames_per_token, inputs, sentences

    rate = frames_per_token()
    phones = sentences(len(frames))
    out = []
    for n_frames, sentence in zip(frames, phones):
        tokens = max(1, min(len(sentence), round(n_frames / rate)))
        ids, _, durations = inputs(tokens, n_frames, torch.device("cpu"))
        out.append((ids, durations))
    return out


def synth_runner(acoustic: torch.nn.Module, vocode: Callable[[torch.Tensor], object]) -> Callable[[Tuple[torch.Tensor, torch.Tensor]], object]:
    """Phone ids → FastSpeech 2 → de-normalised mel → vocoder (``synth``'s steps, batch 1)."""

    def run(item: Tuple[torch.Tensor, torch.Tensor]) -> object:
        ids, durations = item
        device = next(acoustic.parameters()).device
        out = acoustic(ids.to(device), torch.tensor([ids.size(1)], device=device), durations=durations.to(device))
        return vocode(out["mel_post"])  # untrained: any values; the speed does not depend on them

    return run


def time_synth(run: Callable, items: Sequence[Tuple[torch.Tensor, torch.Tensor]], device: torch.device) -> float:
    with torch.inference_mode():
        ids, durations = items[0]
        run((ids[:, :2], torch.full((1, 2), 4, dtype=torch.long)))  # warm-up
        _sync(device)
        start = time.perf_counter()
        for item in items:
            run(item)
        _sync(device)
        return time.perf_counter() - start


def run_benchmark(quick: bool, seconds: Optional[float] = None, clips: Optional[int] = None,
                  progress: Callable[[str], None] = print, synth: bool = True) -> Dict[str, Dict]:
    """Measure every vocoder alone and end to end; returns the JSON structure."""
    from tts_efficient import build as build_acoustic

    seconds = seconds or (0.5 if quick else 2.0)
    mels = real_mels(clips or (1 if quick else 3), seconds)
    frames = [m.size(1) for m in mels]
    audio = sum(frames) * 256 / 22050
    settings: List[Tuple[str, torch.device, int]] = [("1", torch.device("cpu"), 1), ("all", torch.device("cpu"), os.cpu_count() or 1)]
    if torch.cuda.is_available():
        settings.append(("cuda", torch.device("cuda"), os.cpu_count() or 1))
    models = {prefix: build_vocoder(config) for prefix, config in CONFIGS.items()}
    runners = vocoder_runners(models, STEPS)
    synth_steps = (6,) if quick else STEPS
    result: Dict[str, Dict] = {"rtf": {}, "params": {p: sum(x.numel() for x in m.parameters()) for p, m in models.items()}}
    threads = torch.get_num_threads()
    try:
        for key, device, n_threads in settings:
            torch.set_num_threads(n_threads)
            for model in models.values():
                model.to(device)
            for name, run in runners.items():
                rtf = time_runs(run, mels, device) / audio
                result["rtf"].setdefault(name, {})[key] = rtf
                progress(f"{name:22s} {key:>4s}: RTF {rtf:.3f}")
            if not synth:
                continue
            acoustic = build_acoustic("fastspeech2", fast_path=device.type == "cpu").to(device)
            items = acoustic_inputs(frames)
            for name in ["griffin_lim"] + [f"{p}_T{t}" for p in CONFIGS for t in synth_steps]:
                rtf = time_synth(synth_runner(acoustic, runners[name]), items, device) / audio
                result["rtf"].setdefault(f"synth_{name}", {})[key] = rtf
                progress(f"synth_{name:16s} {key:>4s}: RTF {rtf:.3f}")
    finally:
        torch.set_num_threads(threads)
    result["setup"] = {"audio_seconds": audio, "clips": len(mels), "seconds_per_clip": seconds, "quick": quick,
                       "cpu_threads_all": os.cpu_count(), "torch": torch.__version__, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                       "acoustic_model": "fastspeech2 (conf/tts/fastspeech2.yaml), CPU fast path on CPU"}
    return result


def table(result: Dict[str, Dict]) -> str:
    """Markdown: RTF per vocoder and setting, and the speed-up of T = 6 over T = 50."""
    keys = list(next(iter(result["rtf"].values())).keys())
    labels = {"1": "CPU 1 thread", "all": f"CPU {result['setup']['cpu_threads_all']} threads", "cuda": "GPU"}
    lines = ["| vocoder | " + " | ".join(f"RTF {labels[k]}" for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, values in result["rtf"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[k]:.3f}" if k in values else "–" for k in keys) + " |")
    lines.append("")
    lines.append(f"audio: {result['setup']['audio_seconds']:.2f} s; parameters: "
                 + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in result["params"].items()))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tts_efficient import report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one clip of 0.5 s, end to end at T = 6 only (under 3 minutes on 2 cores)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per clip (default 2, quick 0.5)")
    parser.add_argument("--clips", type=int, default=None, help="number of clips (default 3, quick 1)")
    parser.add_argument("--no-synth", dest="synth", action="store_false", help="time the vocoders alone")
    args = parser.parse_args(argv)
    result = run_benchmark(args.quick, args.seconds, args.clips, progress=lambda s: print(s, file=sys.stderr), synth=args.synth)
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
