#!/usr/bin/env python3
"""Why does a FastCorrect 2 model choose the candidate it does? A teacher-forced check on n-best pairs.

For every list of PAIRS (`cand1 ||| cand2 ...<TAB>reference`, e.g. data/dev/nbest_pairs.tsv), aligned
and padded to the model's n as in training, it computes per candidate:
  * the decoder's mean NLL of the reference given that candidate's edit-alignment durations
    (what the candidate-score head is trained to predict; it needs the reference);
  * the head's predicted score;
  * the decoder's confidence in its own free-running output (predicted durations, no edit gate):
    the mean over output positions of the largest log-probability (needs no reference);
  * the candidate's token errors against the reference (edit distance over the model's tokens,
    `<void>` removed; so the rate differs from the word error rate).
It prints the token error rate when each list is resolved by: the 1-best, the lowest decoder NLL,
the lowest predicted score, the highest confidence, and the fewest errors (the oracle); Kendall's tau within each list
(head vs NLL, NLL vs errors), averaged over the lists where it is defined; and how often each rank
is chosen. `--json` writes the same numbers.

  python local/candidate_choice.py --model-dir exp/fastcorrect2 --pairs data/dev/nbest_pairs.tsv
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Dict, List

import editdistance
import numpy as np
import torch
import torch.nn.functional as F

from speechtools.fileio import atomic_write
from speechtools.models.fastcorrect import inference_durations
from speechtools.nas.predictor import kendall_tau
from speechtools.train.model_dir import load_model_dir


def _confidence(model: torch.nn.Module, src: torch.Tensor, src_lengths: torch.Tensor, enc: torch.Tensor, pad: torch.Tensor,
                pred_dur: torch.Tensor, edit: torch.Tensor) -> torch.Tensor:
    """Per candidate row ``(B·n,)``: the mean over the free-running output's positions of the
    largest log-probability (predicted durations, no edit gate), as ``FastCorrect2.infer`` decodes."""
    n = src.size(1)
    pad_n = pad.repeat_interleave(n, dim=0)
    durations, _ = inference_durations(pred_dur, edit, pad_n, src_lengths.repeat_interleave(n), None, None)
    out = model.decode_candidates(src, enc, pad, durations, pred_dur, edit)
    best = F.log_softmax(out.logits.float(), dim=-1).max(dim=-1).values
    valid = torch.arange(best.size(1))[None, :] < out.lengths[:, None]
    return (best * valid).sum(1) / valid.sum(1).clamp(min=1)


def choice_report(model_dir: str, pairs: str, batch_size: int = 32) -> Dict[str, object]:
    """The numbers of the module docstring for the model in ``model_dir`` on ``pairs``."""
    loaded = load_model_dir(model_dir, "cpu")
    model, task = loaded.model.eval(), loaded.task
    task.conf.tokens = f"{model_dir}/tokens.txt"
    task.conf.valid = pairs
    data = task.valid_dataset()
    pad, void = model.conf.pad_id, task.tokenizer.vocab.index["<void>"]
    nll_rows: List[np.ndarray] = []
    score_rows: List[np.ndarray] = []
    confidence_rows: List[np.ndarray] = []
    error_rows: List[np.ndarray] = []
    words: List[int] = []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            batch = task.collate([data[k] for k in range(start, min(start + batch_size, len(data)))])
            src, target = batch["src"], batch["target"]
            b, n, _ = src.shape
            enc, pad_mask, pred_dur, edit, scores = model._predict(src, batch["src_lengths"])
            forced = model.decode_candidates(src, enc, pad_mask, batch["durations"].reshape(b * n, -1), pred_dur, edit)
            nll_rows.append(model.candidate_nll(forced.logits, target).numpy())
            score_rows.append(scores.float().numpy())
            confidence_rows.append(_confidence(model, src, batch["src_lengths"], enc, pad_mask, pred_dur, edit).view(b, n).numpy())
            for i in range(b):
                ref = [t for t in target[i].tolist() if t != pad]
                words.append(len(ref))
                error_rows.append(np.array([editdistance.eval([t for t in src[i, k].tolist() if t not in (pad, void)], ref)
                                            for k in range(n)], dtype=np.float64))
    nll, scores, errors = np.concatenate(nll_rows), np.concatenate(score_rows), np.stack(error_rows)
    confidence = np.concatenate(confidence_rows)
    total = float(sum(words))
    lists = np.arange(len(errors))

    def rate(choice: np.ndarray) -> float:
        return round(100.0 * float(errors[lists, choice].sum()) / total, 2)

    def mean_tau(a: np.ndarray, b: np.ndarray) -> float:
        taus = [kendall_tau(a[i].tolist(), b[i].tolist()) for i in lists]
        taus = [t for t in taus if not math.isnan(t)]
        return round(float(np.mean(taus)), 3) if taus else float("nan")

    n = errors.shape[1]
    return {
        "lists": len(errors),
        "token_error_rate_by_rank": [rate(np.full(len(errors), k)) for k in range(n)],
        "token_error_rate": {"one_best": rate(np.zeros(len(errors), dtype=int)), "decoder_nll": rate(nll.argmin(1)),
                             "head": rate(scores.argmin(1)), "confidence": rate(confidence.argmax(1)),
                             "oracle": rate(errors.argmin(1))},
        "kendall_tau": {"head_vs_nll": mean_tau(scores, nll), "nll_vs_errors": mean_tau(nll, errors)},
        "chosen_rank": {"decoder_nll": np.bincount(nll.argmin(1), minlength=n).tolist(),
                        "head": np.bincount(scores.argmin(1), minlength=n).tolist(),
                        "confidence": np.bincount(confidence.argmax(1), minlength=n).tolist()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="a FastCorrect 2 model directory (exp/fastcorrect2)")
    parser.add_argument("--pairs", required=True, help="n-best pairs: `cand1 ||| cand2 ...<TAB>reference`")
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args()
    report = choice_report(args.model_dir, args.pairs)
    print(json.dumps(report, indent=1))
    if args.json:
        with atomic_write(args.json) as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
