"""``speechtools midi``: OctupleMIDI encode / decode / token statistics."""

from __future__ import annotations

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, device_option
from speechtools.errors import UserError
from speechtools.fileio import read_lines, write_lines


@click.group()
def midi() -> None:
    """OctupleMIDI (MusicBERT) tools.

    \b
    Examples:
      speechtools midi encode song.mid song.oct.txt
      speechtools midi decode song.oct.txt song_rt.mid
      speechtools midi stats egs/bach/musicbert/midi --json stats.json
    """


@midi.command()
@click.argument("midi_in", type=click.Path(dir_okay=False))
@click.argument("text_out", type=OUTPUT_FILE)
def encode(midi_in: str, text_out: str) -> None:
    """Encode MIDI_IN to OctupleMIDI text, one octuple per line.

    Each line is ``<0-bar> <1-pos> <2-program> <3-pitch> <4-dur> <5-vel> <6-ts> <7-tempo>``.

    Example: speechtools midi encode bwv1.6.mid bwv1.6.oct.txt
    """
    from speechtools.music.octuple import encode as encode_midi
    from speechtools.music.octuple import encoding_to_lines

    encoding = encode_midi(midi_in)
    if len(encoding) == 0:
        raise UserError("MIDI file has no notes", midi_in)
    write_lines(text_out, encoding_to_lines(encoding))
    click.echo(f"{midi_in}: {len(encoding)} octuples -> {text_out}", err=True)


@midi.command()
@click.argument("text_in", type=click.Path(dir_okay=False))
@click.argument("midi_out", type=OUTPUT_FILE)
@click.option("--ticks-per-beat", type=click.IntRange(min=16, max=32767), default=480, show_default=True,
              help="Resolution of the written MIDI (at most 32767: the MIDI header's 15 bits).")
def decode(text_in: str, midi_out: str, ticks_per_beat: int) -> None:
    """Decode OctupleMIDI text (as written by `encode`) to a MIDI file.

    Example: speechtools midi decode bwv1.6.oct.txt bwv1.6_rt.mid
    """
    from speechtools.music.octuple import decode as decode_encoding
    from speechtools.music.octuple import lines_to_encoding, write_midi

    encoding = lines_to_encoding(read_lines(text_in), text_in)
    if len(encoding) == 0:
        raise UserError("no octuples in file", text_in)
    write_midi(decode_encoding(encoding, ticks_per_beat=ticks_per_beat), midi_out)
    click.echo(f"{text_in}: {len(encoding)} notes -> {midi_out}", err=True)


@midi.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the summary and per-song counts as JSON.")
@click.option("--skip-errors", is_flag=True, help="Skip unreadable files (listed at the end) instead of stopping.")
def stats(directory: str, json_out: str, skip_errors: bool) -> None:
    """Tokens per song for OctupleMIDI, CP-like and REMI-like encodings of all MIDI files in DIRECTORY.

    Reproduces MusicBERT's Table 1 comparison (3,607 / 6,906 / 15,679 tokens per song on
    LMD) as ratios on your corpus.

    Example: speechtools midi stats egs/bach/musicbert/midi
    """
    from speechtools.music.token_stats import corpus_stats, find_midi_files

    from speechtools.scoring.report import write_json

    files = find_midi_files(directory)
    if not files:
        raise UserError("no .mid/.midi files found", directory)
    result = corpus_stats(files, skip_errors=skip_errors)
    if not result.lengths:
        raise UserError(f"no song to count: all {len(files)} MIDI file(s) were skipped (first: {result.skipped[0]})", directory)
    s = result.summary()
    click.echo(f"| encoding | tokens/song | ratio to OctupleMIDI |")
    click.echo(f"|---|---:|---:|")
    click.echo(f"| OctupleMIDI | {s['octuple']:.1f} | 1.00 |")
    click.echo(f"| CP-like | {s['cp']:.1f} | {s['cp_ratio']:.2f} |")
    click.echo(f"| REMI-like | {s['remi']:.1f} | {s['remi_ratio']:.2f} |")
    click.echo(f"songs: {s['songs']}, skipped: {s['skipped']}")
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
    if json_out:
        write_json(json_out, {"summary": s, "songs": dict(zip(result.files, result.lengths)), "skipped": result.skipped}, indent=1)


@midi.command()
@click.option("--midi-dir", required=True, type=click.Path(file_okay=False), help="Folder of .mid files (searched recursively).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Where the .npz sequence stores go.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), default=None, help="labels.tsv: song<TAB>column... (song = path below --midi-dir without suffix).")
@click.option("--label-column", default=None, help="Column of labels.tsv for the classification task (e.g. composer, mode).")
@click.option("--phrase-bars", type=click.IntRange(min=1), default=2, show_default=True, help="Bars per phrase in the ranking tasks.")
@click.option("--group-size", type=click.IntRange(min=2), default=50, show_default=True, help="Candidates per ranking group (1 true).")
@click.option("--window-notes", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--window-step", type=click.IntRange(min=1), default=250, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def prepare(midi_dir: str, out_dir: str, labels_path: str, label_column: str, phrase_bars: int, group_size: int, window_notes: int, window_step: int, seed: int) -> None:
    """Encode a MIDI folder and build pre-training, ranking and classification sets.

    Example: speechtools midi prepare --midi-dir data/midi --labels data/midi/labels.tsv --label-column mode --out-dir data/prepared
    """
    from speechtools.music.tasks_data import prepare as run_prepare

    if label_column and not labels_path:
        raise click.UsageError("--label-column needs --labels")
    counts = run_prepare(midi_dir, out_dir, labels_path, label_column, seed, phrase_bars, group_size, window_notes, window_step)
    for name, n in counts.items():
        click.echo(f"{name}\t{n}")


@midi.command()
@click.option("--model-dir", required=True, type=click.Path(file_okay=False), help="A fine-tuned music_classification model directory.")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Sequence store (.npz) to score.")
@click.option("--ranking-out", type=OUTPUT_FILE, default=None, help="Write 'group candidate label score' lines (P(true)) for `score ranking`.")
@click.option("--hyp-out", type=OUTPUT_FILE, default=None, help="Write 'name predicted-class' lines for `score classification`.")
@click.option("--ref-out", type=OUTPUT_FILE, default=None, help="Write the store's 'name true-class' lines.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@device_option
def predict(model_dir: str, data_path: str, ranking_out: str, hyp_out: str, ref_out: str, batch_size: int, device: str) -> None:
    """Run a fine-tuned MusicBERT over a sequence store and write scores for `speechtools score`.

    Example: speechtools midi predict --model-dir exp/acc --data data/prepared/accompaniment/test.npz --ranking-out exp/acc/test_scores.txt
    """
    from speechtools.music.tasks_data import SequenceStore
    from speechtools.tasks.music_classification import predict_probabilities
    from speechtools.train.model_dir import load_model_dir

    if not (ranking_out or hyp_out or ref_out):
        raise click.UsageError("give at least one of --ranking-out, --hyp-out, --ref-out")
    store = SequenceStore.load(data_path)
    loaded = load_model_dir(model_dir, device)
    probs = predict_probabilities(loaded.model, store, batch_size, loaded.device)
    classes = store.classes or [str(i) for i in range(probs.shape[1])]
    if ranking_out:
        if probs.shape[1] != 2:
            raise UserError(f"ranking needs a 2-class (false/true) model, this one has {probs.shape[1]} classes", model_dir)
        write_lines(ranking_out, [f"{g} {n} {l} {p:.6f}" for g, n, l, p in zip(store.groups, store.names, store.labels, probs[:, 1])])
    if hyp_out:
        write_lines(hyp_out, [f"{n} {classes[int(k)]}" for n, k in zip(store.names, probs.argmax(axis=1))])
    if ref_out:
        write_lines(ref_out, [f"{n} {classes[l]}" for n, l in zip(store.names, store.labels)])
