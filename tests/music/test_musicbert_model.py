"""MusicBERT model: octuple embedding, padding, heads, pre-training loss, fine-tuning init."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from speechtools.config import from_dict, load_config
from speechtools.models.musicbert import HEAD_SIZES, MusicBERT, MusicBERTConfig, head_predictions_to_ids, ids_to_head_targets
from speechtools.music import vocab as V
from speechtools.music.tasks_data import SequenceStore
from speechtools.music.windowing import to_model_sequence
from speechtools.tasks.music_classification import MusicClassificationConfig, MusicClassificationTask, predict_probabilities
from speechtools.train.config import InitFromConfig
from speechtools.train.parameters import init_from
from speechtools.tasks.musicbert_pretrain import MusicBERTPretrainConfig, MusicBERTPretrainTask

ROOT = Path(__file__).resolve().parents[2]
SMALL = MusicBERTConfig(layers=2, dim=32, ffn_dim=64, heads=2, dropout=0.0, attention_dropout=0.0, max_positions=64)


def _sequence(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = np.stack([rng.integers(0, size, n) for size in V.FIELD_SIZES], axis=1)
    raw[:, V.PITCH] = rng.integers(0, 128, n)
    raw[:, V.PROGRAM] = rng.integers(0, 2, n)
    return to_model_sequence(raw[np.lexsort(raw.T[::-1])])


def test_reference_sizes_in_conf():
    for name, expected in [("musicbert_base", (12, 768, 3072, 12)), ("musicbert_small", (4, 512, 2048, 8)), ("musicbert_tiny", (2, 128, 512, 2))]:
        conf = from_dict(MusicBERTConfig, load_config(ROOT / "conf" / "music" / f"{name}.yaml")["model_conf"])
        assert (conf.layers, conf.dim, conf.ffn_dim, conf.heads) == expected
    small = MusicBERT(from_dict(MusicBERTConfig, load_config(ROOT / "conf" / "music" / "musicbert_small.yaml")["model_conf"]))
    encoder = sum(p.numel() for p in small.encoder.parameters())
    assert encoder == 4 * (4 * (512 * 512 + 512) + 2 * 512 * 2048 + 2048 + 512 + 4 * 512)  # attention, FFN, 2 LayerNorms


def test_octuple_embedding_is_concatenation_then_projection():
    torch.manual_seed(0)
    model = MusicBERT(SMALL).eval()
    tokens = torch.from_numpy(_sequence(np.random.default_rng(0), 5))[None]
    emb = model.embed_tokens(tokens)  # (1, T, 8, d)
    manual = torch.cat([emb[:, :, j] for j in range(8)], dim=-1) @ model.downsample.weight.T + model.downsample.bias
    assert torch.allclose(model.downsample(emb.reshape(1, tokens.size(1), -1)), manual, atol=1e-6)
    logits = model(tokens, head="mlm")
    assert [l.shape[-1] for l in logits] == HEAD_SIZES
    assert all(l.shape[:2] == tokens.shape[:2] for l in logits)


def test_padding_does_not_change_outputs():
    torch.manual_seed(0)
    model = MusicBERT(SMALL).eval()
    seq = torch.from_numpy(_sequence(np.random.default_rng(1), 6))
    padded = torch.full((1, seq.size(0) + 5, 8), V.PAD_ID, dtype=torch.long)
    padded[0, : seq.size(0)] = seq
    with torch.inference_mode():
        a = model(seq[None], head="hidden")
        b = model(padded, head="hidden")[:, : seq.size(0)]
    assert torch.allclose(a, b, atol=1e-5)


def test_head_target_mapping_round_trip():
    ids = torch.from_numpy(_sequence(np.random.default_rng(2), 4))
    targets = ids_to_head_targets(ids)
    for j in range(8):
        assert int(targets[:, j].max()) < HEAD_SIZES[j]
    assert torch.equal(head_predictions_to_ids(targets), ids)


def _store(n: int, length: int, seed: int, labels: bool = False) -> SequenceStore:
    rng = np.random.default_rng(seed)
    store = SequenceStore(classes=["a", "b"] if labels else [])
    for i in range(n):
        seq = _sequence(rng, length)
        label = int(seq[1:-1, V.PROGRAM].mean() > V.FIELD_OFFSETS[V.PROGRAM] + 0.5) if labels else -1
        store.add(seq, f"s{i}", label)
    return store


def test_pretraining_loss_drops_on_a_fixed_batch(tmp_path):
    _store(4, 12, 0).save(tmp_path / "train.npz")
    torch.manual_seed(0)
    task = MusicBERTPretrainTask(MusicBERTPretrainConfig(train=str(tmp_path / "train.npz"), valid=None, mask_prob=0.3), "musicbert", SMALL)
    model = task.build_model()
    data = task.train_dataset()
    batch = task.collate([data[i] for i in range(len(data))])
    assert batch["inputs"].shape == batch["targets"].shape == (4, 14, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss, stats = task.compute_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first and stats["masked"] > 0


def test_finetune_init_from_pretrained_and_predict(tmp_path):
    torch.manual_seed(0)
    pre = MusicBERT(SMALL)
    torch.save({"model": pre.state_dict()}, tmp_path / "model.pt")
    _store(6, 8, 1, labels=True).save(tmp_path / "cls.npz")
    conf = MusicBERTConfig(**{**SMALL.__dict__, "num_classes": 2})
    task = MusicClassificationTask(MusicClassificationConfig(train=str(tmp_path / "cls.npz")), "musicbert", conf)
    model = task.build_model()
    # what conf/music/finetune.yaml's trainer.init_from does: load every weight whose name and shape fit
    report = init_from(model, InitFromConfig(path=str(tmp_path / "model.pt"), strict=False))
    assert torch.equal(model.embed_tokens.weight, pre.embed_tokens.weight)
    assert torch.equal(model.encoder.layers[1].linear1.weight, pre.encoder.layers[1].linear1.weight)
    mlm = [k for k in pre.state_dict() if k.startswith(("upsample", "lm_"))]
    assert sorted(report.unexpected) == sorted(mlm) and len(mlm) > 0  # everything but the MLM heads loads
    assert len(report.loaded) == len(pre.state_dict()) - len(mlm)
    assert report.missing and all(k.startswith("classifier") for k in report.missing)
    data = task.train_dataset()
    loss, stats = task.compute_loss(model, task.collate([data[i] for i in range(len(data))]))
    assert loss.item() > 0 and 0.0 <= stats["accuracy"] <= 1.0
    probs = predict_probabilities(model, SequenceStore.load(tmp_path / "cls.npz"), batch_size=4, device=torch.device("cpu"))
    assert probs.shape == (6, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    task.export_assets(tmp_path)
    assert (tmp_path / "classes.txt").read_text().split() == ["a", "b"]


def test_config_validation():
    with pytest.raises(ValueError):
        MusicBERTConfig(dim=30, heads=4)


@pytest.mark.parametrize("name", ["pretrain_tiny", "finetune_tiny", "pretrain_small", "finetune_small", "pretrain_base", "finetune_base"])
def test_recipe_configs_validate(name):
    from speechtools.train.experiment import load_experiment

    experiment = load_experiment(ROOT / "egs" / "bach" / "musicbert" / "conf" / f"{name}.yaml")
    assert experiment.model == "musicbert"
    assert experiment.task == ("musicbert_pretrain" if name.startswith("pretrain") else "music_classification")


def test_mean_pooling_ignores_padding():
    torch.manual_seed(0)
    model = MusicBERT(MusicBERTConfig(**{**SMALL.__dict__, "num_classes": 3, "pooling": "mean"})).eval()
    seq = torch.from_numpy(_sequence(np.random.default_rng(4), 5))
    padded = torch.full((1, seq.size(0) + 4, 8), V.PAD_ID, dtype=torch.long)
    padded[0, : seq.size(0)] = seq
    with torch.inference_mode():
        hidden = model(seq[None], head="hidden")
        expected = model.classifier(hidden.mean(1))
        assert torch.allclose(model(seq[None]), expected, atol=1e-5)
        assert torch.allclose(model(padded), expected, atol=1e-5)
