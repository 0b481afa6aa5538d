"""DeepRapper generation speed on CPU: cached incremental sampling, with and without the rhyme
constraint, against recomputing the whole prefix at every token.

A randomly initialised model of each config (weights do not change the cost) over a vocabulary of
the 4,461 first CJK ideographs with pypinyin's finals (the size of the ci recipe's vocabulary).
For each config, in one process, fastest of ``--repeats`` runs:

* ``cached`` — :func:`speechtools.models.deeprapper_generate.generate_song` (keys/values cached,
  one position per step), the rhyme constraint on (count 1, α 0.95, bound 1.0);
* ``cached, no constraint`` — the same without the constraint (its cost: a class lookup and the
  boost per step);
* the model alone over a sequence of the same length: ``cached`` (one ``step`` per token) and
  ``recompute`` (one full forward over each prefix, what a model without a cache pays).

Reports tokens per second and the speed-up of the cache (model alone; end-to-end generation also
pays the per-token sampling in Python).

    OMP_NUM_THREADS=1 python bench/deeprapper_speed.py [--quick] [--json OUT]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List

import click
import torch

from speechtools.config import from_dict, load_config
from speechtools.fileio import atomic_write
from speechtools.models.deeprapper import DeepRapper, DeepRapperConfig
from speechtools.models.deeprapper_generate import RhymeControl, SamplingConfig, generate_song
from speechtools.music.lyrics import SPECIALS, Line, LyricsVocab
from speechtools.music.rhyme import MANDARIN_CLASSES, MandarinFinals
from speechtools.text.tokens import TokenList

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 4461
PROMPT = "小院难图云雨期"
SCHEME = MandarinFinals()
"""One scheme for every run: its per-character cache is warm after the first (as in `music rap`)."""


def vocab() -> LyricsVocab:
    """Specials and the first CJK ideographs, Mandarin classes."""
    return LyricsVocab(TokenList(list(SPECIALS) + [chr(0x4E00 + k) for k in range(VOCAB)] + [c for c in PROMPT if ord(c) >= 0x4E00 + VOCAB]),
                       list(MANDARIN_CLASSES))


def model(config: str, words: LyricsVocab) -> DeepRapper:
    conf = from_dict(DeepRapperConfig, load_config(ROOT / "conf" / "music" / config)["model_conf"])
    conf.vocab_size, conf.rhyme_count, conf.dropout = len(words.tokens), words.rhyme_count, 0.0
    torch.manual_seed(0)
    return DeepRapper(conf).eval()


def time_generation(net: DeepRapper, words: LyricsVocab, lines: int, control: object, repeats: int) -> Dict[str, float]:
    """Fastest of ``repeats`` runs: seconds and generated tokens (lines of exactly 8 tokens: no early [SEP])."""
    prompt = [Line(list(PROMPT), [False] * len(PROMPT))]
    best, tokens = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        song = generate_song(net, words, SCHEME, prompt, lines, "none", True, SamplingConfig(top_k=8, max_line_tokens=8),
                             control, torch.Generator().manual_seed(1))  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
        tokens = sum(len(line.tokens) + 1 for line in song[1:])
    return {"seconds": best, "tokens": tokens}


@torch.inference_mode()
def time_model(net: DeepRapper, length: int, repeats: int) -> Dict[str, float]:
    """Model cost alone over one random sequence of ``length`` tokens, fastest of ``repeats``:
    ``cached`` = one :meth:`DeepRapper.step` per token; ``recompute`` = one full forward over each prefix."""
    g = torch.Generator().manual_seed(0)
    streams = {k: torch.zeros(1, length, dtype=torch.long) for k in ("tokens", "rhymes", "sentences", "positions", "beats")}
    streams["tokens"] = torch.randint(9, VOCAB, (1, length), generator=g)
    cached = recompute = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        state = net.init_state(1)
        for n in range(length):
            net.step(state=state, **{k: v[:, n: n + 1] for k, v in streams.items()})
        cached = min(cached, time.perf_counter() - begin)
        begin = time.perf_counter()
        for n in range(1, length + 1):
            net(**{k: v[:, :n] for k, v in streams.items()})
        recompute = min(recompute, time.perf_counter() - begin)
    return {"cached": cached, "recompute": recompute}


@click.command()
@click.option("--quick", is_flag=True, help="Tiny and small configs, 4 lines, 1 repeat (a smoke run).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write the results as JSON.")
def main(quick: bool, json_out: str) -> None:
    configs = ["deeprapper_tiny.yaml", "deeprapper_small.yaml"] + ([] if quick else ["deeprapper_cpu.yaml"])
    lines, repeats = (4, 1) if quick else (16, 3)
    words = vocab()
    rows: List[Dict[str, object]] = []
    for config in configs:
        net = model(config, words)
        time_generation(net, words, 1, RhymeControl(), 1)  # warm-up: the vocabulary's finals, first allocations
        constrained = time_generation(net, words, lines, RhymeControl(), repeats)
        free = time_generation(net, words, lines, None, repeats)
        length = min(net.conf.max_length, len(PROMPT) + 2 + int(free["tokens"]))
        alone = time_model(net, length, repeats)
        rows.append({"config": config, "threads": torch.get_num_threads(), "generated": free["tokens"], "length": length,
                     "generate_constraint_tok_s": constrained["tokens"] / constrained["seconds"],
                     "generate_tok_s": free["tokens"] / free["seconds"],
                     "model_cached_tok_s": length / alone["cached"], "model_recompute_tok_s": length / alone["recompute"],
                     "cache_speedup": alone["recompute"] / alone["cached"]})
    print("| config | threads | generated | generate + constraint (tok/s) | generate (tok/s) | sequence | model, cached (tok/s) "
          "| model, recompute (tok/s) | cache speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['threads']} | {r['generated']} | {r['generate_constraint_tok_s']:.0f} | {r['generate_tok_s']:.0f} | "
              f"{r['length']} | {r['model_cached_tok_s']:.0f} | {r['model_recompute_tok_s']:.0f} | {r['cache_speedup']:.2f}x |")
    if json_out:
        with atomic_write(json_out) as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
