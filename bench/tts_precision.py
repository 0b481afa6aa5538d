"""FastSpeech 2 on CPU in fp32 (plain, with the CPU fast path) and in bf16: speed and mel error, in one run.

A side experiment for ``bench/README.md`` (bf16 is not used by ``speechtools synth``): FastSpeech 2
at its paper configuration (``conf/tts/fastspeech2.yaml``, untrained weights, seed 0), batch 1,
1 thread, on the first ``--sentences`` benchmark sentences with the frame counts of
``bench/tts_speed.py``, four variants timed sentence by sentence in turn:

* ``fp32_plain``: the plain PyTorch model (the reference of the errors);
* ``fp32_fast_path``: the same weights with :func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`;
* ``bf16_autocast``: the plain model under ``torch.autocast("cpu", dtype=torch.bfloat16)``;
* ``bf16_weights``: the plain model converted to bf16 (``model.to(torch.bfloat16)``).

Errors are the max and mean absolute difference of ``mel_post`` from ``fp32_plain`` over all
frames, next to the mean absolute mel value (the scale).

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python bench/tts_precision.py [--sentences 40] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tts_efficient import HOP, SAMPLE_RATE, build, frames_per_token, inputs, report, sentences  # noqa: E402

Generate = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def variants() -> Dict[str, Generate]:
    """The four ways of generating a mel (see the module docstring); each returns fp32 ``mel_post``."""
    plain = build("fastspeech2", fast_path=False)
    fast = build("fastspeech2", fast_path=True)
    bf16 = build("fastspeech2", fast_path=False).to(torch.bfloat16)

    def autocast(ids: torch.Tensor, lengths: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return plain(ids, lengths, durations=d)["mel_post"].float()

    return {
        "fp32_plain": lambda ids, lengths, d: plain(ids, lengths, durations=d)["mel_post"],
        "fp32_fast_path": lambda ids, lengths, d: fast(ids, lengths, durations=d)["mel_post"],
        "bf16_autocast": autocast,
        "bf16_weights": lambda ids, lengths, d: bf16(ids, lengths, durations=d)["mel_post"].float(),
    }


def run_benchmark(n_sentences: int) -> Dict:
    rate = frames_per_token()
    lengths = [(len(p), max(1, round(len(p) * rate))) for p in sentences(n_sentences)]
    runs = variants()
    seconds = dict.fromkeys(runs, 0.0)
    max_err = dict.fromkeys(runs, 0.0)
    sum_err = dict.fromkeys(runs, 0.0)
    values = scale = 0.0
    cpu = torch.device("cpu")
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for run in runs.values():
                run(*inputs(7, 41, cpu))
            for n_tok, n_frames in lengths:
                batch = inputs(n_tok, n_frames, cpu)
                mels = {}
                for name, run in runs.items():
                    start = time.perf_counter()
                    mels[name] = run(*batch)
                    seconds[name] += time.perf_counter() - start
                reference = mels["fp32_plain"]
                for name, mel in mels.items():
                    diff = (mel - reference).abs()
                    max_err[name] = max(max_err[name], float(diff.max()))
                    sum_err[name] += float(diff.sum())
                values += reference.numel()
                scale += float(reference.abs().sum())
    finally:
        torch.set_num_threads(saved)
    audio = sum(f for _, f in lengths) * HOP / SAMPLE_RATE
    return {
        "variants": {name: {"ms_per_sentence": seconds[name] / len(lengths) * 1e3, "rtf": seconds[name] / audio,
                            "speedup_over_fp32_plain": seconds["fp32_plain"] / seconds[name],
                            "max_abs_mel_error": max_err[name], "mean_abs_mel_error": sum_err[name] / values} for name in runs},
        "mean_abs_mel": scale / values,
        "setup": {"sentences": len(lengths), "threads": 1, "torch": torch.__version__},
    }


def table(result: Dict) -> str:
    lines = ["| variant | ms/sentence | vs fp32 plain | max abs mel error | mean abs mel error |", "|---|---:|---:|---:|---:|"]
    for name, r in result["variants"].items():
        lines.append(f"| {name} | {r['ms_per_sentence']:.1f} | {r['speedup_over_fp32_plain']:.2f}x | "
                     f"{r['max_abs_mel_error']:.1e} | {r['mean_abs_mel_error']:.1e} |")
    return "\n".join(lines) + f"\n\nmean |mel| of fp32_plain: {result['mean_abs_mel']:.3f}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=40, help="how many benchmark sentences (default 40)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    result = run_benchmark(args.sentences)
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
