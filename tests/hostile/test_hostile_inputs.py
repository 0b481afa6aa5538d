"""Every command of `speechtools --help` against a table of bad inputs (issue 16, docs/errors.md).

Each command has a row (a command with several forms may have more, named ``command[form]``): a valid invocation whose arguments are typed (an input file, a data
directory, a model directory, an output file or folder, a number...). The suite runs the valid
invocation once (it must succeed) and then, one argument at a time, each bad variant of that
argument's kind: missing, empty, a folder, ``/dev/null``, a dangling or looping link, a FIFO,
non-UTF-8 bytes, a BOM, CRLF line ends, a huge line, truncated binaries, an id that climbs out of
its folder, an output that is a folder or sits in a missing folder or on a full disk, NaN and
infinite numbers. For every run it asserts: the exit code is 0, 1 or 2 (1 or 2 for a variant that
is always wrong), no traceback, the last line of stderr is the one-line error, nothing is
written outside the output location (or into the inputs), and a failed run leaves no output
file. A command without a row fails :func:`test_every_command_has_a_row`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Union

import click
import pytest

from speechtools.cli.main import cli, main

from hostile_world import FEATS_CONF, FIXTURES, REPO, World


# ------------------------------------------------------------------ argument kinds
@dataclass(frozen=True)
class In:
    """An input. ``kind``: text | binary | data | dump | model | folder; ``prefix`` goes before the path in the
    argument (``NAME=`` of ``score compare --system NAME=FILE``)."""

    path: Union[str, Path]
    kind: str = "text"
    prefix: str = ""


@dataclass(frozen=True)
class InPlace:
    """A data directory the command rewrites in place (copied into the case's output location)."""

    path: Union[str, Path]


@dataclass(frozen=True)
class Out:
    """An output: ``file`` or ``dir`` inside the case's output location."""

    kind: str = "file"
    suffix: str = ".txt"


@dataclass(frozen=True)
class Num:
    """A numeric option value."""

    value: str


Arg = Union[str, In, InPlace, Out, Num]

# Variants of each kind; those in ALWAYS_BAD must fail (exit 1 or 2), the others may succeed.
VARIANTS: Dict[str, Tuple[str, ...]] = {
    "text": ("missing", "empty", "folder", "devnull", "dangling", "looping", "fifo", "not_utf8", "bom", "crlf", "huge"),
    "binary": ("missing", "empty", "folder", "dangling", "truncated", "garbage"),
    "data": ("missing", "a_file", "empty_dir", "traversal_id", "bom_text", "crlf_text", "dangling_text"),
    "dump": ("missing", "a_file", "empty_dir"),
    "model": ("missing", "a_file", "empty_dir", "truncated_model", "tampered_asset"),
    "folder": ("missing", "a_file", "empty_dir"),
    "inplace": ("traversal_id", "bom_text", "dangling_text"),
    "out_file": ("is_dir", "parent_is_file", "parent_missing", "dev_full"),
    "out_dir": ("is_file", "parent_is_file"),
    "num": ("nan", "inf", "minus_one"),
}
ALWAYS_BAD = frozenset({"missing", "folder", "dangling", "looping", "not_utf8", "a_file", "traversal_id", "dangling_text",
                        "truncated_model", "tampered_asset", "truncated", "garbage", "is_dir", "parent_is_file",
                        "parent_missing", "dev_full", "is_file", "nan", "inf"})


@dataclass
class Row:
    """One command's valid invocation; ``skip`` names variants that do not apply (with the reason in a comment)."""

    args: Callable[[World], List[Arg]]
    skip: FrozenSet[str] = field(default_factory=frozenset)


def rows() -> Dict[str, Row]:
    """The table: command path -> valid invocation."""
    f = lambda w, name: In(w.files / name)  # noqa: E731
    corpus_text = REPO / "egs" / "ljspeech" / "mini_corpus"
    slow_text = frozenset({"huge"})  # a huge line through a model or the aligner: minutes of audio or frames, not a check
    return {
        "adapt": Row(lambda w: ["--source-dir", In(w.ada, "model"), "--data-dir", In(w.files / "new_speaker", "data"), "--out-dir", Out("dir"),
                                "--steps", Num("1"), "--num-utts", Num("2"), "--lr", Num("0.001"), "--device", "cpu", "--quiet"]),
        "align durations": Row(lambda w: ["--model-dir", In(w.aligner, "model"), "--data", In(w.data, "data"),
                                          "--feats", In(w.dump, "dump"), "--out", Out(), "--plot-dir", Out("dir"), "--plot-n", Num("1"),
                                          "--device", "cpu"]),
        "align import-textgrid": Row(lambda w: ["--data", In(w.files / "tg_data", "data"), "--textgrids", In(w.files / "tg_grids", "folder"),
                                                "--feats", In(w.files / "tg_dump", "dump"), "--feats-conf", In(FEATS_CONF), "--out", Out()]),
        "align plot": Row(lambda w: ["--model-dir", In(w.aligner, "model"), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                     "--out-dir", Out("dir"), "--n", Num("1"), "--device", "cpu"]),
        "align train": Row(lambda w: ["--config", In(w.configs / "aligner.yaml"), "--out-dir", Out("dir"), "--device", "cpu", "--quiet"],
                           skip=slow_text),
        "asr decode": Row(lambda w: [In(w.wavs, "data"), "--out", Out()], skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),
        # pocketsphinx's n-best lists in asr_hyp.tsv's format (format_nbest_tsv through write_lines)
        "asr decode[n-best]": Row(lambda w: [In(w.wavs, "data"), "--n-best", Num("4"), "--out", Out(suffix=".tsv")],
                                  skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),
        # our recogniser; reads wav.scp only. Its per-utterance failures (some recordings bad, the others
        # written, exit 1) are tested in tests/asr/test_asr_decode_cli.py.
        "asr decode[model-dir]": Row(lambda w: [In(w.data, "data"), "--model-dir", In(w.asr, "model"), "--out", Out(), "--device", "cpu",
                                                "--beam-size", Num("2"), "--ctc-weight", Num("0.3"), "--batch-size", Num("2")],
                                     skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),
        # "huge": one bogus entry among good ones is a per-utterance failure: the good ones are written (by design)
        "asr decode[wav-scp]": Row(lambda w: ["--wav-scp", In(w.files / "asr_wav.scp"), "--model-dir", In(w.asr, "model"), "--out", Out(),
                                              "--device", "cpu"], skip=frozenset({"huge"})),
        "asr train": Row(lambda w: ["--config", In(w.configs / "asr.yaml"), "--out-dir", Out("dir"), "--device", "cpu", "--quiet"],
                         skip=slow_text),
        "average-checkpoints": Row(lambda w: ["--model-dir", In(w.tts, "model"), "--last", Num("1"), "--out", Out(suffix=".pt")],
                                   skip=frozenset({"tampered_asset", "truncated_model"})),  # averages checkpoints, not model.pt
        "compute-stats": Row(lambda w: [In(w.dump, "dump"), "--out", Out(suffix=".npz"), "--no-progress"]),
        "correct align": Row(lambda w: ["--lang", "en", f(w, "pairs.tsv"), Out()]),
        "correct choose-gate": Row(lambda w: ["--model-dir", In(w.corrector, "model"), "--grid", "0 0.5", "--src", f(w, "hyp.txt"),
                                              "--ref", f(w, "ref.txt"), "--json", Out(suffix=".json"), "--device", "cpu", "--quiet"]),
        "correct choose-gate[n-best]": Row(lambda w: ["--model-dir", In(w.corrector, "model"), "--grid", "0 0.5", "--n-best",
                                                      "--src", f(w, "nbest.tsv"), "--ref", f(w, "ref.txt"), "--json", Out(suffix=".json"),
                                                      "--device", "cpu", "--quiet"]),
        "correct noise": Row(lambda w: ["--lang", "en", "--seed", "1", f(w, "sentences.txt"), Out()]),
        "correct noise[n-best]": Row(lambda w: ["--lang", "en", "--seed", "1", "--n-best", Num("4"), f(w, "sentences.txt"), Out()]),
        "correct pairs": Row(lambda w: ["--lang", "en", f(w, "ref.txt"), f(w, "hyp.txt"), Out()]),
        "correct pairs[n-best]": Row(lambda w: ["--lang", "en", "--n-best", f(w, "ref.txt"), f(w, "nbest.tsv"), Out()]),
        "correct vocab": Row(lambda w: ["--lang", "en", f(w, "pairs.tsv"), Out()]),
        "correct-asr": Row(lambda w: ["--model-dir", In(w.corrector, "model"), "--device", "cpu", "--quiet", "--batch-size", Num("8"),
                                      f(w, "hyp.txt"), Out()]),
        "correct-asr[n-best]": Row(lambda w: ["--model-dir", In(w.corrector, "model"), "--device", "cpu", "--quiet", "--batch-size",
                                              Num("8"), "--n-best", f(w, "nbest.tsv"), Out()]),
        "data combine": Row(lambda w: [Out("dir"), In(w.data, "data"), In(w.files / "tg_data", "data")]),
        "data fix": Row(lambda w: [InPlace(w.files / "plain_data"), "--no-backup"]),
        "data prepare aishell1": Row(lambda w: ["--corpus", In(w.corpora / "aishell", "folder"), "--out", Out("dir")]),
        "data prepare kathleen": Row(lambda w: ["--corpus", In(w.corpora / "kathleen", "folder"), "--out", Out("dir")]),
        "data prepare ljspeech": Row(lambda w: ["--corpus", In(corpus_text, "folder"), "--out", Out("dir"), "--dev-size", Num("3"),
                                                "--eval-size", Num("3")]),
        "data prepare libritts": Row(lambda w: ["--corpus", In(FIXTURES / "corpora" / "libritts", "folder"), "--out", Out("dir")]),
        "data prepare philipp": Row(lambda w: ["--corpus", In(w.corpora / "philipp", "folder"), "--out", Out("dir")]),
        "data prepare vctk": Row(lambda w: ["--corpus", In(FIXTURES / "corpora" / "vctk", "folder"), "--out", Out("dir"),
                                            "--speakers", "p225,p226", "--adapt-size", Num("1")]),
        "combine-feats": Row(lambda w: [Out("dir"), In(w.dump, "dump"), In(w.files / "tg_dump", "dump"), "--features", "mel"]),
        "data split": Row(lambda w: [InPlace(w.files / "plain_data"), Num("2")]),
        "data subset": Row(lambda w: [In(w.data, "data"), Out("dir"), "--first", Num("2")]),
        "data speed-perturb": Row(lambda w: [In(w.data, "data"), Out("dir"), "--factors", "0.9 1.0", "--no-progress"]),
        "data validate": Row(lambda w: [In(w.data, "data"), "--feats", In(w.dump, "dump"), "--frontend", "en_phone"]),
        "extract-feats": Row(lambda w: [In(w.data, "data"), Out("dir"), "--conf", In(FEATS_CONF), "--no-progress"]),
        "make-tokens": Row(lambda w: [In(w.data, "data"), "--frontend", "en_phone", "--out", Out()]),
        # trains a SentencePiece model: two outputs that appear together or not at all
        "make-tokens[en_bpe]": Row(lambda w: [In(w.data, "data"), "--units", "en_bpe", "--bpe-size", Num("40"), "--bpe-model", Out(suffix=".model"),
                                              "--out", Out()]),
        "midi decode": Row(lambda w: [f(w, "octuple.txt"), Out(suffix=".mid"), "--ticks-per-beat", Num("480")]),
        "midi encode": Row(lambda w: [In(FIXTURES / "music" / "bwv362.mid", "binary"), Out()]),
        "midi predict": Row(lambda w: ["--model-dir", In(w.music, "model"), "--data", In(w.music_data / "melody_completion" / "test.npz", "binary"),
                                       "--ranking-out", Out(), "--batch-size", Num("4"), "--device", "cpu"]),
        "midi prepare": Row(lambda w: ["--midi-dir", In(w.midi_dir, "folder"), "--out-dir", Out("dir"), "--group-size", Num("4"),
                                       "--window-notes", Num("64"), "--window-step", Num("32")]),
        "midi stats": Row(lambda w: [In(w.midi_dir, "folder"), "--json", Out(suffix=".json")]),
        "music prepare-lyrics": Row(lambda w: [In(FIXTURES / "music" / "lyrics" / "beats_zh.txt"), "--lang", "zh", "--valid-songs", Num("1"), "--out-dir", Out("dir")]),
        "music rap": Row(lambda w: ["--model-dir", In(w.rapper, "model"), "--prompt", "夜色", "--lines", Num("2"), "--lang", "zh",
                                    "--seed", "1", "--out", Out()]),
        "music rap[prompt-file]": Row(lambda w: ["--model-dir", In(w.rapper, "model"), "--prompt-file", In(FIXTURES / "music" / "lyrics" / "beats_zh.txt"), "--lines", Num("1"),
                                                 "--lang", "zh", "--out", Out()], skip=slow_text),
        "music evaluate": Row(lambda w: ["--model-dir", In(w.songmass, "model"), "--songs", f(w, "songs/songs.jsonl"), "--split", "train",
                                         "--beam", Num("1"), "--json", Out(suffix=".json"), "--device", "cpu"]),
        "music generate-lyrics": Row(lambda w: ["--model-dir", In(w.songmass, "model"), "--melody", In(w.files / "tune.mid", "binary"),
                                                "--out", Out(), "--midi-out", Out(suffix=".mid"), "--beam", Num("1"), "--device", "cpu"]),
        "music generate-melody": Row(lambda w: ["--model-dir", In(w.songmass, "model"), "--lyrics", f(w, "lyrics.txt"), "--out-dir", Out("dir"),
                                                "--beam", Num("1"), "--device", "cpu"], skip=slow_text),
        "music lyrics-melody": Row(lambda w: ["--lmd-dir", In(w.files / "lmd", "folder"), "--out-dir", Out("dir"),
                                              "--max-files", Num("0"), "--min-syllables", Num("1")]),
        "score attention": Row(lambda w: [In(w.files / "attention", "folder"), "--words", f(w, "attention_words.txt"), "--band", Num("0.1"),
                                          "--json", Out(suffix=".json")]),
        "score classification": Row(lambda w: [f(w, "labels_ref.txt"), f(w, "labels_hyp.txt"), "--json", Out(suffix=".json")]),
        "score compare": Row(lambda w: ["--system", In(w.files / "report_a.json", prefix="a="), "--system", In(w.files / "report_b.json", prefix="b="),
                                        "--versus", "a,b", "--out", Out(suffix=".md"), "--json", Out(suffix=".json")]),
        "score paired": Row(lambda w: ["--system", In(w.files / "report_a.json", prefix="a="), "--system", In(w.files / "report_b.json", prefix="b="),
                                       "--versus", "a,b", "--metric", "mcd_db", "--replications", Num("100"), "--out", Out(suffix=".md"),
                                       "--json", Out(suffix=".json")]),
        "score cost": Row(lambda w: ["--system", In(w.tts, "model", prefix="a="), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                     "--sentences", Num("1"), "--repeats", Num("1"), "--out-dir", Out("dir")]),
        "score correction": Row(lambda w: ["--src", f(w, "hyp.txt"), "--hyp", f(w, "hyp.txt"), "--ref", f(w, "ref.txt"),
                                           "--json", Out(suffix=".json")]),
        "score lyrics": Row(lambda w: [In(FIXTURES / "music" / "lyrics" / "beats_zh.txt"), "--lang", "zh", "--json", Out(suffix=".json")]),
        "score lyrics[model-dir]": Row(lambda w: [In(FIXTURES / "music" / "lyrics" / "beats_zh.txt"), "--lang", "zh", "--model-dir", In(w.rapper, "model"), "--device", "cpu"],
                                       skip=slow_text),
        "score intelligibility": Row(lambda w: [f(w, "intelligibility.csv"), "--ref", f(w, "intelligibility_ref.txt"), "--json", Out(suffix=".json")]),
        "score melody": Row(lambda w: [f(w, "melody_ref.txt"), f(w, "melody_hyp.txt"), "--json", Out(suffix=".json")]),
        "score mos": Row(lambda w: [f(w, "mos.csv"), "--json", Out(suffix=".json")]),
        "score naturalness": Row(lambda w: ["--hyp", In(w.data, "data"), "--json", Out(suffix=".json")],  # real clips: fewer DNSMOS windows
                                 skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),  # reads wav.scp only
        "score ranking": Row(lambda w: [f(w, "ranking.txt"), "--json", Out(suffix=".json")]),
        "score similarity": Row(lambda w: ["--ref", In(w.data, "data"), "--hyp", In(w.wavs, "data"), "--out-dir", Out("dir"),
                                           "--json", Out(suffix=".json")], skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),
        "score tts": Row(lambda w: ["--ref", In(w.data, "data"), "--hyp", In(w.wavs, "data"), "--feats-conf", In(FEATS_CONF),
                                    "--out-dir", Out("dir")], skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),  # reads wav.scp only
        "score vocoder": Row(lambda w: ["--ref", In(w.data, "data"), "--hyp", In(w.wavs, "data"), "--order", Num("24"),
                                        "--out-dir", Out("dir"), "--json", Out(suffix=".json")],
                             skip=frozenset({"bom_text", "crlf_text", "dangling_text"})),  # reads wav.scp only (--asr and text: tests/scoring)
        "score wer": Row(lambda w: [f(w, "ref.txt"), f(w, "hyp.txt"), "--details", Out("dir")]),
        "score wer[n-best]": Row(lambda w: [f(w, "ref.txt"), f(w, "nbest.tsv"), "--n-best", "--max-candidates", Num("2"),
                                            "--oracle-text", Out(), "--details", Out("dir")]),
        "pseudo-pairs speak": Row(lambda w: ["--tts-model", In(w.teacher, "model"), "--text", In(w.data / "text"), "--out-data", Out("dir"),
                                             "--out-feats", Out("dir"), "--min-wcr", Num("0"), "--device", "cpu"], skip=slow_text),
        "pseudo-pairs transcribe": Row(lambda w: [In(w.data, "data"), "--asr-model", In(w.asr, "model"), "--out-data", Out("dir"),
                                                  "--beam-size", Num("2"), "--ctc-weight", Num("0"), "--length-bonus", Num("10"),
                                                  "--device", "cpu"]),  # an untrained recogniser emits words only with a bonus
        "synth": Row(lambda w: ["--model-dir", In(w.tts, "model"), "--text-file", In(w.data / "text"), "--ids", "--out-dir", Out("dir"),
                                "--speed", Num("1.0"), "--pitch-shift", Num("0"), "--device", "cpu"], skip=slow_text),
        "nas cost": Row(lambda w: ["--supernet", In(w.supernet, "model"), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                   "--arch", "2 7 4 3 5 6 3 4", "--latency-sentences", Num("1"), "--repeats", Num("1"),
                                   "--latency-cache", Out("file", ".json")]),
        "nas search": Row(lambda w: ["--supernet", In(w.supernet, "model"), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                     "--out-dir", Out("dir"), "--budget", Num("3"), "--initial", Num("2"), "--pool", Num("5"),
                                     "--max-params", Num("1000000"), "--finetune-steps", Num("1"),
                                     "--finetune-data", In(w.data, "data"), "--finetune-feats", In(w.dump, "dump"), "--include-arch", "2 7 4 3 5 6 3 4", "--no-progress"]),
        "teacher distill": Row(lambda w: ["--model-dir", In(w.teacher, "model"), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                          "--out-data", Out("dir"), "--out-feats", Out("dir"), "--max-ratio", Num("2"), "--min-focus-rate", Num("0"),
                                          "--device", "cpu"]),
        "teacher durations": Row(lambda w: ["--model-dir", In(w.teacher, "model"), "--data", In(w.data, "data"), "--feats", In(w.dump, "dump"),
                                            "--out", Out(), "--focus-rates", Out(), "--device", "cpu"]),
        "text g2p": Row(lambda w: ["--lang", "en", "--in", f(w, "sentences.txt"), "--out", Out()]),
        "text normalize": Row(lambda w: ["--lang", "en", "--in", f(w, "sentences.txt"), "--out", Out()]),
        "text prepare-corpus": Row(lambda w: [f(w, "sentences.txt"), "--min-words", Num("1"), "--out", Out()]),
        "train": Row(lambda w: ["--config", In(w.configs / "fastcorrect.yaml"), "--out-dir", Out("dir"), "--device", "cpu", "--quiet"],
                     skip=slow_text),
        "vocode": Row(lambda w: ["--vocoder-dir", In(w.vocoder, "model"), "--feats-scp", In(w.files / "vocode_mel.scp"), "--out-dir", Out("dir"),
                                 "--steps", Num("6"), "--device", "cpu", "--no-progress"]),
    }


TABLE = rows()


def command_of(row: str) -> str:
    """The command path of a row name: ``asr decode[model-dir]`` is a second row of ``asr decode`` (another form of it)."""
    return row.split("[", 1)[0]


def leaf_commands() -> List[str]:
    """Every leaf command of `speechtools --help`, as space-separated paths."""
    ctx = click.Context(cli)
    found: List[str] = []

    def walk(command: click.Command, path: List[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, path + [name])
        else:
            found.append(" ".join(path))

    walk(cli, [])
    return found


def test_every_command_has_a_row() -> None:
    commands = set(leaf_commands())
    rowed = {command_of(row) for row in TABLE}
    assert commands - rowed == set(), "commands without a row in the hostile-input table"
    assert rowed - commands == set(), "rows for commands that do not exist"


# ------------------------------------------------------------------ building a case
def kind_of(arg: Arg) -> Optional[str]:
    if isinstance(arg, In):
        return arg.kind
    if isinstance(arg, InPlace):
        return "inplace"
    if isinstance(arg, Out):
        return "out_" + arg.kind
    if isinstance(arg, Num):
        return "num"
    return None


def cases() -> Iterator[Tuple[str, int, str]]:
    """(command, index of the argument to spoil, variant); index -1 is the valid invocation."""
    for command, row in TABLE.items():
        yield command, -1, "valid"
        args = row.args(_PlaceholderWorld())
        for index, arg in enumerate(args):
            kind = kind_of(arg)
            for variant in VARIANTS.get(kind or "", ()):
                if variant in row.skip or (kind == "text" and variant == "huge" and row.skip >= {"huge"}):
                    continue
                yield command, index, variant


class _PlaceholderWorld:
    """Paths only (for listing the cases before the world exists)."""

    def __getattr__(self, name: str) -> Path:
        return Path("/placeholder") / name


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


class FifoWriter:
    """Keeps a FIFO fed with ``content`` (once per reader that opens it) without ever blocking."""

    def __init__(self, path: Path, content: bytes) -> None:
        self.path, self.content, self.stop = path, content, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.005)  # no reader yet
                continue
            try:
                os.set_blocking(fd, True)
                os.write(fd, self.content)
            except OSError:
                pass
            finally:
                os.close(fd)
            time.sleep(0.02)


def spoil_text(variant: str, src: Path, dst: Path, writers: List[FifoWriter]) -> str:
    """A bad version of the text file ``src`` at ``dst``; returns the path to pass."""
    content = src.read_bytes() if src.is_file() else b""
    if variant == "missing":
        return str(dst)
    if variant == "empty":
        dst.write_bytes(b"")
    elif variant == "folder":
        dst.mkdir()
    elif variant == "devnull":
        return os.devnull
    elif variant == "dangling":
        dst.symlink_to(dst.parent / "nowhere")
    elif variant == "looping":
        dst.symlink_to(dst)
    elif variant == "fifo":
        os.mkfifo(dst)
        writer = FifoWriter(dst, content)
        writer.thread.start()
        writers.append(writer)
    elif variant == "not_utf8":
        dst.write_bytes(b"\xff\xfe bad \xc3\x28\n" + content)
    elif variant == "bom":
        dst.write_bytes(b"\xef\xbb\xbf" + content)
    elif variant == "crlf":
        dst.write_bytes(content.replace(b"\n", b"\r\n"))
    elif variant == "huge":
        dst.write_bytes(content + (b"word 12345 " * 20_000).strip() + b"\n")
    else:
        raise AssertionError(variant)
    return str(dst)


def spoil_binary(variant: str, src: Path, dst: Path) -> str:
    if variant in ("missing", "empty", "folder", "dangling"):
        return spoil_text(variant, src, dst, [])
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2] if variant == "truncated" else os.urandom(max(len(data), 64)))
    return str(dst)


def spoil_data(variant: str, src: Path, dst: Path) -> str:
    if variant == "missing":
        return str(dst)
    if variant == "a_file":
        dst.write_text("not a folder\n")
        return str(dst)
    if variant == "empty_dir":
        dst.mkdir()
        return str(dst)
    copy_tree(src, dst)
    if variant == "traversal_id":
        for name in ("text", "wav.scp", "utt2spk"):
            if (dst / name).is_file():
                lines = (dst / name).read_text().splitlines()
                value = lines[0].split(maxsplit=1)[1] if lines and len(lines[0].split()) > 1 else "x"
                (dst / name).write_text("\n".join(["../../evil " + value] + lines) + "\n")
    elif variant == "bom_text":
        (dst / "text").write_bytes(b"\xef\xbb\xbf" + (dst / "text").read_bytes())
    elif variant == "crlf_text":
        (dst / "text").write_bytes((dst / "text").read_bytes().replace(b"\n", b"\r\n"))
    elif variant == "dangling_text":
        (dst / "text").unlink()
        (dst / "text").symlink_to(dst / "no_such_text")
    else:
        raise AssertionError(variant)
    return str(dst)


def spoil_model(variant: str, src: Path, dst: Path) -> str:
    if variant in ("missing", "a_file", "empty_dir"):
        return spoil_data(variant, src, dst)
    copy_tree(src, dst)
    if variant == "truncated_model":
        data = (dst / "model.pt").read_bytes()
        (dst / "model.pt").write_bytes(data[: len(data) // 2])
    elif variant == "tampered_asset":
        manifest = (dst / "assets.sha256").read_text().split()
        asset = dst / manifest[1]
        asset.write_bytes(asset.read_bytes() + b"\n")
    return str(dst)


def spoil_out(variant: str, dst: Path) -> str:
    if variant in ("is_dir",):
        dst.mkdir()
    elif variant == "is_file":
        dst.write_text("already here\n")
    elif variant == "parent_is_file":
        (dst.parent / "plain_file").write_text("x\n")
        return str(dst.parent / "plain_file" / dst.name)
    elif variant == "parent_missing":
        return str(dst.parent / "no_such_folder" / dst.name)
    elif variant == "dev_full":
        return "/dev/full"
    return str(dst)


NUMBERS = {"nan": "nan", "inf": "inf", "minus_one": "-1"}


def snapshot(root: Path, skip: Optional[Path] = None) -> Dict[str, str]:
    """Relative path -> content digest (links and folders by kind) of everything under ``root`` except ``skip``."""
    out: Dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        elif path.is_file():
            out[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
        else:
            out[rel] = "special"
    return out


def build(world: World, command: str, index: int, variant: str, case: Path, writers: List[FifoWriter]) -> Tuple[List[str], Path]:
    """argv for the case and its output location."""
    out = case / "out"
    out.mkdir()
    spoiled = case / "in"
    spoiled.mkdir()
    argv: List[str] = command_of(command).split()
    outputs = 0
    for position, arg in enumerate(TABLE[command].args(world)):
        bad = position == index
        if isinstance(arg, str):
            argv.append(arg)
        elif isinstance(arg, Num):
            argv.append(NUMBERS[variant] if bad else arg.value)
        elif isinstance(arg, Out):
            outputs += 1
            target = out / f"output{outputs}{arg.suffix if arg.kind == 'file' else ''}"
            argv.append(spoil_out(variant, target) if bad else str(target))
        elif isinstance(arg, InPlace):
            target = out / "data"
            argv.append(spoil_data(variant, Path(arg.path), target) if bad else str(copy_tree(Path(arg.path), target)))
        elif isinstance(arg, In):
            src, dst = Path(arg.path), spoiled / f"input{position}{Path(arg.path).suffix}"
            if not bad:
                value = str(src)
            elif arg.kind == "text":
                value = spoil_text(variant, src, dst, writers)
            elif arg.kind == "binary":
                value = spoil_binary(variant, src, dst)
            elif arg.kind == "model":
                value = spoil_model(variant, src, dst)
            else:
                value = spoil_data(variant, src, dst)
            argv.append(arg.prefix + value)
    return argv, out


CASES = list(cases())


@pytest.mark.parametrize("command, index, variant", CASES, ids=[f"{c.replace(' ', '_')}-{i}-{v}" for c, i, v in CASES])
def test_a_bad_input_gets_a_one_line_error_and_leaves_nothing_behind(world: World, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                     command: str, index: int, variant: str) -> None:
    case = tmp_path / "case"
    case.mkdir()
    writers: List[FifoWriter] = []
    argv, out = build(world, command, index, variant, case, writers)
    before_world, before_case = snapshot(world.root), snapshot(case, skip=out)
    before_out = snapshot(out)
    capsys.readouterr()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
    finally:
        for writer in writers:
            writer.stop.set()
    code = exit_info.value.code or 0
    err = capsys.readouterr().err
    assert "Traceback" not in err, err[-3000:]
    if variant == "valid":
        assert code == 0, err[-3000:]
    else:
        assert code in ((1, 2) if variant in ALWAYS_BAD else (0, 1, 2)), (code, err[-2000:])
    if code != 0:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        assert last.startswith("error: ") or last.startswith("Usage: "), err[-2000:]
        created = {k: v for k, v in snapshot(out).items() if before_out.get(k) != v and v not in ("dir",)}
        assert not created, f"a failed run left output: {sorted(created)[:5]}"
    assert snapshot(world.root) == before_world, "the command wrote into its inputs"
    assert snapshot(case, skip=out) == before_case, "the command wrote outside its output location"
