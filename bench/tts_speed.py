"""FastSpeech 2 model-only speed on CPU, side by side with ESPnet2's FastSpeech 2 at the same configuration.

Real-time factor = total model time / total audio seconds over a fixed set of 100 sentences
(``--quick``: the first 10), batch 1, under ``torch.inference_mode()``, on CPU with 1 thread
and with all threads. Configuration: the paper's (``conf/tts/fastspeech2.yaml``: 4 + 4 FFT
blocks, 256 hidden, 2 heads, FFN 1024 with kernels 9/1, variance predictors 2 x conv 256 k3,
no post-net), 76-token vocabulary, 80 mel bins, untrained weights (speed does not depend on them).

Both models get the same token sequences and the same durations (tokens x the frames-per-token
rate of the bundled LJSpeech mini corpus), so they generate exactly the same number of frames;
their duration, pitch and energy predictors still run. ESPnet2 (``espnet2.tts.fastspeech2``) is
built with the equivalent options (``conv1d-linear`` FFN = kernels 9/1, post-LN, no post-net,
pitch/energy embeddings of kernel 1) and run through its ``inference(use_teacher_forcing=True)``
(its end-of-sentence token gets 0 frames); it is skipped when ``espnet`` is not importable.
Ours runs as ``speechtools synth`` runs it on CPU, with the CPU inference fast path
(:func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`); ``fastspeech2_plain`` is the same
model (same weights) without it, plain PyTorch, timed in the same run.
Parameters and MACs (``torch.utils.flop_counter``; MACs = FLOPs / 2) are counted for the
median-length sentence.

Side by side in the same run, at their paper configurations (``bench/tts_efficient.py``):
Transformer TTS (autoregressive, cached keys/values, decoding until the reference length; the
first 20 sentences, ``--quick`` 2), FastSpeech and LightSpeech, with mel-generation latency per
sentence, speed-ups over Transformer TTS, and the FastSpeech 2 / LightSpeech parameter, MAC and
RTF ratios (JSON ``latency`` and ``ratios``).

    OMP_NUM_THREADS=1 python bench/tts_speed.py [--quick] [--json OUT]

JSON: ``{"rtf": {MODEL: {"1": x, "all": y}}, "params": {MODEL: n}, "macs": {MODEL: n}, ...}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
VOCAB = 76
N_MELS = 80
HOP, SAMPLE_RATE = 256, 22050
Runner = Callable[[torch.Tensor, torch.Tensor], int]
# Side by side with FastSpeech 2 at their paper configurations (bench/tts_efficient.py builds them).
EFFICIENT_MODELS = ("transformer_tts", "fastspeech", "fastspeech2_lightspeech_baseline", "lightspeech")


def build_ours(fast_path: bool = True) -> Tuple[torch.nn.Module, Runner]:
    """speechtools FastSpeech 2 at ``conf/tts/fastspeech2.yaml``; runner(ids, durations) -> frames.

    With ``fast_path`` the model gets :func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`, as
    ``speechtools synth`` on CPU does; ``fast_path=False`` is the plain PyTorch model (the same
    weights), to show what that path contributes.
    """
    from tts_efficient import build

    model = build("fastspeech2", fast_path=fast_path)

    def run(ids: torch.Tensor, durations: torch.Tensor) -> int:
        out = model(ids.unsqueeze(0), torch.tensor([ids.numel()]), durations=durations.unsqueeze(0))
        return int(out["mel_post"].shape[1])

    return model, run


def build_espnet() -> Optional[Tuple[torch.nn.Module, Runner]]:
    """ESPnet2 FastSpeech 2 at the same configuration, or None when espnet is not installed."""
    try:
        from espnet2.tts.fastspeech2 import FastSpeech2 as EspnetFastSpeech2
    except ImportError:
        return None
    torch.manual_seed(0)
    model = EspnetFastSpeech2(
        idim=VOCAB, odim=N_MELS, adim=256, aheads=2, elayers=4, eunits=1024, dlayers=4, dunits=1024,
        postnet_layers=0, positionwise_layer_type="conv1d-linear", positionwise_conv_kernel_size=9,
        use_scaled_pos_enc=False, use_batch_norm=False, encoder_normalize_before=False, decoder_normalize_before=False,
        duration_predictor_layers=2, duration_predictor_chans=256, duration_predictor_kernel_size=3,
        energy_predictor_layers=2, energy_predictor_chans=256, energy_predictor_kernel_size=3, energy_embed_kernel_size=1,
        pitch_predictor_layers=2, pitch_predictor_chans=256, pitch_predictor_kernel_size=3, pitch_embed_kernel_size=1,
        transformer_enc_dropout_rate=0.2, transformer_dec_dropout_rate=0.2,
    ).eval()

    def run(ids: torch.Tensor, durations: torch.Tensor) -> int:
        d = torch.cat([durations, durations.new_zeros(1)])
        zeros = torch.zeros(d.numel(), 1)
        out = model.inference(ids, durations=d, pitch=zeros, energy=zeros, use_teacher_forcing=True)
        return int(out["feat_gen"].shape[0])

    return model, run


def inputs(n_tok: int, n_frames: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Deterministic token ids and durations spread evenly to sum to ``n_frames``."""
    gen = torch.Generator().manual_seed(n_tok)
    ids = torch.randint(1, VOCAB - 1, (n_tok,), generator=gen)
    d = torch.full((n_tok,), n_frames // n_tok, dtype=torch.long)
    d[: n_frames - int(d.sum())] += 1
    return ids, d


def time_interleaved(runs: Dict[str, Runner], subsets: Dict[str, int], lengths: Sequence[Tuple[int, int]]) -> Dict[str, float]:
    """RTF of every model (total model seconds / total audio seconds), sentence by sentence in turn.

    Each model first generates a warm-up sentence of a length outside the set; then for every
    sentence each model runs once, in turn, so a change of machine load hits all models alike.
    Every sentence has a length the models have not seen before, as in real synthesis.
    ``subsets[name]`` is how many of the first sentences a model decodes.
    """
    totals = dict.fromkeys(runs, 0.0)
    with torch.inference_mode():
        for run in runs.values():
            run(*inputs(7, 41))
        for i, (n_tok, n_frames) in enumerate(lengths):
            ids, d = inputs(n_tok, n_frames)
            for name, run in runs.items():
                if i >= subsets[name]:
                    continue
                start = time.perf_counter()
                frames = run(ids, d)
                totals[name] += time.perf_counter() - start
                if frames != n_frames:
                    raise RuntimeError(f"{name}: generated {frames} frames, expected {n_frames}")
    return {name: totals[name] / (sum(f for _, f in lengths[: subsets[name]]) * HOP / SAMPLE_RATE) for name in runs}


def count_macs(run: Runner, n_tok: int, n_frames: int) -> int:
    """Multiply-accumulates of one sentence (:func:`speechtools.nn.macs.count_macs`: FLOPs of matmuls and convolutions / 2)."""
    from speechtools.nn.macs import count_macs as macs_of

    return macs_of(lambda: run(*inputs(n_tok, n_frames)))


def run_benchmark(quick: bool) -> Dict:
    """Measure every available model in one process; the JSON structure of the module docstring."""
    from tts_efficient import frames_per_token, sentences

    phones = sentences(10 if quick else 100)
    rate = frames_per_token()
    lengths: List[Tuple[int, int]] = [(len(p), max(1, round(len(p) * rate))) for p in phones]
    median = sorted(lengths, key=lambda x: x[1])[len(lengths) // 2]
    models = {"fastspeech2": build_ours(), "fastspeech2_plain": build_ours(fast_path=False)}
    espnet = build_espnet()
    if espnet is not None:
        models["espnet_fastspeech2"] = espnet
    from tts_efficient import ar_sentences, build_runner

    for name in EFFICIENT_MODELS:
        models[name] = build_runner(name)
    # The autoregressive model decodes the first few sentences only (it is ~100x slower).
    subsets = {name: ar_sentences(quick) if name == "transformer_tts" else len(lengths) for name in models}
    all_threads = os.cpu_count() or 1
    result: Dict = {"rtf": {}, "params": {}, "macs": {}, "latency": {}}
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        for name, (model, run) in models.items():
            result["params"][name] = sum(p.numel() for p in model.parameters())
            result["macs"][name] = count_macs(run, *median)
            result["rtf"][name] = {}
            result["latency"][name] = {}
        for key, threads in (("1", 1), ("all", all_threads)):
            torch.set_num_threads(threads)
            rtf = time_interleaved({name: run for name, (_, run) in models.items()}, subsets, lengths)
            for name, value in rtf.items():
                sents = lengths[: subsets[name]]
                result["rtf"][name][key] = value
                result["latency"][name][key] = value * sum(f for _, f in sents) * HOP / SAMPLE_RATE / len(sents)
                print(f"{name:20s} threads={key:>3s}  RTF {value:.3e}", file=sys.stderr)
    finally:
        torch.set_num_threads(saved)
    if "espnet_fastspeech2" in result["rtf"]:
        result["speedup_over_espnet"] = {
            k: result["rtf"]["espnet_fastspeech2"][k] / result["rtf"]["fastspeech2"][k] for k in result["rtf"]["fastspeech2"]
        }
        result["speedup_over_espnet_plain"] = {
            k: result["rtf"]["espnet_fastspeech2"][k] / result["rtf"]["fastspeech2_plain"][k] for k in result["rtf"]["fastspeech2"]
        }
    result["ratios"] = efficiency_ratios(result)
    result["setup"] = {"sentences": len(lengths), "ar_sentences": subsets["transformer_tts"], "frames_per_token": rate, "median": {"tokens": median[0], "frames": median[1]},
                       "threads_all": all_threads, "quick": quick, "torch": torch.__version__}
    return result


def efficiency_ratios(result: Dict) -> Dict[str, float]:
    """The papers' claims from this run: FastSpeech vs Transformer TTS, FastSpeech 2 vs LightSpeech."""
    from tts_efficient import ratios

    return ratios(result)


def efficiency_table(result: Dict) -> str:
    """Latency per sentence and speed-up over Transformer TTS; the papers' ratios next to ours."""
    base = result["rtf"]["transformer_tts"]
    lines = ["| model | ms/sentence 1 thread | ms/sentence all threads | speed-up vs Transformer TTS (1 / all) |",
             "|---|---:|---:|---:|"]
    for name in ("transformer_tts", "fastspeech", "fastspeech2", "fastspeech2_lightspeech_baseline", "lightspeech"):
        lat, r = result["latency"][name], result["rtf"][name]
        lines.append(f"| {name} | {lat['1'] * 1e3:.1f} | {lat['all'] * 1e3:.1f} | {base['1'] / r['1']:.1f}x / {base['all'] / r['all']:.1f}x |")
    ratios = result["ratios"]
    lines += ["", "| claim | paper | this run: LightSpeech paper's FS2 baseline | this run: FS2 paper config |", "|---|---|---:|---:|"]
    for label, key, paper in (("parameters", "params_{}_over_lightspeech", "15x"), ("MACs", "macs_{}_over_lightspeech", "16x"),
                              ("CPU RTF, 1 thread", "rtf_{}_over_lightspeech_1", "6.5x"), ("CPU RTF, all threads", "rtf_{}_over_lightspeech_all", "")):
        lines.append(f"| FastSpeech 2 / LightSpeech {label} | {paper} | {ratios[key.format('fs2_baseline')]:.1f}x | {ratios[key.format('fs2')]:.1f}x |")
    lines += [f"| Transformer TTS / FastSpeech mel generation, CPU 1 thread | 270x (GPU) | {ratios['rtf_transformer_tts_over_fastspeech_1']:.1f}x | |",
              f"| Transformer TTS / FastSpeech mel generation, CPU all threads | 270x (GPU) | {ratios['rtf_transformer_tts_over_fastspeech_all']:.1f}x | |"]
    return "\n".join(lines)


def table(result: Dict) -> str:
    """Markdown table of RTF, params and MACs, plus the speed-up over ESPnet."""
    lines = ["| model | params | MACs (median sentence) | RTF 1 thread | RTF all threads |", "|---|---:|---:|---:|---:|"]
    for name in result["rtf"]:
        r = result["rtf"][name]
        lines.append(f"| {name} | {result['params'][name] / 1e6:.2f} M | {result['macs'][name] / 1e9:.2f} G | {r['1']:.2e} | {r['all']:.2e} |")
    if "speedup_over_espnet" in result:
        s = result["speedup_over_espnet"]
        lines.append("")
        lines.append(f"speechtools vs ESPnet2 (RTF ratio): {s['1']:.2f}x (1 thread), {s['all']:.2f}x (all threads)")
        g = result["speedup_over_espnet_plain"]
        lines.append(f"  without the CPU fast path (plain PyTorch model): {g['1']:.2f}x (1 thread), {g['all']:.2f}x (all threads)")
    else:
        lines.append("")
        lines.append("espnet not importable: ESPnet2 column skipped (see bench/README.md to install it)")
    return "\n".join(lines) + "\n\n" + efficiency_table(result)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 sentences instead of 100")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    from tts_efficient import report

    result = run_benchmark(args.quick)
    return report(result, table(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
