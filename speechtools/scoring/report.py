"""Markdown tables, JSON reports, and the ``--details`` directory of ``score wer``."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tqdm import tqdm

from speechtools.errors import PathLike
from speechtools.fileio import atomic_dir, atomic_paths, atomic_write, write_lines
from speechtools.scoring.edit_distance import Op
from speechtools.scoring.wer import WerResult

EPS = "***"


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities (undefined metrics) as ``None`` and numpy scalars and arrays as Python values."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: PathLike, data: Any, indent: int = 2) -> None:
    """The one JSON writer of the score and midi commands: always valid JSON (an undefined value is ``null``), atomic."""
    with atomic_write(path) as handle:
        json.dump(json_ready(data), handle, indent=indent, allow_nan=False)
        handle.write("\n")


def write_markdown_and_json(lines: Sequence[str], data: Any, out_md: Optional[PathLike], json_out: Optional[PathLike]) -> None:
    """Write ``lines`` to ``out_md`` and ``data`` (:func:`write_json`) to ``json_out``, each if given, together or not at all."""
    targets = [(path, write) for path, write in ((out_md, lambda p: write_lines(p, lines)), (json_out, lambda p: write_json(p, data)))
               if path]
    with atomic_paths(*(path for path, _ in targets)) as temporary:
        for tmp, (_, write) in zip(temporary, targets):
            write(tmp)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (``|a|b|`` rows, numbers right-aligned)."""
    rows = [[str(c) for c in row] for row in rows]
    lines = ["|" + "|".join(headers) + "|", "|" + "|".join("---" if k == 0 else "---:" for k in range(len(headers))) + "|"]
    lines += ["|" + "|".join(row) + "|" for row in rows]
    return "\n".join(lines)


def espnet_summary_row(name: str, result: WerResult) -> List[object]:
    """``name, Snt, Wrd, Corr, Sub, Del, Ins, Err, S.Err`` (percent of Wrd, one decimal), as ESPnet."""
    n = result.n_ref
    corr = n - result.sub - result.dels

    def pct(x: int, d: int) -> str:
        return f"{100.0 * x / d:.1f}" if d else "nan"

    return [
        name,
        result.n_sent,
        n,
        pct(corr, n),
        pct(result.sub, n),
        pct(result.dels, n),
        pct(result.ins, n),
        pct(result.errors, n),
        pct(result.n_sent_err, result.n_sent),
    ]


SUMMARY_HEADERS = ("dataset", "Snt", "Wrd", "Corr", "Sub", "Del", "Ins", "Err", "S.Err")


def _columns(ops: List[Op]) -> Tuple[List[str], List[str], List[str]]:
    refs = [EPS if r is None else str(r) for _, r, _ in ops]
    hyps = [EPS if h is None else str(h) for _, _, h in ops]
    codes = [op for op, _, _ in ops]
    return refs, hyps, codes


def _pad_row(cells: List[str], widths: List[int]) -> str:
    return " ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()


def kaldi_per_utt_lines(utt: str, ops: List[Op]) -> List[str]:
    """Kaldi ``per_utt`` block: ``ref``/``hyp``/``op`` rows (columns padded) and ``#csid C S I D``."""
    refs, hyps, codes = _columns(ops)
    widths = [max(len(a), len(b), len(c)) for a, b, c in zip(refs, hyps, codes)]
    count = Counter(codes)
    return [
        f"{utt} ref  {_pad_row(refs, widths)}".rstrip(),
        f"{utt} hyp  {_pad_row(hyps, widths)}".rstrip(),
        f"{utt} op   {_pad_row(codes, widths)}".rstrip(),
        f"{utt} #csid {count['C']} {count['S']} {count['I']} {count['D']}",
    ]


def pralign_lines(utt: str, ops: List[Op]) -> List[str]:
    """sclite ``pralign`` block: ``id:``, ``Scores: (#C #S #D #I)``, ``REF:``, ``HYP:``, ``Eval:``."""
    refs, hyps, codes = _columns(ops)
    evals = ["" if c == "C" else c for c in codes]
    widths = [max(len(a), len(b), len(c)) for a, b, c in zip(refs, hyps, evals)]
    count = Counter(codes)
    return [
        f"id: ({utt})",
        f"Scores: (#C #S #D #I) {count['C']} {count['S']} {count['D']} {count['I']}",
        f"REF:  {_pad_row(refs, widths)}".rstrip(),
        f"HYP:  {_pad_row(hyps, widths)}".rstrip(),
        f"Eval: {_pad_row(evals, widths)}".rstrip(),
        "",
    ]


def confusion_counts(alignments: Iterable[List[Op]]) -> Dict[str, Counter]:
    """Counters of substitution ``(ref, hyp)`` pairs, deleted ref tokens and inserted hyp tokens."""
    out: Dict[str, Counter] = {"substitution": Counter(), "deletion": Counter(), "insertion": Counter()}
    for ops in alignments:
        for op, ref, hyp in ops:
            if op == "S":
                out["substitution"][(str(ref), str(hyp))] += 1
            elif op == "D":
                out["deletion"][(str(ref), EPS)] += 1
            elif op == "I":
                out["insertion"][(EPS, str(hyp))] += 1
    return out


def write_details(
    out_dir: PathLike,
    name: str,
    result: WerResult,
    alignments: List[List[Op]],
    top: int = 20,
) -> List[Path]:
    """Write ``wer``, ``per_utt``, ``pralign.txt``, ``utt_counts.tsv``, ``ops.tsv`` and ``summary.md``.

    The folder is written whole (:func:`speechtools.fileio.atomic_dir`): a killed or failed run
    leaves the previous complete folder, never new files beside old ones. Returns the paths written.
    """
    with atomic_dir(out_dir) as tmp:
        names = _write_detail_files(Path(tmp), name, result, alignments, top)
    return [Path(out_dir) / n for n in names]


def _write_detail_files(out: Path, name: str, result: WerResult, alignments: List[List[Op]], top: int) -> List[str]:
    written: List[str] = []

    def target(fname: str) -> Path:
        written.append(fname)
        return out / fname

    with atomic_write(target("wer")) as handle:
        handle.write("\n".join(result.kaldi_lines()) + "\n")
    items = list(zip(result.utt_ids, alignments))
    with atomic_write(target("per_utt")) as per_utt, atomic_write(target("pralign.txt")) as pra:
        for utt, ops in tqdm(items, desc="writing details", unit="utt", leave=False, disable=None):
            per_utt.write("\n".join(kaldi_per_utt_lines(utt, ops)) + "\n")
            pra.write("\n".join(pralign_lines(utt, ops)) + "\n")
    with atomic_write(target("utt_counts.tsv")) as handle:
        handle.write("utt\tn_ref\tcorr\tsub\tdel\tins\terr\n")
        for utt, (n_ref, ins, dels, sub) in zip(result.utt_ids, result.utt_counts.tolist()):
            handle.write(f"{utt}\t{n_ref}\t{n_ref - sub - dels}\t{sub}\t{dels}\t{ins}\t{ins + dels + sub}\n")
    confusions = confusion_counts(alignments)
    with atomic_write(target("ops.tsv")) as handle:
        handle.write("op\tref\thyp\tcount\n")
        for op, counter in confusions.items():
            for (ref, hyp), count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
                handle.write(f"{op}\t{ref}\t{hyp}\t{count}\n")
    parts = [f"# {result.unit} summary: {name}", "", markdown_table(SUMMARY_HEADERS, [espnet_summary_row(name, result)]), ""]
    parts += ["```", *result.kaldi_lines(), "```", ""]
    for op, counter in confusions.items():
        parts.append(f"## Most frequent {op}s")
        parts.append("")
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        parts.append(markdown_table(("ref", "hyp", "count"), [(r, h, c) for (r, h), c in ranked]))
        parts.append("")
    with atomic_write(target("summary.md")) as handle:
        handle.write("\n".join(parts))
    return written
