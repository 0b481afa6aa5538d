"""Size and CPU latency of LightSpeech architectures across the search space, measured as the NAS measures them.

The authors' searched architecture (``2 7 4 3 5 6 3 4``), the smallest one (all identity) and
``--random`` architectures drawn uniformly from the search space (seed 0), each built as the
standalone LightSpeech of the string at the supernet config's widths (default
``conf/tts/lightspeech_supernet.yaml``: the paper's, 76-phone vocabulary, 80 mel bins, untrained
weights: speed does not depend on them) and measured by :class:`speechtools.nas.cost.CostMeter`:
parameters, MACs of the median sentence (:func:`speechtools.nn.macs.count_macs`, as
``bench/tts_speed.py``), and mean ms per sentence at batch 1 with the CPU fast path, the fastest of
``--repeats`` passes over the benchmark sentences of ``bench/tts_efficient.py`` (LJSpeech texts,
durations at the mini corpus's frames-per-token rate), at ``--threads``. This is where a latency
limit for ``speechtools nas search`` falls among the architectures of the space on this CPU.

    OMP_NUM_THREADS=1 python bench/nas_cost.py [--quick] [--json OUT]

JSON: ``{"cpu", "threads", "sentences", "archs": {ARCH: {"params", "macs", "latency_ms", "rtf", "kind"}}, "authors_rank"}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
AUTHORS = "2 7 4 3 5 6 3 4"


def run_benchmark(config: Path, n_sentences: int, n_random: int, threads: int, repeats: int) -> Dict:
    """Measure the architectures of the module docstring; the JSON structure above."""
    from tts_efficient import HOP, N_MELS, PAPER_VOCAB, SAMPLE_RATE, frames_per_token, inputs, sentences

    from speechtools.device import cpu_name
    from speechtools.models import MODELS
    from speechtools.models.task_info import FixedSizes
    from speechtools.nas.cost import CostMeter
    from speechtools.nn.search_space import OPERATIONS, arch_from_ids, canonical_arch
    from speechtools.train.experiment import load_experiment

    experiment = load_experiment(config)
    torch.manual_seed(0)
    supernet = MODELS.build(experiment.model, experiment.model_conf, FixedSizes(vocab_size=PAPER_VOCAB, n_mels=N_MELS)).eval()
    rate = frames_per_token()
    cpu = torch.device("cpu")
    timed = []
    for phones in sentences(n_sentences):
        ids, _, durations = inputs(len(phones), max(1, round(len(phones) * rate)), cpu)
        timed.append((ids[0], durations[0]))
    meter = CostMeter(supernet, FixedSizes(vocab_size=PAPER_VOCAB, n_mels=N_MELS), timed, threads=threads, repeats=repeats)
    layers = supernet.n_layers
    rng = np.random.default_rng(0)
    archs = {canonical_arch(AUTHORS): "authors", arch_from_ids([max(OPERATIONS)] * layers): "smallest"}
    while len(archs) < 2 + n_random:
        archs.setdefault(arch_from_ids(rng.integers(1, len(OPERATIONS) + 1, size=layers).tolist()), "random")
    seconds_per_sentence = sum(float(d.sum()) for _, d in timed) * HOP / SAMPLE_RATE / len(timed)
    result: Dict = {"cpu": cpu_name(), "threads": threads, "sentences": len(timed), "repeats": repeats, "archs": {}}
    for arch, kind in archs.items():
        cost = meter.cost(arch)
        result["archs"][arch] = {"kind": kind, "params": cost.params, "macs": cost.macs, "latency_ms": cost.latency_ms,
                                 "rtf": cost.latency_ms / 1e3 / seconds_per_sentence}
        print(f"{kind:8s} {arch}: {cost.latency_ms:.2f} ms", file=sys.stderr)
    random = [v["latency_ms"] for v in result["archs"].values() if v["kind"] == "random"]
    authors = result["archs"][canonical_arch(AUTHORS)]["latency_ms"]
    result["random_faster_than_authors"] = sum(1 for x in random if x < authors)
    result["random"] = len(random)
    return result


def table(result: Dict) -> str:
    """Markdown table, fastest first."""
    lines = [f"CPU {result['cpu']}, {result['threads']} thread(s), {result['sentences']} sentences, fastest of {result['repeats']} passes",
             "", "| architecture | kind | params | MACs (median sentence) | ms/sentence | RTF |", "|---|---|---:|---:|---:|---:|"]
    for arch, v in sorted(result["archs"].items(), key=lambda kv: kv[1]["latency_ms"]):
        lines.append(f"| `{arch}` | {v['kind']} | {v['params'] / 1e6:.2f}M | {v['macs'] / 1e9:.2f}G | {v['latency_ms']:.2f} | {v['rtf']:.2e} |")
    lines += ["", f"random architectures faster than the authors': {result['random_faster_than_authors']} of {result['random']}"]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 sentences and 4 random architectures instead of 100 and 16")
    parser.add_argument("--config", type=Path, default=ROOT / "conf" / "tts" / "lightspeech_supernet.yaml")
    parser.add_argument("--random", type=int, default=None, help="random architectures (default 16, quick 4)")
    parser.add_argument("--sentences", type=int, default=None, help="sentences timed (default 100, quick 10)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    from tts_efficient import report

    n_sentences = args.sentences or (10 if args.quick else 100)
    n_random = args.random if args.random is not None else (4 if args.quick else 16)
    result = run_benchmark(args.config, n_sentences, n_random, args.threads, args.repeats)
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
