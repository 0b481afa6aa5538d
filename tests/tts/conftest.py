"""A tiny trained FastSpeech 2 model directory built once per test session from the bundled
LJSpeech mini corpus (6 clips, prior-only MAS durations, a few training steps): enough to test
synthesis mechanics (shapes, controls, errors, splitting), not voice quality."""

from pathlib import Path

import pytest
import torch

from speechtools.align.prior import beta_binomial_log_prior
from speechtools.align.mas import durations_from_path, maximum_path
from tiny_tts import extract_training_assets, train_tiny_fastspeech2



@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from speechtools.audio.store import FeatureStore
    from speechtools.data.corpora.ljspeech import prepare_ljspeech
    from speechtools.data.kaldi import read_table, write_durations
    from speechtools.text.frontend import get_frontend

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny_tts")
    prepare_ljspeech(root / "data")
    train = root / "data" / "train"
    keep = sorted(read_table(train / "text"))[:6]
    for name in ("text", "wav.scp", "utt2spk"):
        table = read_table(train / name, allow_empty_value=True)
        (train / name).write_text("".join(f"{k} {table[k]}\n" for k in keep))
    (train / "spk2utt").write_text("LJ " + " ".join(keep) + "\n")
    extract_training_assets(root, train)
    frontend = get_frontend("en_phone")
    texts = read_table(train / "text")
    shapes = FeatureStore(root / "dump").shapes("mel")
    durations = {}
    for uttid in keep:
        n = len(frontend.tokenize(texts[uttid]))
        t = int(shapes[uttid][0])
        prior = beta_binomial_log_prior(torch.tensor([n]), torch.tensor([t])).clamp(min=-1e4)
        path = maximum_path(prior.transpose(1, 2), torch.tensor([n]), torch.tensor([t]))
        durations[uttid] = durations_from_path(path)[0].tolist()
    write_durations(train / "durations", durations)
    return train_tiny_fastspeech2(
        root, train,
        model_conf="  dim: 32\n"
        "  encoder: {layers: 1, dim: 32, heads: 2, ffn_hidden: 64}\n"
        "  decoder: {layers: 1, dim: 32, heads: 2, ffn_hidden: 64}\n"
        "  adaptor: {duration: {channels: 32}, pitch: {channels: 32}, energy: {channels: 32}}\n",
        trainer="{max_steps: 10, save_interval: 10, valid_interval: 0, log_interval: 5}",
    )


@pytest.fixture(scope="session")
def tiny_attention_model_dir(tiny_model_dir: Path) -> Path:
    """A tiny Transformer TTS (attention, autoregressive) trained for a few steps on the same data and assets."""
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer
    from tiny_tts import FEATS_CONF, REPO

    root = tiny_model_dir.parent
    sets = [f"task_conf.train_data={root / 'data' / 'train'}", f"task_conf.train_feats={root / 'dump'}",
            f"task_conf.token_list={root / 'tokens.txt'}", f"task_conf.stats={root / 'dump' / 'stats.npz'}",
            f"task_conf.feats_conf={FEATS_CONF}", "trainer.max_steps=4", "trainer.save_interval=4", "trainer.valid_interval=0"]
    out = root / "attention_model"
    Trainer(load_experiment(REPO / "conf" / "tts" / "transformer_tts_tiny.yaml", sets), out, device="cpu", show_progress=False).run()
    return out


@pytest.fixture(scope="session")
def lj_reference() -> Path:
    """A real 22.05 kHz recording (LJ001-0008, public domain) to use as reference audio."""
    return Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "LJ001-0008.flac"
