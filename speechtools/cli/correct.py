"""``speechtools correct`` (noise, align, vocab) and ``speechtools correct-asr``: ASR error correction."""

from __future__ import annotations

import re
from collections import Counter
from typing import List, Optional, Tuple, Union

import click
import numpy as np
from tqdm import tqdm

from speechtools.cli.options import FiniteRange, OUTPUT_FILE, device_option, transcript_options
from speechtools.errors import UserError
from speechtools.fileio import atomic_write, read_lines

LANG = click.Choice(["en", "zh"])
_KALDI_KEY = re.compile(r"^[\w\-.:/]*\d[\w\-.:/]*$")


@click.group("correct")
def correct() -> None:
    """ASR error-correction data tools (FastCorrect): noising, edit alignment, token lists.

    \b
    Examples:
      speechtools correct vocab --lang en data/pretrain.tsv data/train.tsv tokens.txt
      speechtools correct noise --lang en --seed 1 --epochs 4 text.txt pretrain.tsv
      speechtools correct align --lang en train.tsv train.werdur
    """


def _sentences(path: str) -> List[str]:
    return [line.strip() for _, line in read_lines(path) if line.strip()]


@correct.command("noise")
@click.option("--lang", type=LANG, required=True, help="en: words, CMUdict neighbours; zh: characters, pinyin homophones.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed; epoch e uses seed + e.")
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True, help="Noised copies of the corpus.")
@click.option("--ratio", type=FiniteRange(0, 1), default=0.15, show_default=True, help="Probability that a unit is noised.")
@click.option("--p-sub", type=FiniteRange(0, 1), default=0.8, show_default=True, help="Share of substitutions.")
@click.option("--p-ins-left", type=FiniteRange(0, 1), default=0.05, show_default=True, help="Share of insertions on the left.")
@click.option("--p-ins-right", type=FiniteRange(0, 1), default=0.05, show_default=True, help="Share of insertions on the right.")
@click.option("--p-del", type=FiniteRange(0, 1), default=0.1, show_default=True, help="Share of deletions.")
@click.option("--channel", "channel_path", type=click.Path(dir_okay=False), default=None,
              help="`hypothesis<TAB>reference` pairs of the target recogniser: noise like it errs "
                   "(per-unit error rates and realisations; --ratio is then unused).")
@click.option("--channel-prior", type=FiniteRange(0), default=5.0, show_default=True,
              help="Pseudo-count pulling rarely seen units to the global error rate and the uniform noise.")
@click.option("--n-best", type=click.IntRange(min=1), default=1, show_default=True,
              help="Noised candidates per sentence (FastCorrect 2 pre-training): `cand1 ||| cand2 ...<TAB>original`.")
@click.option("--n-best-noise", type=click.Choice(["independent", "correlated"]), default="independent", show_default=True,
              help="With --n-best: each candidate an independent draw of the noise, or beams that share their error "
                   "positions, the first the cleanest (the FastCorrect 2 reference's pseudo n-best).")
@click.argument("input_path", metavar="IN")
@click.argument("output_path", metavar="OUT", type=OUTPUT_FILE)
def noise(lang: str, seed: int, epochs: int, ratio: float, p_sub: float, p_ins_left: float, p_ins_right: float,
          p_del: float, channel_path: Optional[str], channel_prior: float, n_best: int, n_best_noise: str,
          input_path: str, output_path: str) -> None:
    """Write noised copies of IN (one sentence per line) as `noised<TAB>original` pairs to OUT.

    With --n-best N (FastCorrect 2 pre-training) each line holds N noised candidates joined by
    ` ||| `: independent draws, or with --n-best-noise correlated beams that share the positions
    of their errors, later beams noisier (the FastCorrect 2 reference's ``add_noise.py``).

    FastCorrect Sec. 3.3: each unit is noised with probability --ratio; substitutes come from a
    similar-pronunciation table over IN's vocabulary, rank-weighted. With --channel, each unit
    is noised at the rate and in the ways the recogniser of those pairs got it wrong, falling
    back to the uniform noise for units it rarely or never saw (speechtools.correction.error_channel).

    \b
    Examples:
      speechtools correct noise --lang zh --seed 3 --epochs 5 text.txt pretrain.tsv
      speechtools correct noise --lang en --channel data/train/pairs.tsv text.txt pretrain.tsv
    """
    from speechtools.correction.error_channel import ChannelNoiser, ErrorChannel
    from speechtools.correction.multi_alignment import CANDIDATE_NOISE, TSV_SEPARATOR
    from speechtools.correction.noising import NoiseConfig, Noiser
    from speechtools.correction.pairs import read_pairs
    from speechtools.correction.similar_pronunciation import build_table
    from speechtools.correction.tokenizer import join_words, split_words

    sentences = [split_words(s, lang) for s in _sentences(input_path)]
    if not sentences:
        raise UserError("no sentences to noise", input_path)
    counts = Counter(u for s in sentences for u in s)
    conf = NoiseConfig(ratio=ratio, p_sub=p_sub, p_ins_left=p_ins_left, p_ins_right=p_ins_right, p_del=p_del)
    uniform = Noiser(build_table(counts, lang), counts, conf)
    noiser: Union[Noiser, ChannelNoiser] = uniform
    if channel_path is not None and n_best > 1 and n_best_noise == "correlated":
        raise UserError("--n-best-noise correlated noises with the uniform noise; drop --channel or use independent")
    if channel_path is not None:
        pairs = [(split_words(h, lang), split_words(r, lang)) for h, r in read_pairs(channel_path)]
        channel = ErrorChannel.from_pairs(pairs, source=channel_path)
        noiser = ChannelNoiser(channel, uniform, prior=channel_prior)
    with atomic_write(output_path) as handle:
        bar = tqdm(total=epochs * len(sentences), desc="noise", unit="sent")
        for epoch in range(epochs):
            rng = np.random.default_rng(seed + epoch)
            for units in sentences:
                if n_best > 1:
                    candidates = CANDIDATE_NOISE[n_best_noise](units, noiser, rng, n_best)  # type: ignore[operator]
                    source = f" {TSV_SEPARATOR} ".join(join_words(c, lang) for c in candidates)
                else:
                    source = join_words(noiser.noise(units, rng), lang)
                handle.write(f"{source}\t{join_words(units, lang)}\n")
                bar.update(1)
        bar.close()


@correct.command("align")
@click.option("--lang", type=LANG, required=True, help="en: words; zh: characters.")
@click.option("--ngram", "ngram_path", default=None, help="Target n-gram counts (`tok1 tok2<TAB>count`) to break ties.")
@click.argument("pairs_path", metavar="PAIRS")
@click.argument("output_path", metavar="OUT", type=OUTPUT_FILE)
def align(lang: str, ngram_path: Optional[str], pairs_path: str, output_path: str) -> None:
    """Edit-align `source<TAB>target` PAIRS; write `tokens |||| signed durations` per pair.

    Durations follow FastCorrect Sec. 3.1: 0 delete, 1 keep/substitute, >=2 insertions; a
    duration is negative when the token does not map to exactly one identical target token
    (the reference `.werdur` format).

    \b
    Example:
      speechtools correct align --lang zh train.tsv train.src.werdur
    """
    from speechtools.correction.edit_alignment import NgramTable, align_durations, signed_durations
    from speechtools.correction.tokenizer import split_words

    pairs: List[Tuple[List[str], List[str]]] = []
    for number, line in read_lines(pairs_path):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise UserError(f"expected 'source<TAB>target', found {len(parts) - 1} tab(s)", pairs_path, number)
        src, tgt = split_words(parts[0], lang), split_words(parts[1], lang)
        if not src and tgt:
            raise UserError("empty source with a non-empty target cannot be aligned", pairs_path, number)
        pairs.append((src, tgt))
    table = None
    if ngram_path:
        counts = {}
        for number, line in read_lines(ngram_path):
            gram, sep, count = line.rpartition("\t")
            try:
                counts[tuple(gram.split())] = float(count)
            except ValueError:
                raise UserError("expected 'tok1 tok2<TAB>count'", ngram_path, number) from None
            if not sep or not gram.split():
                raise UserError("expected 'tok1 tok2<TAB>count'", ngram_path, number)
        table = NgramTable(counts)
    durations: List[List[int]] = []
    chunk = 4096
    for start in tqdm(range(0, len(pairs), chunk), desc="align", unit="chunk"):
        durations.extend(align_durations(pairs[start : start + chunk], table))
    with atomic_write(output_path) as handle:
        for (src, tgt), d in zip(pairs, durations):
            handle.write(f"{' '.join(src)} |||| {' '.join(str(x) for x in signed_durations(src, tgt, d))}\n")


@correct.command("vocab")
@click.option("--lang", type=LANG, required=True, help="en: words + character fallback pieces; zh: characters.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True, help="Minimum word count.")
@click.option("--max-words", type=click.IntRange(min=1), default=30000, show_default=True, help="Most frequent words kept.")
@click.argument("inputs", nargs=-1, required=True, metavar="TEXT_OR_PAIRS...")
@click.argument("output_path", metavar="TOKENS_TXT", type=OUTPUT_FILE)
def vocab(lang: str, min_count: int, max_words: int, inputs: Tuple[str, ...], output_path: str) -> None:
    """Build tokens.txt from sentence files or `source<TAB>target` pair files (all columns).

    \b
    Example:
      speechtools correct vocab --lang en pretrain.tsv finetune.tsv tokens.txt
    """
    from speechtools.correction.tokenizer import Tokenizer

    sentences = [col for path in inputs for _, line in read_lines(path) for col in line.split("\t") if col.strip()]
    if not sentences:
        raise UserError("no text in the inputs", inputs[0])
    Tokenizer.build(sentences, lang, min_count=min_count, max_words=max_words).save(output_path)


@correct.command("pairs")
@click.option("--lang", type=LANG, required=True, help="en: lower-case, strip punctuation; zh: strip punctuation and spaces.")
@click.option("--missing", type=click.Choice(["error", "empty"]), default="error", show_default=True,
              help="An utterance of REF without a hypothesis: stop, or pair it with an empty hypothesis.")
@click.option("--n-best", "n_best", is_flag=True,
              help="HYP holds n-best lists (as `correct-asr --n-best` reads them): OUT gets `cand1 ||| cand2 ...<TAB>ref`, "
                   "the n-best pairs FastCorrect 2 trains on (candidates normalised, empty and repeated ones dropped).")
@click.argument("ref_path", metavar="REF")
@click.argument("hyp_path", metavar="HYP")
@click.argument("output_path", metavar="OUT", type=OUTPUT_FILE)
def pairs(lang: str, missing: str, n_best: bool, ref_path: str, hyp_path: str, output_path: str) -> None:
    """Join Kaldi texts REF (`uttid reference`) and HYP (`uttid ASR output`) into `hyp<TAB>ref` pairs.

    Both sides are normalised the same way (see --lang); output follows REF's order. With
    --n-best, HYP holds n-best lists (`id<TAB>1-best<TAB>cand1 ||| cand2 ...` or Kaldi
    `<uttid>-<rank> words`) and the source side is the list's candidates, 1-best first.

    \b
    Example:
      speechtools correct pairs --lang zh data/train/text decode/train/text data/train/pairs.tsv
      speechtools correct pairs --lang en --n-best data/train/ref data/train/nbest.tsv data/train/nbest_pairs.tsv
    """
    from speechtools.correction.multi_alignment import TSV_SEPARATOR, read_nbest
    from speechtools.correction.tokenizer import normalize_en, normalize_zh

    norm = normalize_en if lang == "en" else normalize_zh
    hyps = {}
    if n_best:
        for key, cands in read_nbest(hyp_path).items():
            hyps[key] = f" {TSV_SEPARATOR} ".join(c for c in dict.fromkeys(norm(c) for c in cands) if c)
    else:
        for _, line in read_lines(hyp_path):
            parts = line.split(maxsplit=1)
            if parts:
                hyps[parts[0]] = norm(parts[1] if len(parts) > 1 else "")
    rows: List[str] = []
    for number, line in read_lines(ref_path):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        if parts[0] not in hyps and missing == "error":
            raise UserError(f"utterance {parts[0]} has no hypothesis in {hyp_path}", ref_path, number)
        rows.append(f"{hyps.get(parts[0], '')}\t{norm(parts[1] if len(parts) > 1 else '')}")
    if not rows:
        raise UserError("no utterances", ref_path)
    with atomic_write(output_path) as handle:
        handle.write("\n".join(rows) + "\n")


def _is_kaldi(lines: List[str]) -> bool:
    keys = [line.split(maxsplit=1)[0] for line in lines if line.strip()]
    return bool(keys) and len(set(keys)) == len(keys) and all(_KALDI_KEY.match(k) for k in keys)


@click.command("correct-asr")
@click.option("--model-dir", required=True, help="Trained corrector (FastCorrect or AR) model directory.")
@click.option("--format", "fmt", type=click.Choice(["auto", "kaldi", "plain"]), default="auto", show_default=True,
              help="kaldi: `uttid words...`; plain: one sentence per line; auto: kaldi when every first field is a unique id containing a digit.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Sentences per batch.")
@click.option("--beam-size", type=click.IntRange(min=1), default=None, help="AR beam width (default: the model's task_conf.beam_size).")
@click.option("--edit-threshold", type=FiniteRange(0, 1), default=None,
              help="FastCorrect: copy tokens whose edit probability is below this (default: the model's setting; 0 = off).")
@click.option("--copy-oov-words/--edit-oov-words", default=None,
              help="FastCorrect: copy words outside the vocabulary unchanged, or let the model edit their character pieces (default: the model's setting, normally copy).")
@click.option("--n-best", is_flag=True,
              help="IN holds n-best lists: `id<TAB>1-best<TAB>cand1 ||| cand2 ...` (asr_hyp.tsv) or Kaldi `<uttid>-<rank> words`; "
                   "OUT is Kaldi `id text`, one line per utterance in input order (FastCorrect 2 chooses among the candidates; "
                   "a single-candidate corrector corrects the 1-best).")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.argument("input_path", metavar="IN")
@click.argument("output_path", metavar="OUT", type=OUTPUT_FILE)
def correct_asr(model_dir: str, fmt: str, batch_size: int, beam_size: Optional[int], edit_threshold: Optional[float],
                copy_oov_words: Optional[bool], n_best: bool, device: str, quiet: bool, input_path: str, output_path: str) -> None:
    """Correct ASR hypotheses IN and write OUT (same number of lines, same ids).

    Empty lines and unknown tokens pass through unchanged; so do FastCorrect's words outside
    its vocabulary unless --edit-oov-words. With --n-best, IN holds n-best lists (see the
    option); a blank or malformed line stops with an error naming it and writes nothing.

    \b
    Example:
      speechtools correct-asr --model-dir exp/fastcorrect decode/text decode/text.corrected
      speechtools correct-asr --model-dir exp/fastcorrect2 --n-best asr_hyp.tsv decode/text.corrected
    """
    from speechtools.correction.inference import Corrector

    if n_best:
        _correct_nbest(model_dir, batch_size, beam_size, edit_threshold, copy_oov_words, device, quiet, input_path, output_path)
        return
    lines = [line for _, line in read_lines(input_path)]
    kaldi = fmt == "kaldi" or (fmt == "auto" and _is_kaldi(lines))
    keys: List[Optional[str]] = []
    texts: List[str] = []
    for line in lines:
        if kaldi and line.strip():
            parts = line.split(maxsplit=1)
            keys.append(parts[0])
            texts.append(parts[1] if len(parts) > 1 else "")
        else:
            keys.append(None)
            texts.append(line)
    corrector = Corrector.from_model_dir(model_dir, device, beam_size, edit_threshold, copy_oov_words)
    corrected = corrector.correct(texts, batch_size=batch_size, progress=not quiet)
    with atomic_write(output_path) as handle:
        for key, text, original in zip(keys, corrected, texts):
            if key is None:
                handle.write((text if original.strip() else original) + "\n")
            else:
                handle.write(f"{key} {text}".rstrip() + "\n")


def _correct_nbest(model_dir: str, batch_size: int, beam_size: Optional[int], edit_threshold: Optional[float],
                   copy_oov_words: Optional[bool], device: str, quiet: bool, input_path: str, output_path: str) -> None:
    """``correct-asr --n-best``: read n-best lists, correct, write Kaldi ``id text`` (atomically, all or nothing)."""
    from speechtools.correction.inference import Corrector
    from speechtools.correction.multi_alignment import read_nbest

    for number, line in read_lines(input_path):
        if not line.strip():
            raise UserError("blank line: every line of n-best input starts with an utterance id", input_path, number)
    nbest = read_nbest(input_path)  # malformed lines: a UserError naming the line
    if not nbest:
        raise UserError("no utterances", input_path)
    corrector = Corrector.from_model_dir(model_dir, device, beam_size, edit_threshold, copy_oov_words)
    corrected = corrector.correct_nbest(list(nbest.values()), batch_size=batch_size, progress=not quiet)
    with atomic_write(output_path) as handle:
        for key, text in zip(nbest, corrected):
            handle.write(f"{key} {text}".rstrip() + "\n")


@correct.command("choose-gate")
@click.option("--model-dir", required=True, help="Trained corrector model directory.")
@click.option("--threshold", type=FiniteRange(0, 1), default=None, help="Use this edit threshold (no search).")
@click.option("--grid", default="", help='Thresholds to try on --src/--ref, e.g. "0 0.5 0.7 0.9" (lowest WER wins, ties: the first).')
@click.option("--src", "src_path", type=click.Path(dir_okay=False), help="Development-set ASR hypotheses (Kaldi text).")
@click.option("--ref", "ref_path", type=click.Path(dir_okay=False), help="Their reference transcripts.")
@transcript_options
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Sentences per batch.")
@click.option("--json", "json_out", type=OUTPUT_FILE, help="Write the WER of every threshold tried as JSON.")
@click.option("--n-best", "n_best", is_flag=True,
              help="--src holds n-best lists (as `correct-asr --n-best` reads them): decode them as it does; "
                   "the 1-best of each list is the source the WER is compared with. --format is then --ref's.")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def choose_gate(model_dir: str, threshold: Optional[float], grid: str, src_path: Optional[str], ref_path: Optional[str],
                fmt: str, cer: bool, ignore_case: bool, remove_punct: bool, batch_size: int, json_out: Optional[str],
                n_best: bool, device: str, quiet: bool) -> None:
    """Print the edit-gate threshold to decode MODEL_DIR with (nothing for a corrector without an edit gate).

    --threshold is printed as given; otherwise every value of --grid decodes --src and is scored
    against --ref (WER, or CER with --cer) and the best is printed. The recipes' decoding stage
    asks this for each model, so it never branches on a model's name. With --n-best, --src
    holds n-best lists and the dev set is decoded from them (FastCorrect 2).

    \b
    Example:
      speechtools correct choose-gate --model-dir exp/fastcorrect --grid "0 0.5 0.7 0.9" --src data/dev/hyp --ref data/dev/ref
      speechtools correct choose-gate --model-dir exp/fastcorrect2 --grid "0 0.9" --n-best --src data/dev/nbest.tsv --ref data/dev/ref
    """
    import json

    from speechtools.correction.inference import Corrector
    from speechtools.scoring.correction_metrics import correction_metrics
    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.text_formats import normalized_transcripts, read_transcripts

    values = [float(v) for v in grid.split()] if threshold is None else [threshold]
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise click.BadParameter(f"thresholds must lie in [0, 1], got {grid!r}", param_hint="--grid")
    corrector = Corrector.from_model_dir(model_dir, device)
    if not getattr(corrector.model, "has_edit_gate", False):
        click.echo(f"{model_dir}: this corrector has no edit gate", err=True)
        return
    if threshold is not None or not values:
        if values:
            click.echo(f"{values[0]:g}")
        return
    if not src_path or not ref_path:
        raise click.UsageError("--grid needs --src and --ref (the development set to choose on)")
    norm = Normalizer(ignore_case=ignore_case, remove_punct=remove_punct, cer=cer)
    ref = normalized_transcripts(ref_path, fmt, norm)
    if n_best:
        from speechtools.correction.multi_alignment import read_nbest

        lists = read_nbest(src_path)
        missing = [u for u in ref if u not in lists]
        if missing:
            raise UserError(f"no n-best list for reference utterance {missing[0]!r} ({len(missing)} missing)", src_path)
        ids = list(lists)
        src = {u: norm(lists[u][0]) for u in ids}
    else:
        source = read_transcripts(src_path, fmt).text
        src = normalized_transcripts(src_path, fmt, norm, expect=ref)
        ids = list(source)
    unit = "CER" if cer else "WER"
    results = {}
    for value in values:
        corrector.edit_threshold = value
        if n_best:
            corrected = corrector.correct_nbest([lists[u] for u in ids], batch_size=batch_size, progress=not quiet)
        else:
            corrected = corrector.correct([source[u] for u in ids], batch_size=batch_size, progress=not quiet)
        hyp = {u: norm(text) for u, text in zip(ids, corrected)}
        results[f"{value:g}"] = correction_metrics(src, hyp, ref)["wer_after"]
        click.echo(f"edit threshold {value:g}: dev {unit} {results[f'{value:g}']:.2f}", err=True)
    best = min(results, key=lambda k: (results[k], list(results).index(k)))
    if json_out is not None:
        with atomic_write(json_out) as handle:
            json.dump({"unit": unit, "wer": results, "chosen": float(best)}, handle, indent=2)
            handle.write("\n")
    click.echo(best)
