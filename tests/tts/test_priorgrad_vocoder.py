"""The PriorGrad vocoder: configurations, the σ of the data-dependent prior, the loss, sampling,
training with the real trainer (overfitting one clip, resuming bit for bit with EMA) and the
model directory's assets."""

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from speechtools.audio.features import FeatureConfig
from speechtools.audio.io import load_audio
from speechtools.audio.store import FeatureStore
from speechtools.config import from_dict, load_config
from speechtools.models import MODELS
from speechtools.models.priorgrad_vocoder import FAST_SCHEDULES, PriorGradVocoderConfig, mel_energy, prior_sigma
from speechtools.models.task_info import EnergyRange, FixedSizes
from speechtools.nn.diffusion import NoiseSchedule, prior_weighted_loss, q_sample
from speechtools.train.checkpoint import load_checkpoint
from speechtools.train.experiment import load_experiment
from speechtools.train.model_dir import load_model_dir
from tiny_vocoder import REPO, TINY_CONF, clip_corpus, data_sets, train_vocoder


def build(conf: PriorGradVocoderConfig, n_mels: int = 80, energy: EnergyRange = EnergyRange(0.1, 4.0)):
    torch.manual_seed(0)
    return MODELS.build("priorgrad_vocoder", conf, FixedSizes(vocab_size=1, n_mels=n_mels, energy=energy))


def config_of(name: str) -> PriorGradVocoderConfig:
    return load_experiment(REPO / "conf" / "vocoder" / name).model_conf


@pytest.mark.parametrize("name, layers, channels, params", [("priorgrad_paper.yaml", 30, 64, 2_619_971),
                                                            ("priorgrad_cpu.yaml", 10, 32, 629_251)])
def test_paper_and_cpu_configurations(name, layers, channels, params):
    model = build(config_of(name))
    assert sum(p.numel() for p in model.parameters()) == params
    blocks = model.net.blocks
    assert len(blocks) == layers and blocks[0].dilated.in_channels == channels and blocks[0].dilated.kernel_size == (3,)
    assert [b.dilated.dilation[0] for b in blocks] == [2 ** (i % 10) for i in range(layers)]
    emb = model.net.step_embedding
    assert emb.table.shape == (50, 128) and (emb.proj1.in_features, emb.proj1.out_features, emb.proj2.out_features) == (128, 512, 512)
    assert [(c.stride, c.kernel_size) for c in model.upsampler.convs] == [((1, 16), (3, 32))] * 2
    assert model.schedule.num_steps == 50 and math.isclose(float(model.schedule.betas[-1]), 0.05)
    torch.manual_seed(1)
    mel, audio = torch.randn(2, 3, 80) - 4, 0.1 * torch.randn(2, 3 * 256)
    out = model(audio, mel)
    assert out["eps_hat"].shape == out["eps"].shape == out["sigma"].shape == (2, 768)
    assert model.infer(mel[:1, :2], steps=6).shape == (1, 512)


def test_the_paper_configuration_trains_as_the_reference():
    experiment = load_experiment(REPO / "conf" / "vocoder" / "priorgrad_paper.yaml")
    assert experiment.task_conf.segment_frames == 62 and experiment.model_conf.prior == "data"
    assert experiment.optim.lr == 2e-4 and experiment.trainer.max_batch_size == 16 and experiment.trainer.batch_bins == 16 * 62
    assert experiment.trainer.ema_decay > 0 and experiment.trainer.max_steps == 3_000_000
    standard = load_experiment(REPO / "conf" / "vocoder" / "priorgrad_paper.yaml", ["model_conf.prior=standard"])
    assert standard.model_conf.prior == "standard"


def frames_of_energy(energies, n_mels=4):
    """Log-mel frames whose linear mel sums to energy² (every bin log(e²/n))."""
    e = torch.tensor(energies, dtype=torch.float64)
    return torch.log(e ** 2 / n_mels).unsqueeze(-1).expand(-1, n_mels).unsqueeze(0)


def test_sigma_against_a_hand_worked_example():
    # training-set range [0.2, 6.0], clamp 4.0, floor 0.1:
    #   e = 0.5: (0.5 - 0.2) / (4 - 0.2) = 0.0789 -> floor 0.1
    #   e = 1.0: 0.8 / 3.8 = 0.210526...
    #   e = 2.5: 2.3 / 3.8 = 0.605263...
    #   e = 5.0: clamped to 4.0 -> 3.8 / 3.8 = 1.0
    log_mel = frames_of_energy([0.5, 1.0, 2.5, 5.0])
    torch.testing.assert_close(mel_energy(log_mel), torch.tensor([[0.5, 1.0, 2.5, 5.0]], dtype=torch.float64))
    expected = torch.tensor([[0.1, 0.8 / 3.8, 2.3 / 3.8, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(prior_sigma(log_mel, 0.2, 6.0, clamp=4.0, floor=0.1), expected)
    # no clamp: the training maximum normalises: 0.3/5.8 -> 0.1, 0.8/5.8, 2.3/5.8, 4.8/5.8
    unclamped = torch.tensor([[0.1, 0.8 / 5.8, 2.3 / 5.8, 4.8 / 5.8]], dtype=torch.float64)
    torch.testing.assert_close(prior_sigma(log_mel, 0.2, 6.0, clamp=None, floor=0.1), unclamped)
    # the model: the same per frame, repeated over each frame's hop_length samples
    model = build(PriorGradVocoderConfig(residual_layers=2, residual_channels=4, step_embedding_dim=8, step_hidden=8),
                  n_mels=4, energy=EnergyRange(0.2, 6.0))
    per_sample = model.sample_sigma(log_mel.float())
    assert per_sample.shape == (1, 4 * 256)
    torch.testing.assert_close(per_sample, expected.float().repeat_interleave(256, dim=1))


def test_the_standard_prior_is_sigma_one_and_plain_mse():
    conf = PriorGradVocoderConfig(prior="standard", residual_layers=2, residual_channels=4, step_embedding_dim=8, step_hidden=8)
    model = build(conf, n_mels=4)
    log_mel = frames_of_energy([0.5, 1.0, 2.5, 5.0]).float()
    assert torch.equal(model.frame_sigma(log_mel), torch.ones(1, 4))
    torch.manual_seed(3)
    out = model(0.1 * torch.randn(1, 4 * 256), log_mel)
    assert torch.equal(out["sigma"], torch.ones(1, 1024))
    torch.testing.assert_close(model.loss(out)["loss"], torch.mean((out["eps_hat"] - out["eps"]) ** 2))


def test_the_loss_is_prior_weighted_and_ignores_padding():
    model = build(PriorGradVocoderConfig(residual_layers=2, residual_channels=4, step_embedding_dim=8, step_hidden=8), n_mels=4,
                  energy=EnergyRange(0.2, 6.0))
    torch.manual_seed(4)
    out = model(0.1 * torch.randn(2, 4 * 256), frames_of_energy([0.5, 1.0, 2.5, 5.0]).float().expand(2, -1, -1))
    samples = torch.tensor([1024, 600])
    loss = model.loss(out, samples=samples)["loss"]
    valid = torch.arange(1024).unsqueeze(0) < samples.unsqueeze(1)
    errors = ((out["eps_hat"] - out["eps"]) / out["sigma"]) ** 2
    torch.testing.assert_close(loss, errors[valid].mean())
    changed = dict(out, eps_hat=out["eps_hat"].clone())
    changed["eps_hat"][1, 600:] += 5.0  # padding does not count
    torch.testing.assert_close(model.loss(changed, samples=samples)["loss"], loss)


def test_validation_draws_fixed_noise_and_leaves_the_global_generator_alone():
    model = build(PriorGradVocoderConfig(residual_layers=2, residual_channels=4, step_embedding_dim=8, step_hidden=8), n_mels=4).eval()
    mel, audio = frames_of_energy([0.5, 1.0, 2.5]).float().expand(3, -1, -1), 0.1 * torch.ones(3, 768)
    torch.manual_seed(9)
    state = torch.get_rng_state()
    first = model.loss(model(audio, mel))["loss"]
    assert torch.equal(torch.get_rng_state(), state) and torch.equal(model.loss(model(audio, mel))["loss"], first)
    model.train()
    model(audio, mel)
    assert not torch.equal(torch.get_rng_state(), state)  # training draws from the trainer's generator


def test_sampling_schedules_and_reproducibility():
    model = build(PriorGradVocoderConfig(residual_layers=2, residual_channels=4, step_embedding_dim=8, step_hidden=8), n_mels=4)
    assert model.supported_steps() == [6, 12, 50]
    for steps, betas in FAST_SCHEDULES.items():
        schedule, index = model.inference_schedule(steps)
        assert schedule.num_steps == steps and torch.allclose(schedule.betas, NoiseSchedule.from_list(betas).betas)
        assert bool((index[1:] > index[:-1]).all()) and 0 <= float(index[0]) and float(index[-1]) <= 49  # monotone, in range
    with pytest.raises(ValueError, match="choose one of"):
        model.inference_schedule(7)
    mel = frames_of_energy([0.5, 1.0, 2.5]).float()
    a = model.infer(mel, 12, torch.Generator().manual_seed(5))
    b = model.infer(mel, 12, torch.Generator().manual_seed(5))
    assert a.shape == (1, 768) and torch.equal(a, b) and float(a.abs().max()) <= 1.0


@pytest.fixture(scope="module")
def one_clip(tmp_path_factory) -> Path:
    """One 0.5 s clip of LJ001-0001 and its feature store."""
    return clip_corpus(tmp_path_factory.mktemp("one_clip"), [0.5])


def fixed_noise_loss(model, log_mel: torch.Tensor, audio: torch.Tensor) -> float:
    """The prior-weighted loss at every training step once, with fixed noise: a deterministic training loss."""
    steps = model.schedule.num_steps
    with torch.no_grad():
        log_mel, audio = log_mel.expand(steps, -1, -1), audio.expand(steps, -1)
        sigma, t = model.sample_sigma(log_mel), torch.arange(steps)
        x_t, eps = q_sample(audio, t, model.schedule, sigma, z=torch.randn(audio.shape, generator=torch.Generator().manual_seed(0)))
        return float(prior_weighted_loss(model.predict_noise(x_t, t.float(), model.condition(log_mel)), eps, sigma))


def test_overfitting_one_clip_lowers_the_loss_threefold(one_clip, tmp_path):
    """200 steps of the tiny configuration on one 0.5 s clip (~10 s on one thread): the loss at fixed
    noise over all 50 steps falls to under a third of the untrained network's (which predicts a
    constant, its output bias; at least 1, the loss of ε̂ = 0)."""
    torch.set_num_threads(1)
    store = FeatureStore(one_clip / "dump")
    log_mel = torch.from_numpy(store.read("mel", "LJ001-0001")).unsqueeze(0)
    wav = torch.from_numpy(load_audio(one_clip / "LJ001-0001.wav", 22050))
    audio = torch.zeros(1, log_mel.size(1) * 256)
    audio[0, : wav.numel()] = wav[: audio.size(1)]
    task = load_experiment(TINY_CONF, data_sets(one_clip)).build_task()
    torch.manual_seed(1)  # the trainer's seed: the network training starts from
    before = fixed_noise_loss(task.build_model(), log_mel, audio)
    start = time.perf_counter()
    out = train_vocoder(one_clip, tmp_path / "overfit", "trainer.max_steps=200", "trainer.save_interval=200")
    seconds = time.perf_counter() - start
    after = fixed_noise_loss(load_model_dir(out, "cpu").model, log_mel, audio)
    print(f"overfit: loss {before:.3f} -> {after:.3f} ({before / after:.1f}x) in {seconds:.1f} s")
    assert before > 0.9
    assert after < before / 3, (before, after, seconds)


def test_resume_with_ema_is_bit_for_bit(one_clip, tmp_path, capsys):
    valid = [f"task_conf.valid_data={one_clip / 'data'}", f"task_conf.valid_feats={one_clip / 'dump'}", "trainer.valid_interval=5"]
    straight = train_vocoder(one_clip, tmp_path / "straight", *valid)
    split = train_vocoder(one_clip, tmp_path / "split", "trainer.max_steps=10", *valid)
    train_vocoder(one_clip, split, *valid, resume=True)
    logs = [[json.loads(line) for line in (d / "train_log.jsonl").read_text().splitlines()] for d in (straight, split)]
    valid_losses = [[r["loss"] for r in log if r["split"] == "valid"] for log in logs]
    assert valid_losses[0] == valid_losses[1] and len(valid_losses[0]) == 4
    a, b = (load_checkpoint(d / "checkpoints" / "step_20.pt") for d in (straight, split))
    for key in ("model", "ema"):
        assert a[key].keys() == b[key].keys() and all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    assert not all(torch.equal(a["model"][k], a["ema"][k]) for k in a["model"])  # the EMA is not the raw weights
    pt_a, pt_b = torch.load(straight / "model.pt"), torch.load(split / "model.pt")
    assert all(torch.equal(pt_a[k], pt_b[k]) for k in pt_a) and all(torch.equal(pt_a[k], a["ema"][k]) for k in pt_a)


def test_the_model_directory_carries_the_feature_config_and_energy_range(one_clip, tmp_path):
    out = train_vocoder(one_clip, tmp_path / "voc", "trainer.max_steps=2", "trainer.save_interval=2")
    assert {"stats.npz", "feats_config.yaml", "energy_range.yaml", "model.pt", "config.yaml", "assets.sha256"} <= {p.name for p in out.iterdir()}
    # feats_config.yaml is what extract-feats --conf accepts (and what it wrote into the store)
    assert from_dict(FeatureConfig, load_config(out / "feats_config.yaml")) == FeatureConfig()
    assert (out / "feats_config.yaml").read_text() == (one_clip / "dump" / "feats_config.yaml").read_text()
    energy = mel_energy(torch.from_numpy(FeatureStore(one_clip / "dump").read("mel", "LJ001-0001").astype(np.float64)))
    saved = from_dict(EnergyRange, load_config(out / "energy_range.yaml"))
    assert saved == EnergyRange(float(energy.min()), float(energy.max()), energy.numel())
    loaded = load_model_dir(out, "cpu")
    assert loaded.model.energy == saved and loaded.task.energy_range() == saved


def test_a_training_store_of_other_settings_is_refused(one_clip, tmp_path):
    from speechtools.errors import UserError

    other = tmp_path / "other.yaml"
    other.write_text("hop_length: 200\nn_fft: 1024\n")
    with pytest.raises(UserError, match=r"other settings: hop_length 256 \(features\) vs 200 \(task_conf.feats_conf\)"):
        train_vocoder(one_clip, tmp_path / "voc", feats_conf=other)
