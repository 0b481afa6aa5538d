#!/usr/bin/env python3
"""Correction latency: FastCorrect and FastCorrect 2 (non-autoregressive) vs the AR Transformer corrector.

Reproduces the inference-speed comparison of FastCorrect (Leng et al. 2021, Table 3: 6-9x on
GPU, ~6-7x on CPU) at equal model sizes: both models use the paper configuration (6+6 layers,
d 512, 8 heads, FFN 2048) and the same vocabulary (``--vocab``: by default the Kathleen recipe's
6,084 tokens, built as its stage 3 does), and decode the 100 held-out Kathleen sentences
(pocketsphinx output shipped with ``egs/kathleen/fastcorrect``) one at a time (batch 1), under
``torch.inference_mode()``:

* FastCorrect: encoder + length predictor + one non-autoregressive decoder pass;
* AR: encoder + batched beam search (``--beam``, default 5) with a key/value cache;
* FastCorrect 2 (Leng et al. 2021b): the sentence's 4 pocketsphinx candidates (``asr_hyp.tsv``,
  brought to 4 and aligned as ``correct-asr --n-best`` does; the alignment is not timed), one
  encoder pass over the fused candidates, every candidate's predictors and decoder pass, and the
  choice of one (the paper reports it at about FastCorrect's latency, far below AR).

By default weights are random (``--fc-model-dir``/``--ar-model-dir`` load trained ones). Then
decoded lengths are forced to the reference length so both produce the same number of
tokens: FastCorrect gets the edit-alignment durations of (hypothesis, reference), FastCorrect 2
each candidate's durations to the reference (as in training), the AR beam search may only emit
``</s>`` after exactly that many tokens.

Settings: CPU with 1 thread, CPU with all threads, and CUDA when present. Each setting decodes two
sentences to warm up, then times every sentence in ``--repeats`` passes and keeps each sentence's
fastest time; ms/sentence is the mean of those, also per reference-length bucket (words).
Writes ``{"ms_per_sentence": {"fastcorrect": {"1": x, "all": y[, "cuda": z]}, "ar": {...},
"fastcorrect2": {...}}, "speedup": {"1": r, "all": r[, "cuda": r]}`` (AR over FastCorrect),
``"speedup_fastcorrect2": {...}`` (AR over FastCorrect 2), ``"fastcorrect2_over_fastcorrect": {...}``,
``"by_reference_words": {"1": {"<= 8": {...}}}, ...}``.
It also prints the speed-up a weight-traffic model predicts (:func:`weight_traffic_speedup`):
at batch 1 on CPU both models are bound by reading their weights, so the ratio follows from
the parameter counts and the number of output tokens, whatever the machine.
On a machine shared with other jobs, run it with ``OMP_WAIT_POLICY=PASSIVE``: with spinning
OpenMP threads the multi-thread setting measures contention, not the models.
Both models run with the CPU inference fast path (:func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`,
as ``speechtools correct-asr`` applies it on CPU); ``--no-cpu-fast-path`` times the plain PyTorch models.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speechtools.correction.edit_alignment import align_durations  # noqa: E402
from speechtools.correction.multi_alignment import VOID, parse_nbest_tsv  # noqa: E402
from speechtools.correction.tokenizer import Vocabulary  # noqa: E402
from speechtools.fileio import atomic_write  # noqa: E402
from speechtools.tasks.correction import build_nbest_items  # noqa: E402
from speechtools.correction.tokenizer import Tokenizer, normalize_en  # noqa: E402
from speechtools.models import MODELS  # noqa: E402
from speechtools.models.task_info import FixedSizes  # noqa: E402
from speechtools.nn.beam_search import beam_search  # noqa: E402
from speechtools.nn.cpu_fast_path import enable_cpu_fast_path  # noqa: E402

RECIPE = ROOT / "egs" / "kathleen" / "fastcorrect"


def held_out_pairs(vocab: str = "recipe") -> Tuple[List[Tuple[str, str]], List[str]]:
    """(hypothesis, reference) of the recipe's fixed test prompts, and the text to build the vocabulary from.

    ``vocab="recipe"``: what ``egs/kathleen/fastcorrect`` builds ``tokens.txt`` from (stage 3):
    the shipped LJSpeech pre-training sentences plus both sides of the training pairs (every
    prompt not in the test or dev list); with ``min_count=3`` that is the recipe's vocabulary.
    ``vocab="closed"``: all Kathleen text, test included, so every test word is one token.
    """
    test_ids = set((RECIPE / "local" / "test_ids.txt").read_text().split())
    dev_ids = set((RECIPE / "local" / "dev_ids.txt").read_text().split())
    refs = {}
    for line in (RECIPE / "corpus" / "text.psv").read_text(encoding="utf-8").splitlines():
        key, _, text = line.partition("|")
        refs[key] = normalize_en(text)
    hyps = {}
    for line in (RECIPE / "corpus" / "asr_hyp.tsv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        hyps[fields[0]] = normalize_en(fields[1])
    pairs = [(hyps[k], refs[k]) for k in sorted(test_ids) if hyps[k]]
    if vocab == "closed":
        return pairs, list(refs.values()) + list(hyps.values())
    with gzip.open(RECIPE / "corpus" / "ljspeech_LJ001-LJ040.txt.gz", "rt", encoding="utf-8") as f:
        vocab_text = [line.strip() for line in f if line.strip()]
    train = sorted(set(refs) - test_ids - dev_ids)
    vocab_text += [hyps[k] for k in train if hyps.get(k)] + [refs[k] for k in train]
    return pairs, vocab_text


def held_out_candidates() -> List[str]:
    """The n-best source field (candidates joined by ``|||``, normalised) of each pair of
    :func:`held_out_pairs`, in its order: pocketsphinx's 4-best from ``asr_hyp.tsv``."""
    test_ids = set((RECIPE / "local" / "test_ids.txt").read_text().split())
    lines = (RECIPE / "corpus" / "asr_hyp.tsv").read_text(encoding="utf-8").splitlines()
    nbest = {key: [c for c in (normalize_en(c) for c in cands) if c] for key, cands in parse_nbest_tsv(lines).items()}
    return [" ||| ".join(nbest[k]) for k in sorted(test_ids) if nbest[k]]


def with_void(tokenizer: Tokenizer) -> Tokenizer:
    """``tokenizer`` with FastCorrect 2's ``<void>`` appended (as the correction task does)."""
    if VOID in tokenizer.vocab:
        return tokenizer
    return Tokenizer(Vocabulary(tokenizer.vocab.tokens + [VOID]), tokenizer.lang)


def load_or_build(model_name: str, model_dir: Optional[str], tokenizer: Tokenizer, fast_path: bool = True) -> Tuple[torch.nn.Module, Tokenizer]:
    """The trained model of ``model_dir`` or a random paper-size one, with the CPU fast path if ``fast_path``."""
    if model_dir:
        from speechtools.train.model_dir import load_model_dir

        loaded = load_model_dir(model_dir, "cpu", cpu_fast_path=fast_path)
        return loaded.model, loaded.task.tokenizer  # type: ignore[attr-defined]
    vocab = tokenizer.vocab
    torch.manual_seed(0)
    sizes = FixedSizes(vocab_size=len(vocab), pad_id=vocab.pad, bos_id=vocab.bos, eos_id=vocab.eos)
    model = MODELS.build(model_name, MODELS.get(model_name).config(), sizes).eval()
    if fast_path:
        enable_cpu_fast_path(model)
    return model, tokenizer


def make_runners(fc: torch.nn.Module, ar: torch.nn.Module, fc2: torch.nn.Module, fc_tok: Tokenizer, ar_tok: Tokenizer,
                 fc2_tok: Tokenizer, pairs: List[Tuple[str, str]], candidates: List[str], beam: int, forced: bool,
                 device: torch.device) -> Dict[str, Callable[[int], None]]:
    fc_items, ar_items = [], []
    fc2_items = []
    for item in build_nbest_items(list(zip(candidates, (ref for _, ref in pairs))), fc2_tok, max_len=10_000,
                                  n=int(fc2.conf.n_candidates)):
        rows, _, durations, _ = item
        fc2_items.append((torch.tensor(rows, device=device).unsqueeze(0), torch.tensor([rows.shape[1]], device=device),
                          torch.tensor(durations, device=device).unsqueeze(0)))
    if len(fc2_items) != len(pairs):
        raise RuntimeError(f"{len(pairs) - len(fc2_items)} held-out n-best lists could not be aligned")
    for hyp, ref in pairs:
        src_t, ref_t = fc_tok.tokenize(hyp), fc_tok.tokenize(ref)
        dur = align_durations([(src_t, ref_t)])[0]
        fc_items.append((torch.tensor([fc_tok.vocab.ids(src_t)], device=device), torch.tensor([len(src_t)], device=device),
                         torch.tensor([dur], device=device)))
        a_src, a_ref = ar_tok.tokenize(hyp), ar_tok.tokenize(ref)
        ar_items.append((torch.tensor([ar_tok.vocab.ids(a_src)], device=device), torch.tensor([len(a_src)], device=device), len(a_ref)))

    def run_fc(k: int) -> None:
        src, lengths, durations = fc_items[k]
        if forced:
            fc(src, lengths, durations).logits.argmax(-1)
        else:
            fc.infer(src, lengths)

    def run_ar(k: int) -> None:
        src, lengths, n = ar_items[k]
        limit = torch.tensor([n], device=device)
        beam_search(ar, src, lengths, ar_tok.vocab.bos, ar_tok.vocab.eos, beam_size=beam,
                    max_lengths=limit if forced else None, min_lengths=limit if forced else None)

    def run_fc2(k: int) -> None:
        src, lengths, durations = fc2_items[k]
        if forced:
            out = fc2(src, lengths, durations)
            out.logits.argmax(-1)
            fc2.choose(out.durations, out.scores, torch.zeros(src.shape[0], src.shape[2], dtype=torch.bool, device=device))
        else:
            fc2.infer(src, lengths)

    return {"fastcorrect": run_fc, "ar": run_ar, "fastcorrect2": run_fc2}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def time_setting(runners: Dict[str, Callable[[int], None]], n: int, repeats: int, device: torch.device) -> Dict[str, List[float]]:
    """Milliseconds for each sentence, fastest of ``repeats`` passes, models interleaved per pass."""
    for run in runners.values():
        for k in range(min(n, 2)):
            run(k)
    best = {name: [float("inf")] * n for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            for k in range(n):
                sync(device)
                start = time.perf_counter()
                run(k)
                sync(device)
                best[name][k] = min(best[name][k], 1000.0 * (time.perf_counter() - start))
    return best


def weight_traffic_speedup(fc: torch.nn.Module, ar: torch.nn.Module, output_tokens: List[int]) -> float:
    """The speed-up predicted when both models are bound by reading their weights (batch 1 on CPU).

    FastCorrect reads each weight once per sentence (the tied embedding once, as the output
    projection). The AR model reads its encoder and the decoder's cross-attention key/value
    projections once per sentence, and the rest of the decoder plus the output projection once
    per decoding step: ``n + 1`` steps for ``n`` output tokens and ``</s>``, whatever the beam
    width. Ratio of the mean bytes read per sentence.
    """
    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    embedding = ar.encoder.embed.weight.numel()
    cross_kv = sum(count(layer.cross_attn.kv) for layer in ar.layers)
    once = count(ar.encoder) - embedding + cross_kv
    per_step = count(ar.layers) - cross_kv + embedding
    ar_mean = sum(once + (n + 1) * per_step for n in output_tokens) / max(len(output_tokens), 1)
    return ar_mean / count(fc)


def length_buckets(lengths: List[int], edges: Tuple[int, ...] = (8, 12)) -> List[Tuple[str, List[int]]]:
    """Sentence indices grouped by reference length in words: ``<= 8``, ``9-12``, ``> 12``."""
    bounds = [0, *edges, max(lengths + [edges[-1]]) + 1]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        members = [k for k, n in enumerate(lengths) if lo < n <= hi]
        label = f"<= {hi}" if lo == 0 else (f"> {lo}" if hi == bounds[-1] else f"{lo + 1}-{hi}")
        if members:
            out.append((label, members))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="One timed pass over the same 100 sentences (about 1 min on 2 idle cores).")
    parser.add_argument("--sentences", type=int, default=None, help="Held-out sentences to decode, the first N (default: all 100).")
    parser.add_argument("--repeats", type=int, default=None, help="Timed passes, fastest kept (default 3; quick 1).")
    parser.add_argument("--beam", type=int, default=5, help="AR beam size.")
    parser.add_argument("--fc-model-dir", default=None, help="Trained FastCorrect model directory (default: random paper-size weights).")
    parser.add_argument("--ar-model-dir", default=None, help="Trained AR model directory (default: random paper-size weights).")
    parser.add_argument("--fc2-model-dir", default=None, help="Trained FastCorrect 2 model directory (default: random paper-size weights).")
    parser.add_argument("--vocab", choices=("recipe", "closed"), default="recipe",
                        help="recipe: the Kathleen recipe's tokens.txt (6,084 tokens; 15%% of test words are out of "
                             "vocabulary and spelled in character pieces, 16.8 tokens per reference); closed: a "
                             "vocabulary of all Kathleen text, test included (every word one token, 8.7 per reference).")
    parser.add_argument("--json", default=None, help="Write results here (default bench/results/correction_latency.json).")
    parser.add_argument("--no-cpu-fast-path", dest="fast_path", action="store_false",
                        help="Time the plain PyTorch models (without speechtools.nn.cpu_fast_path).")
    args = parser.parse_args()
    n_sent = args.sentences or 100
    repeats = args.repeats or (1 if args.quick else 3)
    pairs, vocab_text = held_out_pairs(args.vocab)
    pairs = pairs[:n_sent]
    candidates = held_out_candidates()[:n_sent]
    tokenizer = Tokenizer.build(vocab_text, "en", min_count=3 if args.vocab == "recipe" else 1)
    fc, fc_tok = load_or_build("fastcorrect", args.fc_model_dir, tokenizer, args.fast_path)
    ar, ar_tok = load_or_build("transformer_corrector", args.ar_model_dir, tokenizer, args.fast_path)
    fc2, fc2_tok = load_or_build("fastcorrect2", args.fc2_model_dir, with_void(tokenizer), args.fast_path)
    models = {"fastcorrect": fc, "ar": ar, "fastcorrect2": fc2}
    forced = not (args.fc_model_dir and args.ar_model_dir and args.fc2_model_dir)
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    settings: List[Tuple[str, torch.device, int]] = [("1", torch.device("cpu"), 1), ("all", torch.device("cpu"), os.cpu_count() or 1)]
    if torch.cuda.is_available():
        settings.append(("cuda", torch.device("cuda"), os.cpu_count() or 1))
    ms: Dict[str, Dict[str, float]] = {name: {} for name in models}
    buckets = length_buckets([len(ref.split()) for _, ref in pairs])
    by_length: Dict[str, Dict[str, Dict[str, float]]] = {}
    output_tokens = [len(ar_tok.tokenize(ref)) for _, ref in pairs]
    predicted = {bucket: round(weight_traffic_speedup(fc, ar, [output_tokens[k] for k in members]), 2) for bucket, members in buckets}
    predicted["all"] = round(weight_traffic_speedup(fc, ar, output_tokens), 2)
    for label, device, threads in settings:
        torch.set_num_threads(threads)
        for model in models.values():
            model.to(device)
        runners = make_runners(fc, ar, fc2, fc_tok, ar_tok, fc2_tok, pairs, candidates, args.beam, forced, device)
        result = time_setting(runners, len(pairs), repeats, device)
        for name, values in result.items():
            ms[name][label] = round(sum(values) / len(values), 3)
        by_length[label] = {}
        for bucket, members in buckets:
            mean = {name: sum(result[name][k] for k in members) / len(members) for name in models}
            by_length[label][bucket] = {"sentences": len(members), **{name: round(v, 3) for name, v in mean.items()},
                                        "speedup": round(mean["ar"] / mean["fastcorrect"], 2),
                                        "speedup_fastcorrect2": round(mean["ar"] / mean["fastcorrect2"], 2),
                                        "weight_traffic_speedup": predicted[bucket]}

    def ratio(a: str, b: str) -> Dict[str, float]:
        return {label: round(ms[a][label] / ms[b][label], 2) for label in ms[a]}

    speedup = ratio("ar", "fastcorrect")
    report = {
        "ms_per_sentence": ms,
        "speedup": speedup,
        "speedup_fastcorrect2": ratio("ar", "fastcorrect2"),
        "fastcorrect2_over_fastcorrect": ratio("fastcorrect2", "fastcorrect"),
        "by_reference_words": by_length,
        "weight_traffic_speedup": predicted["all"],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "cpu_fast_path": args.fast_path,
        "sentences": len(pairs),
        "beam": args.beam,
        "candidates": int(fc2.conf.n_candidates),
        "vocab": f"{args.vocab} ({len(tokenizer.vocab)} tokens)",
        "output_tokens_per_sentence": round(sum(output_tokens) / max(len(output_tokens), 1), 2),
        "weights": "trained" if not forced else "random (paper size), lengths forced to the reference",
        "parameters": params,
        "threads_all": os.cpu_count(),
    }
    print(f"FastCorrect, FastCorrect 2 ({report['candidates']} candidates) and AR (beam {args.beam}), batch 1, "
          f"{len(pairs)} held-out Kathleen sentences, vocabulary {report['vocab']}, "
          f"{report['output_tokens_per_sentence']} output tokens per sentence, weights: {report['weights']}; parameters "
          f"FC {params['fastcorrect']:,} / FC2 {params['fastcorrect2']:,} / AR {params['ar']:,}; "
          f"CPU fast path {'on' if args.fast_path else 'off'}")
    print("| setting | FastCorrect ms/sent | FastCorrect 2 ms/sent | AR ms/sent | AR / FC | AR / FC2 | FC2 / FC | weight-traffic model (AR / FC) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in ms["ar"]:
        name = {"1": "CPU, 1 thread", "all": f"CPU, {os.cpu_count()} threads", "cuda": "GPU"}[label]
        print(f"| {name} | {ms['fastcorrect'][label]:.1f} | {ms['fastcorrect2'][label]:.1f} | {ms['ar'][label]:.1f} "
              f"| {speedup[label]:.2f}x | {report['speedup_fastcorrect2'][label]:.2f}x "
              f"| {report['fastcorrect2_over_fastcorrect'][label]:.2f}x | {predicted['all']:.2f}x |")
    print("\nBy reference length (words):")
    print("| setting | words | sentences | FastCorrect ms/sent | FastCorrect 2 ms/sent | AR ms/sent | AR / FC | AR / FC2 | weight-traffic model |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, rows in by_length.items():
        for bucket, row in rows.items():
            print(f"| {label} | {bucket} | {row['sentences']} | {row['fastcorrect']:.1f} | {row['fastcorrect2']:.1f} | {row['ar']:.1f} "
                  f"| {row['speedup']:.2f}x | {row['speedup_fastcorrect2']:.2f}x | {row['weight_traffic_speedup']:.2f}x |")
    out = Path(args.json) if args.json else ROOT / "bench" / "results" / "correction_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as handle:
        handle.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
