"""PriorGrad's acoustic model (``model: priorgrad_acoustic``, ``task: priorgrad_tts``).

The per-token mel prior against a hand computation, the standard prior, shapes (paper and tiny
configs), padding invariance of the deterministic parts, the 2/6/12-step samplers, overfitting one
clip, bit-for-bit resume with EMA through the trainer, and synthesis from a trained model directory.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import torch

from speechtools.audio.stats import FeatureStats, save_stats
from speechtools.audio.store import FeatureStore
from speechtools.datasets.mel_prior import MEL_PRIOR_NAME, TokenMelMoments
from speechtools.errors import ConfigError, UserError
from speechtools.models import MODELS
from speechtools.models.priorgrad_acoustic import REFERENCE_FAST_6, PriorGradAcoustic, PriorGradAcousticConfig
from speechtools.models.task_info import FixedSizes, MelPrior
from speechtools.nn.diffusion import NoiseSchedule
from speechtools.train.checkpoint import load_checkpoint
from speechtools.train.experiment import load_experiment
from speechtools.train.trainer import Trainer
from tiny_tts import FEATS_CONF

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "conf" / "tts" / "priorgrad_acoustic.yaml"
TINY = REPO / "conf" / "tts" / "priorgrad_acoustic_tiny.yaml"


def tiny_conf(*overrides: str) -> PriorGradAcousticConfig:
    return load_experiment(TINY, list(overrides)).model_conf


# ---------------------------------------------------------------- the prior on a hand-made data set
# Token ids: <pad> 0, <unk> 1, a 2, b 3, c 4, d 5 (d never occurs). Two mel bins; stats.npz has mean
# [1, 0] and std [2, 1], so the normalised frame of a raw frame r is ((r0 - 1) / 2, r1).
RAW = {
    "utt1": ("ab", [2, 1], [[3, 2], [5, 2], [1, 1]]),
    "utt2": ("ba", [1, 3], [[7, 4], [3, 1], [5, 3], [1, 2]]),
    "utt3": ("c", [1], [[1, 0]]),
}
A_FRAMES = np.array([[1, 2], [2, 2], [1, 1], [2, 3], [0, 2]], dtype=np.float64)  # normalised by hand
B_FRAMES = np.array([[0, 1], [3, 4]], dtype=np.float64)
C_FRAMES = np.array([[0, 0]], dtype=np.float64)


def hand_data(root: Path, *overrides: str):
    train = root / "data" / "train"
    train.mkdir(parents=True)
    (train / "text").write_text("".join(f"{u} {t}\n" for u, (t, _, _) in RAW.items()))
    (train / "durations").write_text("".join(f"{u} {' '.join(map(str, d))}\n" for u, (_, d, _) in RAW.items()))
    store = FeatureStore(root / "dump")
    for uttid, (_, _, mel) in RAW.items():
        store.write("mel", uttid, np.array(mel, dtype=np.float32))
    store.write_index("mel", list(RAW))
    unit = {"mean": {"pitch": np.zeros(1), "energy": np.zeros(1)}, "std": {"pitch": np.ones(1), "energy": np.ones(1)}}
    save_stats(root / "dump" / "stats.npz", FeatureStats(mean={"mel": np.array([1.0, 0.0]), **unit["mean"]},
                                                         std={"mel": np.array([2.0, 1.0]), **unit["std"]},
                                                         count={"mel": 8, "pitch": 8, "energy": 8}))
    (root / "tokens.txt").write_text("<pad>\n<unk>\na\nb\nc\nd\n")
    (root / "feats.yaml").write_text("n_mels: 2\n")
    config = root / "exp.yaml"
    config.write_text(
        f"base: {TINY}\n"
        "task_conf:\n"
        f"  train_data: {train}\n  train_feats: {root / 'dump'}\n  token_list: {root / 'tokens.txt'}\n"
        f"  stats: {root / 'dump' / 'stats.npz'}\n  feats_conf: {root / 'feats.yaml'}\n  frontend: en_char\n"
    )
    return load_experiment(config, list(overrides)).build_task()


def test_the_prior_is_the_per_token_mean_and_std_of_the_normalised_frames(tmp_path: Path) -> None:
    task = hand_data(tmp_path)
    mean, std = task.mel_prior()
    everything = np.concatenate([A_FRAMES, B_FRAMES, C_FRAMES])
    expected_mean = {2: A_FRAMES.mean(0), 3: B_FRAMES.mean(0), 4: C_FRAMES.mean(0)}
    expected_std = {2: A_FRAMES.std(0), 3: B_FRAMES.std(0), 4: C_FRAMES.std(0)}  # population std
    np.testing.assert_allclose(expected_mean[2], [1.2, 2.0])  # the hand computation itself
    np.testing.assert_allclose(expected_std[3], [1.5, 1.5])
    for token in (0, 1, 5):  # <pad>, <unk> and d never occur: the global statistics of all 8 frames
        expected_mean[token], expected_std[token] = everything.mean(0), everything.std(0)
    for token in range(6):
        np.testing.assert_allclose(mean[token].numpy(), expected_mean[token], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(std[token].numpy(), expected_std[token], rtol=1e-6, atol=1e-6)
    assert task.token_mel_prior().count.tolist() == [0, 0, 5, 2, 1, 0]

    model = task.build_model()  # prior: data (the tiny config), σ floored at 0.1
    assert model.conf.prior_std_floor == 0.1
    torch.testing.assert_close(model.prior_std[4], torch.tensor([0.1, 0.1]))  # c: one frame, σ = 0 -> floor
    torch.testing.assert_close(model.prior_std[2], torch.tensor(A_FRAMES.std(0), dtype=torch.float32))
    torch.testing.assert_close(model.prior_mean, mean)
    # per frame: the token rows expanded by the durations; padding gets μ = 0, σ = 1
    mask = torch.arange(5) < torch.tensor([[3], [1]])
    mu, sigma = model.frame_prior(torch.tensor([[2, 3], [4, 0]]), torch.tensor([[2, 1], [1, 0]]), mask)
    torch.testing.assert_close(mu[0], mean[[2, 2, 3, 0, 0]] * torch.tensor([1.0, 1, 1, 0, 0])[:, None])
    torch.testing.assert_close(sigma[0, :3], model.prior_std[[2, 2, 3]])
    torch.testing.assert_close(sigma[1], torch.tensor([[0.1, 0.1]] + [[1.0, 1.0]] * 4))
    assert "prior_mean" not in model.state_dict()  # an asset of the model directory, not a weight

    out = tmp_path / "model"
    names = task.export_assets(out)
    assert MEL_PRIOR_NAME in names
    again = load_experiment(tmp_path / "exp.yaml").build_task()
    again.load_assets(out)
    torch.testing.assert_close(again.mel_prior().std, std)


def test_the_standard_prior_is_zero_mean_unit_variance_and_computes_nothing(tmp_path: Path) -> None:
    task = hand_data(tmp_path, "model_conf.prior=standard")
    model = task.build_model()
    assert task._prior is None  # never asked for
    assert torch.equal(model.prior_mean, torch.zeros(6, 2)) and torch.equal(model.prior_std, torch.ones(6, 2))
    out = model.eval()(torch.tensor([[2, 3, 4]]), torch.tensor([3]), durations=torch.tensor([[2, 1, 3]]))
    assert torch.equal(out["prior_mean"], torch.zeros(1, 6, 2)) and torch.equal(out["prior_std"], torch.ones(1, 6, 2))
    assert MEL_PRIOR_NAME not in task.export_assets(tmp_path / "model")
    with pytest.raises(ConfigError, match="priorgrad_tts"):
        hand_data(tmp_path / "plain", "task=tts").build_model()  # prior: data needs the task that computes it


# ---------------------------------------------------------------- shapes
def test_the_paper_configuration_builds() -> None:
    conf = load_experiment(PAPER).model_conf
    model = MODELS.build("priorgrad_acoustic", conf, FixedSizes(vocab_size=76, n_mels=80))
    assert sum(p.numel() for p in model.parameters()) == 16_275_539
    assert sum(p.numel() for p in model.mel_head.parameters()) == 3_522_384
    denoiser = model.mel_head.denoiser
    net = denoiser.net
    assert len(net.blocks) == 12 and net.input_proj.out_channels == 128 and net.blocks[0].dilated.kernel_size == (3,)
    assert net.receptive_field == 1 + 12 * 2  # dilation 1 throughout (the reference)
    assert len(model.encoder.blocks) == 4 and model.encoder.blocks[0].ffn.conv1.kernel_size == (9,)
    assert model.mel_head.train_schedule.num_steps == 400
    torch.testing.assert_close(model.mel_head.train_schedule.betas[[0, -1]], torch.tensor([1e-4, 0.05], dtype=torch.float64))
    assert model.infer_steps == 6 and model.mel_head.fast_schedules["6"] == REFERENCE_FAST_6


def tiny_model(prior: str = "data", vocab: int = 20, n_mels: int = 10) -> PriorGradAcoustic:
    torch.manual_seed(0)
    model = MODELS.build("priorgrad_acoustic", tiny_conf(f"model_conf.prior={prior}"), FixedSizes(vocab_size=vocab, n_mels=n_mels))
    gen = torch.Generator().manual_seed(5)
    model.set_prior(torch.randn(vocab, n_mels, generator=gen), torch.rand(vocab, n_mels, generator=gen) + 0.05)
    for p in model.mel_head.denoiser.net.output_proj.parameters():  # untrained weights that still move the output
        torch.nn.init.normal_(p, std=0.1)
    return model


def batch(gen: torch.Generator) -> Dict[str, torch.Tensor]:
    lengths = torch.tensor([6, 3, 4])
    valid = torch.arange(6) < lengths[:, None]
    tokens = torch.randint(2, 20, (3, 6), generator=gen) * valid
    durations = torch.randint(1, 4, (3, 6), generator=gen) * valid
    frames = durations.sum(1)
    mel = torch.randn(3, int(frames.max()), 10, generator=gen) * (torch.arange(int(frames.max())) < frames[:, None])[..., None]
    pitch = torch.randn(3, 6, generator=gen) * valid
    energy = torch.randn(3, 6, generator=gen) * valid
    return dict(tokens=tokens, token_lengths=lengths, durations=durations, mel=mel, pitch=pitch, energy=energy, mel_lengths=frames)


def test_tiny_forward_loss_and_sample_shapes() -> None:
    model = tiny_model()
    data = batch(torch.Generator().manual_seed(0))
    out = model(**data)
    assert out["eps"].shape == out["eps_hat"].shape == out["prior_std"].shape == data["mel"].shape
    terms = model.loss(out, **data)
    assert set(terms) == {"loss", "diffusion_loss", "duration_loss", "pitch_loss", "energy_loss"}
    terms["loss"].backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if n.startswith("mel_head.")), "the decoder gets gradients"
    model.eval()
    with torch.inference_mode():
        sampled = model(data["tokens"], data["token_lengths"])
    assert sampled["mel"].shape == (3, int(sampled["frame_lengths"].max()), 10) and sampled["mel_post"] is sampled["mel"]


def test_a_padded_batch_equals_each_item_alone_in_the_deterministic_parts() -> None:
    """Encoder, adaptor and decoder hidden states, the per-frame prior and the noise prediction."""
    model = tiny_model().eval()
    data = batch(torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    with torch.inference_mode():
        keys = dict(durations=data["durations"], pitch=data["pitch"], energy=data["energy"], max_frames=data["mel"].size(1))
        full = model.decode(data["tokens"], data["token_lengths"], **keys)
        mu, sigma = model.frame_prior(data["tokens"], full["scaled_durations"], full["frame_mask"])
        x_t = torch.randn(data["mel"].shape, generator=gen)
        steps = torch.tensor([3.0, 150.5, 399.0])
        eps_hat = model.mel_head.denoiser(x_t, steps, full["decoded"], full["frame_mask"])
        free = model(data["tokens"], data["token_lengths"], generator=gen)
        for b in range(3):
            n, t = int(data["token_lengths"][b]), int(data["mel_lengths"][b])
            alone = model.decode(data["tokens"][b:b + 1, :n], data["token_lengths"][b:b + 1], durations=data["durations"][b:b + 1, :n],
                                 pitch=data["pitch"][b:b + 1, :n], energy=data["energy"][b:b + 1, :n])
            assert int(alone["frame_lengths"][0]) == t
            torch.testing.assert_close(full["decoded"][b, :t], alone["decoded"][0], atol=1e-5, rtol=1e-4)
            mu1, sigma1 = model.frame_prior(data["tokens"][b:b + 1, :n], alone["scaled_durations"], alone["frame_mask"])
            torch.testing.assert_close(mu[b, :t], mu1[0])
            torch.testing.assert_close(sigma[b, :t], sigma1[0])
            assert mu[b, t:].abs().sum() == 0 and bool((sigma[b, t:] == 1).all())
            eps1 = model.mel_head.denoiser(x_t[b:b + 1, :t], steps[b:b + 1], alone["decoded"], alone["frame_mask"])
            torch.testing.assert_close(eps_hat[b, :t], eps1[0], atol=1e-5, rtol=1e-4)
            free_alone = model(data["tokens"][b:b + 1, :n], data["token_lengths"][b:b + 1], generator=gen)
            torch.testing.assert_close(free["durations"][b, :n], free_alone["durations"][0])  # predicted durations


# ---------------------------------------------------------------- sampling
@pytest.mark.parametrize("steps", [2, 6, 12, 400])
def test_the_sampler_returns_finite_mels_of_the_regulated_length(steps: int) -> None:
    model = tiny_model().eval()
    model.infer_steps = steps
    data = batch(torch.Generator().manual_seed(3))
    with torch.inference_mode():
        out = model(data["tokens"], data["token_lengths"], durations=data["durations"], generator=torch.Generator().manual_seed(0))
        slow = model(data["tokens"], data["token_lengths"], durations=data["durations"], alpha=2.0)
    frames = data["durations"].sum(1)
    assert torch.equal(out["frame_lengths"], frames) and out["mel"].shape == (3, int(frames.max()), 10)
    assert torch.equal(slow["frame_lengths"], 2 * frames)
    assert bool(torch.isfinite(out["mel"]).all()) and out["mel"].abs().sum() > 0
    for b in range(3):
        assert out["mel"][b, int(frames[b]):].abs().sum() == 0
    schedule, conditioned = model.mel_head.inference_schedule()
    assert schedule.num_steps == steps
    if steps == 400:
        assert conditioned is None  # the training chain itself
    else:
        assert bool((conditioned[1:] > conditioned[:-1]).all()) and 0 <= float(conditioned[0]) and float(conditioned[-1]) <= 399


def test_eval_mode_noise_is_seeded_and_training_noise_is_the_global_generators() -> None:
    model = tiny_model().eval()
    data = batch(torch.Generator().manual_seed(4))
    with torch.inference_mode():
        first, second = (model(data["tokens"], data["token_lengths"])["mel"] for _ in range(2))
        other = model(data["tokens"], data["token_lengths"], generator=torch.Generator().manual_seed(9))["mel"]
        valid = [model.loss(model(**data), **data)["diffusion_loss"] for _ in range(2)]
    assert torch.equal(first, second) and not torch.equal(first, other)  # synthesis is reproducible (noise_seed)
    assert torch.equal(valid[0], valid[1])  # so is the validation loss
    model.train()
    torch.manual_seed(3)
    a = model(**data)["eps"]
    torch.manual_seed(3)
    assert torch.equal(a, model(**data)["eps"]) and not torch.equal(a, model(**data)["eps"])


def test_the_fast_schedules_start_at_one_noise_level_and_nest() -> None:
    """6 steps: the reference's; 2 and 12: its steps merged in threes / split in halves (docs/tts.md)."""
    conf = PriorGradAcousticConfig()
    chains = {k: NoiseSchedule.from_list(v).alpha_bars for k, v in conf.fast_schedules.items()}
    assert conf.fast_schedules["6"] == [0.001, 0.01, 0.05, 0.1, 0.5, 0.8]
    torch.testing.assert_close(chains["2"], chains["6"][[2, 5]], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(chains["12"][1::2], chains["6"], atol=1e-6, rtol=1e-5)
    assert float(chains["6"][-1]) == pytest.approx(0.0846, abs=1e-4)


def test_infer_steps_must_name_a_schedule() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="infer_steps must be one of"):
        model.infer_steps = 5
    with pytest.raises(ConfigError, match="infer_steps"):
        tiny_conf("model_conf.infer_steps=5")
    with pytest.raises(ConfigError, match="fast_schedules"):
        tiny_conf("model_conf.fast_schedules={'3': [0.1, 0.5]}")
    conf = tiny_conf("model_conf.infer_steps=4", "model_conf.fast_schedules.4=[0.01, 0.1, 0.5, 0.9]")
    assert conf.infer_steps == 4 and sorted(conf.fast_schedules, key=int) == ["2", "4", "6", "12"]  # one's own (a grid search)


# ---------------------------------------------------------------- training
@dataclass(frozen=True)
class OneClip(FixedSizes):
    """Sizes, and the prior of one clip ``(tokens, durations, mel)`` computed as the task computes it."""

    clip: Tuple[torch.Tensor, ...] = ()

    def mel_prior(self) -> MelPrior:
        tokens, durations, mel = self.clip
        moments = TokenMelMoments(self.vocab_size, self.n_mels)
        moments.update(tokens.numpy(), durations.numpy(), mel.numpy())
        prior = moments.prior()
        return MelPrior(torch.from_numpy(prior.mean), torch.from_numpy(prior.std))


def test_overfitting_one_clip_halves_the_diffusion_loss() -> None:
    """400 Adam steps on one 54-frame clip: the eval-mode diffusion loss (16 fixed noise draws) falls
    from ~1.0 (ε̂ = 0 at initialisation) to under half of it (1.007 -> 0.311 when measured)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    tokens, durations = torch.tensor([3, 5, 7, 4, 9]), torch.tensor([12, 8, 15, 10, 9])
    classes = torch.repeat_interleave(tokens, durations)
    position = torch.cat([torch.linspace(-1, 1, int(d)) for d in durations])
    shape, slope = torch.randn(12, 10, generator=gen), torch.randn(12, 10, generator=gen)
    mel = shape[classes] + 0.5 * slope[classes] * position[:, None] + 0.3 * torch.randn(len(classes), 10, generator=gen)
    task = OneClip(vocab_size=12, n_mels=10, clip=(tokens, durations, mel))
    model = MODELS.build("priorgrad_acoustic", tiny_conf("model_conf.diffusion.layers=4", "model_conf.diffusion.channels=32"), task)
    data = dict(tokens=tokens[None], token_lengths=torch.tensor([5]), durations=durations[None], mel=mel[None])

    def eval_loss() -> float:
        model.eval()
        with torch.no_grad():
            draws = [model.loss(model(**data, generator=torch.Generator().manual_seed(s)), **data)["diffusion_loss"] for s in range(16)]
        model.train()
        return float(torch.stack(draws).mean())

    before = eval_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(400):
        loss = model.loss(model(**data), **data)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = eval_loss()
    assert before == pytest.approx(1.0, abs=0.05)
    assert after < before / 2, (before, after)


def fixture_config(tmp_path: Path, data_root: Path, trainer: str) -> Path:
    """The tiny config on the shared tiny data set (bundled LJSpeech clips with MAS durations)."""
    config = tmp_path / "pg.yaml"
    config.write_text(
        f"base: {TINY}\n"
        "task_conf:\n"
        f"  train_data: {data_root / 'data' / 'train'}\n  train_feats: {data_root / 'dump'}\n"
        f"  valid_data: {data_root / 'data' / 'train'}\n  valid_feats: {data_root / 'dump'}\n"
        f"  token_list: {data_root / 'tokens.txt'}\n  stats: {data_root / 'dump' / 'stats.npz'}\n  feats_conf: {FEATS_CONF}\n"
        f"trainer: {trainer}\n"
    )
    return config


def run(config: Path, out: Path, resume: bool = False, overrides: Tuple[str, ...] = ()) -> Path:
    return Trainer(load_experiment(config, list(overrides)), out, device="cpu", resume=resume, show_progress=False).run()


def test_training_resumes_bit_for_bit_with_ema(tmp_path: Path, tiny_model_dir: Path) -> None:
    """20 steps straight == 10 steps + --resume + 10 (weights, EMA, optimiser; validation at step 10)."""
    torch.set_num_threads(1)
    config = fixture_config(tmp_path, tiny_model_dir.parent,
                            "{max_steps: 20, save_interval: 10, valid_interval: 10, log_interval: 5, ema_decay: 0.9, batch_bins: 2000}")
    straight = run(config, tmp_path / "straight")
    run(config, tmp_path / "split", overrides=("trainer.max_steps=10",))
    with contextlib.redirect_stderr(io.StringIO()):
        run(config, tmp_path / "split", resume=True)
    a, b = load_checkpoint(straight / "checkpoints/step_20.pt"), load_checkpoint(tmp_path / "split/checkpoints/step_20.pt")
    for key in ("model", "ema"):
        assert list(a[key]) == list(b[key])
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    assert torch.equal(a["optimizer"]["state"][0]["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])
    assert not torch.equal(a["ema"]["mel_head.denoiser.net.output_proj.weight"], a["model"]["mel_head.denoiser.net.output_proj.weight"])


@pytest.fixture(scope="module")
def priorgrad_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("priorgrad")
    return run(fixture_config(tmp, tiny_model_dir.parent, "{max_steps: 10, save_interval: 10, valid_interval: 0, log_interval: 5}"),
               tmp / "model")


def test_synth_runs_end_to_end_and_the_prior_is_a_checked_asset(priorgrad_model_dir: Path, tmp_path: Path) -> None:
    from speechtools.cli.main import cli
    from speechtools.tts.synthesizer import SynthesisInput, Synthesizer
    from speechtools.audio.io import load_audio

    assert MEL_PRIOR_NAME in (priorgrad_model_dir / "assets.sha256").read_text()
    synthesizer = Synthesizer(priorgrad_model_dir, device="cpu")
    model = synthesizer.model
    assert model.infer_steps == 6 and model.conf.prior == "data"
    torch.testing.assert_close(model.prior_mean, synthesizer.task.mel_prior().mean)
    for steps in (2, 12):
        model.infer_steps = steps
        result = next(iter(synthesizer.synthesize([SynthesisInput("x", "Printing, in the only sense.")], progress=False)))
        assert np.isfinite(result.wav).all() and np.isfinite(result.mel).all()
        assert result.mel.shape == (sum(result.durations), 80) and len(result.wav) > 0

    out = tmp_path / "synth"
    cli.main(args=["synth", "--model-dir", str(priorgrad_model_dir), "--text", "In the only sense.", "--out-dir", str(out)],
             prog_name="speechtools", standalone_mode=False)
    wav = load_audio(out / "utt0001.wav", 22050)
    assert wav.size > 0 and np.isfinite(wav).all()

    # the steps come from config.yaml's model_conf.infer_steps (e.g. a copy of the model directory)
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in priorgrad_model_dir.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    (copy / "config.yaml").write_text((copy / "config.yaml").read_text().replace("infer_steps: 6", "infer_steps: 12"))
    assert Synthesizer(copy, device="cpu").model.infer_steps == 12
    # a replaced prior is refused (assets.sha256), a missing one is named
    np.savez(copy / MEL_PRIOR_NAME, **{k: v * 2 for k, v in np.load(priorgrad_model_dir / MEL_PRIOR_NAME).items()})
    with pytest.raises(UserError, match="mel_prior.npz"):
        Synthesizer(copy, device="cpu")
