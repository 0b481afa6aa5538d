"""Tiny vocoder data and model directories for the PriorGrad vocoder tests: short cuts of the bundled
LJSpeech mini-corpus clips, their feature store (extract-feats, compute-stats) and the trainer on
``conf/vocoder/priorgrad_tiny.yaml``."""

from pathlib import Path
from typing import Sequence

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
FEATS_CONF = REPO / "conf" / "feats" / "mel22k.yaml"
TINY_CONF = REPO / "conf" / "vocoder" / "priorgrad_tiny.yaml"


def clip_corpus(root: Path, seconds: Sequence[float], feats_sets: Sequence[str] = ()) -> Path:
    """``root/data`` with one cut (starting 0.5 s in) of each of the first mini-corpus clips per entry of
    ``seconds``, and its feature store ``root/dump`` (mel only, ``stats.npz``); returns ``root``."""
    from speechtools.cli.main import cli

    data = root / "data"
    data.mkdir(parents=True)
    clips = sorted((REPO / "egs" / "ljspeech" / "mini_corpus" / "wavs").glob("*.flac"))
    lines = []
    for clip, length in zip(clips, seconds):
        audio, rate = sf.read(clip, dtype="float32")
        start = rate // 2
        sf.write(root / f"{clip.stem}.wav", audio[start:start + int(length * rate)], rate)
        lines.append((clip.stem, root / f"{clip.stem}.wav"))
    (data / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in lines))
    (data / "utt2spk").write_text("".join(f"{u} LJ\n" for u, _ in lines))
    (data / "spk2utt").write_text("LJ " + " ".join(u for u, _ in lines) + "\n")
    sets = [a for s in feats_sets for a in ("--set", s)]
    for args in (["extract-feats", str(data), str(root / "dump"), "--conf", str(FEATS_CONF), "--features", "mel", "--no-progress", *sets],
                 ["compute-stats", str(root / "dump"), "--no-progress"]):
        cli.main(args=args, prog_name="speechtools", standalone_mode=False)
    return root


def data_sets(root: Path, feats_conf: Path = FEATS_CONF) -> list:
    """The ``--set`` overrides that point the vocoder task at ``root``'s data."""
    return [f"task_conf.train_data={root / 'data'}", f"task_conf.train_feats={root / 'dump'}",
            f"task_conf.stats={root / 'dump' / 'stats.npz'}", f"task_conf.feats_conf={feats_conf}"]


def train_vocoder(root: Path, out: Path, *overrides: str, resume: bool = False, feats_conf: Path = FEATS_CONF) -> Path:
    """Train the tiny vocoder on ``root``'s data (extra ``--set`` overrides) into ``out``; returns ``out``."""
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    experiment = load_experiment(TINY_CONF, data_sets(root, feats_conf) + list(overrides))
    Trainer(experiment, out, device="cpu", resume=resume, show_progress=False).run()
    return out
