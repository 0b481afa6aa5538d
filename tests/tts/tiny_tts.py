"""Build a tiny trained FastSpeech 2 model directory from a Kaldi data dir with durations, as the
recipe does (extract-feats, compute-stats, make-tokens, then the generic trainer)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FEATS_CONF = REPO / "conf" / "feats" / "mel22k.yaml"


def extract_training_assets(root: Path, train: Path) -> None:
    """``root/dump`` (features and ``stats.npz``) and ``root/tokens.txt`` of the data dir ``train``."""
    from speechtools.cli.main import cli

    for args in (
        ["extract-feats", str(train), str(root / "dump"), "--conf", str(FEATS_CONF), "--no-progress"],
        ["compute-stats", str(root / "dump"), "--no-progress"],
        ["make-tokens", str(train), "--frontend", "en_phone", "--out", str(root / "tokens.txt")],
    ):
        cli.main(args=args, prog_name="speechtools", standalone_mode=False)


def train_tiny_fastspeech2(root: Path, train: Path, model_conf: str, trainer: str, optim: str = "") -> Path:
    """Train on ``train`` with the assets of :func:`extract_training_assets`; returns the model dir.

    ``model_conf``, ``trainer`` and ``optim`` are YAML blocks (without their key) layered over
    ``conf/tts/fastspeech2_tiny.yaml``.
    """
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    config = root / "fs2.yaml"
    config.write_text(
        f"base: {REPO / 'conf' / 'tts' / 'fastspeech2_tiny.yaml'}\n"
        "task_conf:\n"
        f"  train_data: {train}\n  train_feats: {root / 'dump'}\n"
        f"  token_list: {root / 'tokens.txt'}\n  stats: {root / 'dump' / 'stats.npz'}\n  feats_conf: {FEATS_CONF}\n"
        f"model_conf:\n{model_conf}"
        f"trainer: {trainer}\n"
        + (f"optim: {optim}\n" if optim else "")
    )
    out = root / "model"
    Trainer(load_experiment(config), out, device="cpu", show_progress=False).run()
    return out
