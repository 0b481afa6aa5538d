"""Duration error of a trained FastSpeech 2 family model directory on held-out sentences, per speaker.

The measurement AdaSpeech 3's mixture-of-experts duration predictor is judged by here (docs/tts.md,
AdaSpeech 3): run it on a plain model (``adaptor.duration.kind: plain``) and on a ``moe`` model trained
on the same data, over the same held-out data directory (with ``utt2spk`` and ``durations``) and its
feature store. The durations are predicted from the text alone, as in synthesis, except that models
with an utterance-level acoustic encoder (AdaSpeech) get the utterance's own mel as the reference clip
and their phoneme-level vectors come from the predictor. Reported per speaker and overall: the MSE of
``log(d + 1)`` per token (the training loss), the mean absolute error in frames per token after
rounding (what synthesis uses), and, for a ``moe`` model, the mean gate weights.

    python bench/duration_error.py --model-dir exp/adaspeech3 --data data/eval --feats dump/eval [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import torch

from speechtools.data.kaldi import read_table
from speechtools.fileio import atomic_write
from speechtools.train.model_dir import load_model_dir


def measure(model_dir: str, data: str, feats: str, batch_size: int = 16) -> Dict[str, Dict[str, object]]:
    """Per-speaker (and ``all``) duration errors of ``model_dir`` on ``data`` (module docstring)."""
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
                for key in (utt2spk.get(uttid, "?"), "all"):
                    acc = sums[key]
                    acc["tokens"] += n  # type: ignore[operator]
                    acc["utts"] += 1  # type: ignore[operator]
                    acc["log_se"] += float(((pred - torch.log(target + 1.0)) ** 2).sum())  # type: ignore[operator]
                    acc["frame_ae"] += float((frames - target).abs().sum())  # type: ignore[operator]
                    if "duration_gate" in out:
                        gate = out["duration_gate"][b].float()
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


def main(argv: List[str] = None) -> None:  # type: ignore[assignment]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--data", required=True, help="held-out Kaldi data dir with utt2spk and durations")
    parser.add_argument("--feats", required=True, help="its feature store (dump/<set>)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = measure(args.model_dir, args.data, args.feats, args.batch_size)
    for key, row in report.items():
        print(key, " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
