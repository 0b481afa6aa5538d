"""Duration error of a trained FastSpeech 2 family model directory on held-out sentences, per speaker.

The measurement AdaSpeech 3's mixture-of-experts duration predictor is judged by here (docs/tts.md,
AdaSpeech 3): run it on a plain model (``adaptor.duration.kind: plain``) and on a ``moe`` model trained
on the same data, over the same held-out data directory (with ``utt2spk`` and ``durations``) and its
feature store. The durations are predicted from the text alone, as in synthesis, except that models
with an utterance-level acoustic encoder (AdaSpeech) get the utterance's own mel as the reference clip
and their phoneme-level vectors come from the predictor. Reported per speaker and overall: the MSE of
``log(d + 1)`` per token (the training loss), the mean absolute error in frames per token after
rounding (what synthesis uses), and, for a ``moe`` model, the mean gate weights. Given two models
(``--model-dir A=DIR --model-dir B=DIR``) it adds, per speaker, the paired-bootstrap probability that
the second has a lower frame error than the first (Bisani & Ney 2004, resampling utterances:
:func:`speechtools.scoring.bootstrap.bootstrap_compare`).

    python bench/duration_error.py --model-dir exp/adaspeech3 --data data/eval --feats dump/eval [--json OUT]
    python bench/duration_error.py --model-dir plain=exp/duration_plain --model-dir moe=exp/duration_moe \
        --data data/duration_eval --feats dump/duration_eval --json OUT.json --markdown OUT.md
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

import torch

from speechtools.data.kaldi import read_table
from speechtools.fileio import atomic_write
from speechtools.scoring.bootstrap import bootstrap_compare
from speechtools.scoring.report import markdown_table
from speechtools.train.model_dir import load_model_dir


def measure(model_dir: str, data: str, feats: str, batch_size: int = 16,
            per_utterance: Optional[Dict[str, int]] = None) -> Dict[str, Dict[str, object]]:
    """Per-speaker (and ``all``) duration errors of ``model_dir`` on ``data`` (module docstring);
    ``per_utterance``, when given, receives each utterance's summed absolute frame error."""
    loaded = load_model_dir(model_dir, "cpu")
    dataset = loaded.task.dataset(data, feats)  # type: ignore[attr-defined]
    utt2spk = read_table(Path(data) / "utt2spk")
    sums: Dict[str, Dict[str, object]] = defaultdict(lambda: {"tokens": 0, "log_se": 0.0, "frame_ae": 0.0, "gate": None, "utts": 0})
    model = loaded.model
    with torch.inference_mode():
        for start in range(0, len(dataset), batch_size):
            batch = loaded.task.collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            inputs = {k: batch[k] for k in ("speakers", "speaker_vectors") if k in batch}
            if getattr(model, "accepts_reference_mel", False):
                inputs.update(reference_mel=batch["mel"], reference_mel_lengths=batch["mel_lengths"])
            out = model(batch["tokens"], batch["token_lengths"], **inputs)
            for b, uttid in enumerate(batch["uttids"]):
                n = int(batch["token_lengths"][b])
                target = batch["durations"][b, :n].float()
                pred = out["log_duration_pred"][b, :n].float()
                frames = out["durations"][b, :n].float()
                frame_ae = int((frames - target).abs().sum())  # integer frames: rounded predictions, integer targets
                log_se = float(((pred - torch.log(target + 1.0)) ** 2).sum())
                gate = out["duration_gate"][b].float() if "duration_gate" in out else None
                if per_utterance is not None:
                    per_utterance[uttid] = frame_ae
                for key in (utt2spk.get(uttid, "?"), "all"):
                    acc = sums[key]
                    acc["tokens"] += n  # type: ignore[operator]
                    acc["utts"] += 1  # type: ignore[operator]
                    acc["log_se"] += log_se  # type: ignore[operator]
                    acc["frame_ae"] += frame_ae  # type: ignore[operator]
                    if gate is not None:
                        acc["gate"] = gate if acc["gate"] is None else acc["gate"] + gate  # type: ignore[operator]
    report: Dict[str, Dict[str, object]] = {}
    for key, acc in sorted(sums.items()):
        row: Dict[str, object] = {"utterances": acc["utts"], "tokens": acc["tokens"],
                                  "log_duration_mse": acc["log_se"] / max(acc["tokens"], 1),  # type: ignore[operator]
                                  "frames_mae": acc["frame_ae"] / max(acc["tokens"], 1)}  # type: ignore[operator]
        if acc["gate"] is not None:
            row["mean_gate"] = [round(float(g) / acc["utts"], 4) for g in acc["gate"]]  # type: ignore[union-attr, operator]
        report[key] = row
    return report


def improvement_probability(first: Dict[str, int], second: Dict[str, int], utt2spk: Dict[str, str],
                            replications: int = 10000) -> Dict[str, float]:
    """Per speaker (and ``all``): the paired-bootstrap probability (percent) that ``second``'s summed
    frame error over resampled utterances is below ``first``'s (:func:`bootstrap_compare`)."""
    groups: Dict[str, List[str]] = defaultdict(list)
    for uttid in sorted(first):
        if uttid in second:
            groups[utt2spk.get(uttid, "?")].append(uttid)
            groups["all"].append(uttid)
    return {spk: round(bootstrap_compare([first[u] for u in ids], [second[u] for u in ids], replications), 1)
            for spk, ids in sorted(groups.items())}


def comparison_table(reports: Dict[str, Dict[str, Dict[str, object]]],
                     improvement: Optional[Dict[str, float]] = None) -> str:
    """Markdown: one row per speaker (and ``all``), each model's frames MAE and log-duration MSE side by
    side (and, for two models, the probability that the second is better: :func:`improvement_probability`)."""
    names = list(reports)
    speakers = sorted({k for r in reports.values() for k in r if k != "all"}) + ["all"]
    headers = ["speaker", "utterances", "tokens"]
    headers += [f"{n} frames MAE" for n in names] + [f"{n} log-duration MSE" for n in names]
    headers += [f"{n} mean gate" for n in names if any("mean_gate" in row for row in reports[n].values())]
    if improvement is not None:
        headers.append(f"P({names[1]} frames MAE < {names[0]}) %")
    rows = []
    for spk in speakers:
        first = reports[names[0]].get(spk, {})
        row: List[object] = [spk, first.get("utterances", 0), first.get("tokens", 0)]
        row += [f"{reports[n][spk]['frames_mae']:.3f}" if spk in reports[n] else "–" for n in names]
        row += [f"{reports[n][spk]['log_duration_mse']:.4f}" if spk in reports[n] else "–" for n in names]
        row += [", ".join(f"{g:.2f}" for g in reports[n][spk]["mean_gate"]) if spk in reports[n] else "–"  # type: ignore[union-attr]
                for n in names if any("mean_gate" in r for r in reports[n].values())]
        if improvement is not None:
            row.append(f"{improvement[spk]:.1f}" if spk in improvement else "–")
        rows.append(row)
    return markdown_table(headers, rows)


def main(argv: List[str] = None) -> None:  # type: ignore[assignment]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, action="append",
                        help="DIR or NAME=DIR; repeat to compare models on the same data (e.g. plain=exp/a --model-dir moe=exp/b)")
    parser.add_argument("--data", required=True, help="held-out Kaldi data dir with utt2spk and durations")
    parser.add_argument("--feats", required=True, help="its feature store (dump/<set>)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", default=None, help="also write the report here ({NAME: report} with several models)")
    parser.add_argument("--markdown", default=None, help="also write the side-by-side Markdown table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = dict(m.split("=", 1) if "=" in m else (Path(m).name, m) for m in args.model_dir)
    errors: Dict[str, Dict[str, int]] = {name: {} for name in models}
    reports = {name: measure(path, args.data, args.feats, args.batch_size, errors[name]) for name, path in models.items()}
    improvement = None
    if len(models) == 2:
        first, second = models
        improvement = improvement_probability(errors[first], errors[second], read_table(Path(args.data) / "utt2spk"))
        for spk, value in improvement.items():  # the second model's rows: P(its frame error is lower), percent
            reports[second][spk][f"p_better_than_{first}"] = value
    for name, report in reports.items():
        for key, row in report.items():
            print(name, key, " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(reports if len(reports) > 1 else next(iter(reports.values())), handle, indent=2)
    if args.markdown:
        with atomic_write(args.markdown) as handle:
            handle.write(comparison_table(reports, improvement) + "\n")


if __name__ == "__main__":
    main()
