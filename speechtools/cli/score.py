"""``speechtools score``: WER/CER, listening tests, correction metrics; other areas plug in lazily.

Subcommands defined elsewhere are listed in :data:`EXTERNAL` as ``"module:attribute"`` with a
one-line description; their modules are imported only when the subcommand runs, so a missing
module breaks only that subcommand (with a one-line error), never ``score --help``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, TypeVar

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, transcript_options
from speechtools.errors import UserError

if TYPE_CHECKING:
    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.wer import WerResult

EXTERNAL: Dict[str, Tuple[str, str]] = {
    "ranking": ("speechtools.cli.score_music:ranking", "Ranking metrics (MAP, HITS@k) of candidate groups from score files."),
    "classification": ("speechtools.cli.score_music:classification", "Music classification metrics (accuracy, F1)."),
    "tts": ("speechtools.cli.score_tts:tts", "TTS objective metrics: MCD and log-F0 RMSE against references (+ DNSMOS, ASR WER)."),
    "vocoder": ("speechtools.cli.score_eval:vocoder",
                "Vocoder copy-synthesis vs the recordings: MCD, PESQ, STOI, DNSMOS, ASR WER (extra eval)."),
    "naturalness": ("speechtools.cli.score_eval:naturalness", "DNSMOS P.808 / P.835 naturalness, no reference (extra eval)."),
    "similarity": ("speechtools.cli.score_eval:similarity",
                   "Speaker similarity: cosine of d-vectors, per utterance or to the speaker's centroid (extra eval)."),
    "attention": ("speechtools.cli.score_attention:attention",
                  "TTS attention quality: word coverage ratio (WCR) and attention diagonal ratio (ADR) (LRSpeech)."),
    "cost": ("speechtools.cli.score_cost:cost",
             "Size and CPU speed of trained acoustic models side by side: parameters, MACs, ms per sentence, RTF."),
    "compare": ("speechtools.cli.score_compare:compare",
                "Systems side by side from score reports (JSON), and head-to-heads: who is ahead on which metric."),
    "paired": ("speechtools.cli.score_paired:paired",
               "Paired bootstrap of two systems' difference per metric over utterances; a system may be several runs (seeds)."),
    "lyrics": ("speechtools.cli.score_lyrics:lyrics",
               "Lyrics: rhyme accuracy, rhyme density, Combo-N, distinct-n (+ perplexity under a DeepRapper model)."),
    "melody": ("speechtools.cli.score_music:melody", "SongMASS melody metrics: PD, DD and melody distance (DTW)."),
}


T = TypeVar("T")


def option_value(param: str, parse: Callable[[], T]) -> T:
    """``parse()``; a :class:`UserError` it raises is a usage mistake in ``param`` (one line, exit 2)."""
    try:
        return parse()
    except UserError as exc:
        message = exc.message.removeprefix(f"{param}: ").removeprefix(f"{param} ")
        raise click.BadParameter(message, param_hint=f"'{param}'") from None


class LazyScoreGroup(click.Group):
    """A Click group mixing local subcommands with lazily imported ones from :data:`EXTERNAL`."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(EXTERNAL) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in EXTERNAL:
            return None
        target, _ = EXTERNAL[cmd_name]
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise UserError(f"'score {cmd_name}' is not available: module {module_name} is not installed") from None
            raise
        command = getattr(module, attr, None)
        if command is None:
            raise UserError(f"'score {cmd_name}' is not available: {module_name} has no attribute {attr!r}")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=90)))
            else:
                rows.append((name, EXTERNAL[name][1]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyScoreGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def score() -> None:
    """Score recognisers, listening tests, correctors and music/TTS systems.

    \b
    Examples:
      speechtools score wer data/test/text exp/decode/text --details exp/decode/scoring
      speechtools score wer ref.trn hyp.trn --cer --bootstrap 10000 --compare hyp2.trn
      speechtools score mos sheet1.csv sheet2.tsv --json mos.json --plot mos.png
      speechtools score correction --src asr.txt --hyp corrected.txt --ref ref.txt
    """


@score.command("wer")
@click.argument("ref", type=click.Path(dir_okay=False))
@click.argument("hyp", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "kaldi", "trn"]), default="auto", show_default=True,
              help="Transcript format of REF and HYP: Kaldi text 'uttid w1 w2' or sclite 'w1 w2 (uttid)'.")
@click.option("--mode", type=click.Choice(["strict", "present", "all"]), default="strict", show_default=True,
              help="Kaldi compute-wer: strict = a missing hypothesis is an error; present = skip it; "
                   "all = score it as empty.")
@click.option("--cer", is_flag=True, help="Score characters: spaces removed first (AISHELL-1); <tags> and [tags] kept whole.")
@click.option("--ignore-case", is_flag=True, help="Case-fold before scoring.")
@click.option("--remove-punct", is_flag=True, help="Strip Unicode punctuation from tokens (tags kept).")
@click.option("--filter", "filters", multiple=True, metavar="TOKEN",
              help="Drop this token before scoring, e.g. --filter '<unk>' --filter '[noise]' (repeatable).")
@click.option("--filter-regex", metavar="REGEX", help="Drop tokens fully matching REGEX, e.g. '<.*>|\\[.*\\]'.")
@click.option("--details", "details_dir", type=OUTPUT_DIR,
              help="Write per-utterance alignments, counts, frequent errors and summary.md here.")
@click.option("--name", default=None, help="Row name in summary.md (default: HYP's parent directory / file name).")
@click.option("--bootstrap", "replications", type=click.IntRange(min=0), default=0,
              help="Bootstrap replications for a 95%% interval (Kaldi compute-wer-bootci uses 10000).")
@click.option("--compare", "hyp2", type=click.Path(dir_okay=False),
              help="Second hypothesis file: WERR %% of it over HYP, and (with --bootstrap) P(HYP2 better).")
@click.option("--seed", type=int, default=1, show_default=True, help="Bootstrap random seed.")
@click.option("--n-best", "n_best", is_flag=True,
              help="HYP holds n-best lists (`id<TAB>1-best<TAB>cand1 ||| cand2 ...` as asr_hyp.tsv, or Kaldi "
                   "`<uttid>-<rank> words`; auto-detected, 1-best first, repeats dropped): score the n-best oracle, "
                   "per utterance the candidate with the fewest errors (ties: the better-ranked). --format is REF's.")
@click.option("--max-candidates", type=click.IntRange(min=1), default=None,
              help="With --n-best: the oracle of the first K candidates of each list (default: all).")
@click.option("--oracle-text", "oracle_out", type=OUTPUT_FILE,
              help="With --n-best: write each utterance's chosen candidate as Kaldi text (`uttid words`), "
                   "e.g. to score the oracle with `score correction`.")
def wer_command(ref: str, hyp: str, fmt: str, mode: str, cer: bool, ignore_case: bool, remove_punct: bool,
                filters: Tuple[str, ...], filter_regex: Optional[str], details_dir: Optional[str],
                name: Optional[str], replications: int, hyp2: Optional[str], seed: int, n_best: bool,
                max_candidates: Optional[int], oracle_out: Optional[str]) -> None:
    """Word (or character) error rate of HYP against REF, printed as Kaldi compute-wer does.

    \b
    Output:
      %WER 12.34 [ 123 / 997, 12 ins, 34 del, 77 sub ]
      %SER 45.00 [ 45 / 100 ]
      Scored 100 sentences, 0 not present in hyp.
    Errors = Levenshtein distance; S/D/I split with Kaldi's tie-breaking. With --n-best the
    lines are those of the oracle choice (the other options then apply to it).

    \b
    Example:
      speechtools score wer data/test/text exp/decode/text --ignore-case --remove-punct
      speechtools score wer data/test/ref data/test/nbest.tsv --n-best --max-candidates 4
    """
    import re

    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.text_formats import read_transcripts
    from speechtools.scoring.wer import score_corpus

    if not n_best and (max_candidates is not None or oracle_out is not None):
        raise click.UsageError("--max-candidates and --oracle-text need --n-best")
    if filter_regex is not None:
        try:
            re.compile(filter_regex)
        except re.error as exc:
            raise click.BadParameter(f"not a valid regular expression: {exc}", param_hint="'--filter-regex'") from None
    norm = Normalizer(ignore_case=ignore_case, remove_punct=remove_punct, cer=cer,
                      filter_tokens=tuple(filters), filter_regex=filter_regex)
    unit = "CER" if cer else "WER"
    refs = {u: norm(t) for u, t in read_transcripts(ref, fmt).text.items()}
    if n_best:
        result, hyps = _oracle(refs, ref, hyp, norm, mode, unit, max_candidates, oracle_out)
    else:
        hyps = {u: norm(t) for u, t in read_transcripts(hyp, fmt).text.items()}
        result = score_corpus(refs, hyps, mode=mode, hyp_path=hyp, unit=unit, progress=True, ref_path=ref)
    for line in result.kaldi_lines():
        click.echo(line)
    if details_dir is not None:
        from speechtools.scoring.edit_distance import batch_align
        from speechtools.scoring.report import write_details

        alignments = batch_align([refs[u] for u in result.utt_ids], [hyps.get(u, []) for u in result.utt_ids])
        label = name or "/".join(Path(hyp).resolve().parts[-2:])
        write_details(details_dir, label, result, alignments)
    if replications:
        from speechtools.scoring.bootstrap import bootstrap_wer

        interval = bootstrap_wer(result.utt_counts[:, 1:].sum(axis=1), result.utt_counts[:, 0], replications, seed, True)
        click.echo(interval.kaldi_line("Set1"))
    if hyp2 is not None:
        _compare(refs, ref, hyp2, fmt, norm, mode, unit, result, replications, seed)


def _oracle(refs: Dict[str, List[str]], ref: str, hyp: str, norm: "Normalizer", mode: str, unit: str,
            max_candidates: Optional[int], oracle_out: Optional[str]) -> Tuple["WerResult", Dict[str, List[str]]]:
    """``score wer --n-best``: the oracle's result and its chosen (normalised) hypotheses; writes ``--oracle-text``."""
    from speechtools.correction.multi_alignment import read_nbest
    from speechtools.fileio import atomic_write
    from speechtools.scoring.wer import oracle_corpus

    lists = read_nbest(hyp)
    result, chosen = oracle_corpus(refs, {u: [norm(c) for c in cands] for u, cands in lists.items()}, mode=mode,
                                   max_candidates=max_candidates, hyp_path=hyp, unit=unit, progress=True, ref_path=ref)
    if oracle_out is not None:
        with atomic_write(oracle_out) as handle:
            for u, k in chosen.items():
                handle.write(f"{u} {lists[u][k]}".rstrip() + "\n")
    return result, {u: norm(lists[u][k]) for u, k in chosen.items()}


def _compare(refs: Dict[str, List[str]], ref: str, hyp2: str, fmt: str, norm: "Normalizer", mode: str, unit: str,
             result: "WerResult", replications: int, seed: int) -> None:
    """Score HYP2 on the same references; print its lines, WERR and the paired bootstrap."""
    from speechtools.scoring.bootstrap import bootstrap_compare, bootstrap_wer, paired_errors, werr
    from speechtools.scoring.text_formats import read_transcripts
    from speechtools.scoring.wer import score_corpus

    hyps2 = {u: norm(t) for u, t in read_transcripts(hyp2, fmt).text.items()}
    result2 = score_corpus(refs, hyps2, mode=mode, hyp_path=hyp2, unit=unit, progress=True, ref_path=ref)
    click.echo(f"Set2 ({hyp2}):")
    for line in result2.kaldi_lines():
        click.echo(line)
    n_ref, err1, err2 = paired_errors(result.utt_ids, result.utt_counts, result2.utt_ids, result2.utt_counts)
    if n_ref.sum() == 0:
        raise UserError("the two hypothesis files share no scored utterance", hyp2)
    wer1 = 100.0 * err1.sum() / n_ref.sum()
    wer2 = 100.0 * err2.sum() / n_ref.sum()
    click.echo(f"WERR of Set2 over Set1: {werr(wer1, wer2):.2f}% ({wer1:.2f} -> {wer2:.2f} on {len(n_ref)} common sentences)")
    if replications:
        click.echo(bootstrap_wer(err2, n_ref, replications, seed, True).kaldi_line("Set2"))
        p = bootstrap_compare(err1, err2, replications, seed, True)
        click.echo(f"Probability of Set2 improving Set1: {p:.2f}")


@score.command("mos")
@click.argument("sheets", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--columns", multiple=True, metavar="ROLE=HEADER[,...]",
              help="Header names of the roles system, utterance, listener, score, e.g. "
                   "--columns system=systemId,utterance=utteranceId,listener=listenerId,score=choice.")
@click.option("--scale", type=click.Choice(["mos", "smos", "cmos"]), default="mos", show_default=True,
              help="mos/smos: 1..5. cmos: -3..+3, each row rates SYSTEM against the baseline it is "
                   "paired with; positive = SYSTEM preferred over the baseline.")
@click.option("--ci", "method", type=click.Choice(["crowdmos", "t", "normal", "bootstrap"]), default="crowdmos",
              show_default=True, help="95%% interval: crowdmos = listener+utterance variance model (Ribeiro "
                                      "et al. 2011); t / normal over all ratings; bootstrap = two-way cluster bootstrap.")
@click.option("--bootstrap-reps", type=click.IntRange(min=100), default=2000, show_default=True,
              help="Replications for --ci bootstrap.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed for --ci bootstrap.")
@click.option("--drop-listeners", "rules", multiple=True, metavar="RULE",
              help="Screening, repeatable: 'hidden-reference<4' (mean rating of --reference-system below 4), "
                   "'ratings<N' (fewer than N ratings), 'corr<0.25' (correlation with system means).")
@click.option("--reference-system", default=None, help="Name of the hidden reference system (for hidden-reference<X).")
@click.option("--json", "json_out", type=OUTPUT_FILE,
              help="Write {system: {mean, ci_low, ci_high, n_ratings, n_listeners, n_utterances}}.")
@click.option("--plot", "plot_out", type=OUTPUT_FILE, help="Write a PNG of rating distributions and intervals.")
def mos_command(sheets: Tuple[str, ...], columns: Tuple[str, ...], scale: str, method: str, bootstrap_reps: int,
                seed: int, rules: Tuple[str, ...], reference_system: Optional[str], json_out: Optional[str],
                plot_out: Optional[str]) -> None:
    """Mean opinion scores per system with 95% intervals from listening-test sheets.

    Sheets are CSV or TSV (tab-separated if .tsv or the header holds a tab) with a header and
    one rating per row: system, utterance, listener, score. Several sheets are merged. A
    Markdown table sorted by score goes to stdout; dropped listeners are reported on stderr.

    \b
    Example:
      speechtools score mos round1.csv round2.csv --drop-listeners 'hidden-reference<4' \\
          --reference-system natural --json mos.json --plot mos.png
    """
    from speechtools.scoring.mos import ROLES, load_ratings, markdown, parse_rule, screen_listeners, summarize
    from speechtools.scoring.report import write_json
    from speechtools.scoring.sheets import parse_columns

    parsed_rules = option_value("--drop-listeners", lambda: [parse_rule(r) for r in rules])
    if reference_system is None and any(rule.kind == "hidden-reference" for rule in parsed_rules):
        raise click.UsageError("--drop-listeners hidden-reference<X needs --reference-system NAME")
    roles = option_value("--columns", lambda: parse_columns(columns, ROLES))
    ratings = load_ratings(sheets, roles, scale)
    if parsed_rules:
        ratings, dropped = screen_listeners(ratings, parsed_rules, reference_system)
        click.echo(f"screening dropped {len(dropped)} listener(s)", err=True)
        for item in dropped:
            click.echo(f"dropped listener {item.listener}: {item.reason}", err=True)
    summary = summarize(ratings, scale, method, bootstrap_reps, seed)
    for name, s in summary.items():
        if s.ci_undefined:
            click.echo(f"warning: system {name}: the 95% interval is undefined: {s.ci_undefined}", err=True)
    click.echo(markdown(summary, scale))
    if json_out is not None:
        write_json(json_out, {name: s.to_dict() for name, s in summary.items()})
    if plot_out is not None:
        from speechtools.scoring.mos_plot import plot_scores

        plot_scores(ratings, summary, scale, plot_out)


_METRIC_HELP = """P_edit, R_edit, P_right (FastCorrect 2) are counted over source positions: the n
tokens of each ASR hypothesis and its n+1 gaps. Aligning source->reference and
source->output gives each position a target and an output content (the aligned token or
nothing; for a gap, the inserted words). A position is an ERROR if its target content differs
from the source, EDITED if its output content differs from the source, CORRECTED if it is an
error whose output equals the target. P_edit = edited errors / edited positions; R_edit =
edited errors / error positions; P_right = corrected / edited errors. WERR = (WER_before -
WER_after) / WER_before."""


@score.command("correction", help=f"""ASR error-correction metrics: WER before/after, WERR, P_edit, R_edit, P_right.

\b
{_METRIC_HELP}

\b
Example:
  speechtools score correction --src asr/text --hyp corrected/text --ref data/test/text --cer
""")
@click.option("--src", "src_path", required=True, type=click.Path(dir_okay=False), help="ASR hypotheses (corrector input).")
@click.option("--hyp", "hyp_path", required=True, type=click.Path(dir_okay=False), help="Corrected output.")
@click.option("--ref", "ref_path", required=True, type=click.Path(dir_okay=False), help="Reference transcripts.")
@transcript_options
@click.option("--json", "json_out", type=OUTPUT_FILE, help="Write all metrics and counts as JSON.")
def correction_command(src_path: str, hyp_path: str, ref_path: str, fmt: str, cer: bool, ignore_case: bool,
                       remove_punct: bool, json_out: Optional[str]) -> None:
    from speechtools.scoring.correction_metrics import correction_metrics
    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.report import write_json
    from speechtools.scoring.text_formats import normalized_transcripts

    norm = Normalizer(ignore_case=ignore_case, remove_punct=remove_punct, cer=cer)
    ref = normalized_transcripts(ref_path, fmt, norm)
    src = normalized_transcripts(src_path, fmt, norm, expect=ref)
    hyp = normalized_transcripts(hyp_path, fmt, norm, expect=ref)
    m = correction_metrics(src, hyp, ref, ref_path)
    unit = "CER" if cer else "WER"

    def pct(x: float) -> str:
        return "nan" if x != x else f"{100 * x:.2f}"

    click.echo(f"{unit} before: {m['wer_before']:.2f} [ {m['errors_before']} / {m['n_ref']} ]")
    click.echo(f"{unit} after:  {m['wer_after']:.2f} [ {m['errors_after']} / {m['n_ref']} ]")
    click.echo(f"WERR: {m['werr']:.2f}%")
    click.echo(f"P_edit:  {pct(m['p_edit'])}% [ {m['edited_errors']} edited errors / {m['edited']} edited positions ]")
    click.echo(f"R_edit:  {pct(m['r_edit'])}% [ {m['edited_errors']} edited errors / {m['errors']} error positions ]")
    click.echo(f"P_right: {pct(m['p_right'])}% [ {m['corrected']} corrected / {m['edited_errors']} edited errors ]")
    if json_out is not None:
        write_json(json_out, m)


@score.command("intelligibility")
@click.argument("sheets", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--ref", "ref_path", required=True, type=click.Path(dir_okay=False),
              help="Reference transcripts (Kaldi text or .trn) keyed by the sheet's utterance ids.")
@click.option("--columns", multiple=True, metavar="ROLE=HEADER[,...]",
              help="Header names of the roles system (optional column), utterance, listener, transcription.")
@click.option("--case-sensitive", is_flag=True, help="Keep case (default: case-folded).")
@click.option("--keep-punct", is_flag=True, help="Keep punctuation (default: stripped).")
@click.option("--cer", is_flag=True, help="Count characters instead of words (spaces removed).")
@click.option("--json", "json_out", type=OUTPUT_FILE, help="Write per-system results as JSON.")
def intelligibility_command(sheets: Tuple[str, ...], ref_path: str, columns: Tuple[str, ...], case_sensitive: bool,
                            keep_punct: bool, cer: bool, json_out: Optional[str]) -> None:
    """Intelligibility rate (LRSpeech) from sheets of listener transcriptions.

    IR = reference words the listener transcribed correctly (alignment hits) / reference
    words, pooled per system; also the share of sentences transcribed without a missed word and
    the listeners' WER. Sheets: CSV/TSV with utterance, listener, transcription and optionally
    system columns.

    \b
    Example:
      speechtools score intelligibility transcripts.csv --ref data/test/text --json ir.json
    """
    from speechtools.scoring.intelligibility import ROLES, intelligibility, load_transcriptions, markdown
    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.report import write_json
    from speechtools.scoring.sheets import parse_columns
    from speechtools.scoring.text_formats import read_transcripts

    roles = option_value("--columns", lambda: parse_columns(columns, ROLES))
    norm = Normalizer(ignore_case=not case_sensitive, remove_punct=not keep_punct, cer=cer)
    refs = {u: norm(t) for u, t in read_transcripts(ref_path).text.items()}
    items = load_transcriptions(sheets, roles, refs, norm)
    results = intelligibility(items, refs)
    click.echo(markdown(results))
    if json_out is not None:
        write_json(json_out, {name: r.to_dict() for name, r in results.items()})
