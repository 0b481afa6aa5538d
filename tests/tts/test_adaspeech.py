"""AdaSpeech 1/2 (``model: adaspeech``): conditional LayerNorm, acoustic encoders, the phoneme-level
predictor's warm-up, the mel encoder and its untranscribed path, and the adaptation parameter patterns."""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import torch

from speechtools.errors import ConfigError
from speechtools.models import MODELS
from speechtools.models.adaspeech import (
    ADAPTATION_PATTERNS, UNTRANSCRIBED_ADAPTATION_PATTERNS, AdaSpeech, AdaSpeechConfig,
)
from speechtools.models.task_info import FixedSizes
from speechtools.nn.layer_norm import ConditionalLayerNorm, LayerNorm
from speechtools.train.experiment import load_experiment

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "conf" / "tts" / "adaspeech_tiny.yaml"
TINY2 = REPO / "conf" / "tts" / "adaspeech2_tiny.yaml"
SMALL = REPO / "conf" / "tts" / "adaspeech_small.yaml"
SMALL2 = REPO / "conf" / "tts" / "adaspeech2_small.yaml"
N_MELS = 10


def tiny_model(config: Path = TINY, *overrides: str, n_speakers: int = 3, seed: int = 0) -> AdaSpeech:
    conf = load_experiment(config, ["model_conf.phoneme_predictor_warmup=0", *overrides]).model_conf
    torch.manual_seed(seed)
    return MODELS.build("adaspeech", conf, FixedSizes(vocab_size=20, n_mels=N_MELS, n_speakers=n_speakers))


def batch(seed: int = 0) -> Dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 3, 4])
    valid = torch.arange(6) < lengths[:, None]
    tokens = torch.randint(2, 20, (3, 6), generator=gen) * valid
    durations = torch.randint(1, 4, (3, 6), generator=gen) * valid
    frames = durations.sum(1)
    mel = torch.randn(3, int(frames.max()), N_MELS, generator=gen) * (torch.arange(int(frames.max())) < frames[:, None])[..., None]
    pitch = torch.randn(3, 6, generator=gen) * valid
    energy = torch.randn(3, 6, generator=gen) * valid
    return dict(tokens=tokens, token_lengths=lengths, durations=durations, mel=mel, mel_lengths=frames, pitch=pitch,
                energy=energy, speakers=torch.tensor([0, 2, 1]))


def item(data: Dict[str, torch.Tensor], b: int) -> Dict[str, torch.Tensor]:
    n, t = int(data["token_lengths"][b]), int(data["mel_lengths"][b])
    one = {k: v[b:b + 1] for k, v in data.items()}
    for key in ("tokens", "durations", "pitch", "energy"):
        one[key] = one[key][:, :n]
    one["mel"] = one["mel"][:, :t]
    return one


def cln_modules(model: AdaSpeech) -> List[ConditionalLayerNorm]:
    return [m for m in model.decoder.modules() if isinstance(m, ConditionalLayerNorm)]


def train_steps(model: AdaSpeech, inputs: Dict[str, Any], target: torch.Tensor, steps: int, key: str = "loss",
                params: Optional[List[torch.nn.Parameter]] = None, lr: float = 3e-3) -> List[float]:
    """Adam steps on ``model.loss(model(**inputs), target, **inputs)["loss"]``; the values of ``key`` before each step."""
    optim = torch.optim.Adam(model.parameters() if params is None else params, lr=lr)
    losses = []
    for step in range(steps):
        model.set_num_updates(step)
        terms = model.loss(model(**inputs), target, **{k: v for k, v in inputs.items() if k != "mel"})
        losses.append(terms[key].item())
        optim.zero_grad()
        terms["loss"].backward()
        optim.step()
    return losses


# ---------------------------------------------------------------- conditional layer norm
def test_cln_is_the_identity_at_initialisation_and_the_decoder_equals_one_with_plain_layer_norms() -> None:
    model = tiny_model().eval()
    assert len(cln_modules(model)) == 2 * len(model.decoder.blocks)
    x, cond = torch.randn(2, 5, 32), torch.randn(2, 32)
    for norm in cln_modules(model):
        torch.testing.assert_close(norm(x, cond), torch.nn.functional.layer_norm(x, (32,)))
    plain = copy.deepcopy(model)
    for block in plain.decoder.blocks:
        block.norm1, block.norm2 = LayerNorm(32), LayerNorm(32)
    data = batch()
    with torch.inference_mode():
        torch.testing.assert_close(model(**data)["mel"], plain(**data)["mel"])


def test_after_one_step_the_cln_scale_and_bias_differ_per_speaker() -> None:
    model = tiny_model()
    data = batch()
    emb = model.speaker_embedding.weight
    norm = cln_modules(model)[0]
    torch.testing.assert_close(norm.scale(emb[0]), norm.scale(emb[1]))  # zero weights: the same for everyone
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.loss(model(**data), **data)["loss"].backward()
    optim.step()
    with torch.no_grad():
        assert not torch.allclose(norm.scale(emb[0]), norm.scale(emb[1]))
        assert not torch.allclose(norm.bias(emb[0]), norm.bias(emb[2]))
        mel = [model.eval()(**{**data, "speakers": torch.full((3,), s)})["mel"] for s in (0, 1)]
    assert not torch.allclose(mel[0], mel[1])


def test_a_single_speaker_model_still_has_the_speaker_embedding_that_conditions_the_norms() -> None:
    model = tiny_model(n_speakers=1)
    assert model.speaker_embedding.num_embeddings == 1
    data = {k: v for k, v in batch().items() if k != "speakers"}
    assert model(**data)["mel"].shape == data["mel"].shape


# ---------------------------------------------------------------- shapes and padding
def test_shapes_and_loss_terms() -> None:
    model = tiny_model()
    data = batch()
    out = model(**data)
    assert out["mel"].shape == data["mel"].shape
    assert out["utterance_vector"].shape == (3, 32)
    assert out["phoneme_pred"].shape == out["phoneme_target"].shape == (3, 6, 4)
    terms = model.loss(out, **data)
    assert set(terms) == {"loss", "mel_loss", "duration_loss", "pitch_loss", "energy_loss", "phoneme_predictor_loss"}
    torch.testing.assert_close(terms["loss"], sum(v for k, v in terms.items() if k != "loss"))


@pytest.mark.parametrize("config", [TINY, TINY2])
def test_a_padded_batch_equals_each_item_alone(config: Path) -> None:
    model = tiny_model(config).eval()
    data = batch(1)
    reference = {"reference_mel": data["mel"].flip(0), "reference_mel_lengths": data["mel_lengths"].flip(0)}
    with torch.inference_mode():
        forced = model(**data)
        free = model(data["tokens"], data["token_lengths"], speakers=data["speakers"], **reference)
        for b in range(3):
            one = item(data, b)
            t, n = int(data["mel_lengths"][b]), int(data["token_lengths"][b])
            alone = model(**one)
            torch.testing.assert_close(forced["mel_post"][b, :t], alone["mel_post"][0], atol=1e-5, rtol=1e-4)
            assert forced["mel_post"][b, t:].abs().sum() == 0
            r = 2 - b
            ref_alone = {"reference_mel": data["mel"][r:r + 1, :int(data["mel_lengths"][r])],
                         "reference_mel_lengths": data["mel_lengths"][r:r + 1]}
            free_alone = model(one["tokens"], one["token_lengths"], speakers=one["speakers"], **ref_alone)
            torch.testing.assert_close(free["durations"][b, :n], free_alone["durations"][0])
            tf = int(free_alone["frame_lengths"][0])
            torch.testing.assert_close(free["mel_post"][b, :tf], free_alone["mel_post"][0], atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- acoustic conditions
def test_the_utterance_vector_follows_the_reference_and_ignores_its_padding() -> None:
    model = tiny_model().eval()
    gen = torch.Generator().manual_seed(4)
    ref = torch.randn(2, 20, N_MELS, generator=gen)
    lengths = torch.tensor([20, 11])
    with torch.inference_mode():
        both = model.utterance_encoder(ref, lengths)
        garbage = ref.clone()
        garbage[1, 11:] = 1e3
        torch.testing.assert_close(model.utterance_encoder(garbage, lengths), both)
        alone = model.utterance_encoder(ref[1:, :11], lengths[1:])
        torch.testing.assert_close(both[1:], alone, atol=1e-6, rtol=1e-5)
        assert not torch.allclose(both[0], both[1])
        data = batch()
        a = model(data["tokens"], data["token_lengths"], reference_mel=ref[:1].expand(3, -1, -1))
        b = model(data["tokens"], data["token_lengths"], reference_mel=ref[1:, :11].expand(3, -1, -1))
    assert not torch.allclose(a["utterance_vector"], b["utterance_vector"])


def test_with_a_target_mel_the_encoder_is_used_and_without_one_the_predictor() -> None:
    model = tiny_model().eval()
    data = batch()
    ref = {"reference_mel": data["mel"], "reference_mel_lengths": data["mel_lengths"]}
    with torch.inference_mode():
        forced, free = model(**data), model(data["tokens"], data["token_lengths"], durations=data["durations"], **ref)
        torch.nn.init.normal_(model.phoneme_predictor.proj.weight)  # another predictor
        forced2, free2 = model(**data), model(data["tokens"], data["token_lengths"], durations=data["durations"], **ref)
    torch.testing.assert_close(forced["mel"], forced2["mel"])  # teacher-forced: the encoder's vectors
    assert not torch.allclose(free["mel"], free2["mel"])  # synthesis: the predictor's


def test_the_predictor_learns_only_after_its_warm_up_and_its_target_is_detached() -> None:
    model = tiny_model(TINY, "model_conf.phoneme_predictor_warmup=5")
    data = batch()
    terms = model.loss(model(**data), **data)
    assert terms["phoneme_predictor_loss"].item() == 0.0
    terms["loss"].backward()
    assert all(p.grad is None for p in model.phoneme_predictor.parameters())
    model.zero_grad(set_to_none=True)
    model.set_num_updates(5)
    terms = model.loss(model(**data), **data)
    assert terms["phoneme_predictor_loss"].item() > 0
    encoder_params = list(model.phoneme_encoder.parameters())
    grads = torch.autograd.grad(terms["phoneme_predictor_loss"], encoder_params + list(model.phoneme_predictor.parameters()),
                                allow_unused=True)
    assert all(g is None for g in grads[:len(encoder_params)]), "no gradient into the phoneme encoder from the predictor loss"
    assert all(g is not None and g.abs().sum() > 0 for g in grads[len(encoder_params):])


# ---------------------------------------------------------------- AdaSpeech 2
def test_the_mel_encoder_loss_is_present_and_decreases() -> None:
    model = tiny_model(TINY2)
    data = batch()
    losses = train_steps(model, data, data["mel"], 15, key="mel_encoder_loss")
    assert losses[-1] < 0.7 * losses[0], losses


def test_the_mel_encoder_loss_does_not_move_the_text_side() -> None:
    model = tiny_model(TINY2)
    data = batch()
    out = model(**data)
    grads = torch.autograd.grad(model.loss(out, **data)["mel_encoder_loss"], list(model.encoder.parameters()), allow_unused=True)
    assert all(g is None for g in grads)


def test_untranscribed_mode_needs_only_mel_and_adapting_the_decoder_norms_reconstructs_it() -> None:
    model = tiny_model(TINY2)
    data = batch()
    out = model(untranscribed=True, mel=data["mel"], mel_lengths=data["mel_lengths"], speakers=data["speakers"])
    assert out["mel_post"].shape == data["mel"].shape and "token_mask" not in out
    assert set(model.loss(out, data["mel"])) == {"loss", "mel_loss"}
    chosen = [p for n, p in model.named_parameters() if any(fnmatch.fnmatchcase(n, q) for q in UNTRANSCRIBED_ADAPTATION_PATTERNS)]
    inputs = {"untranscribed": True, "mel": data["mel"], "mel_lengths": data["mel_lengths"]}
    losses = train_steps(model, inputs, data["mel"], 15, params=chosen, lr=1e-2)
    assert losses[-1] < losses[0], losses
    model.eval()
    with torch.inference_mode():
        both = model(untranscribed=True, mel=data["mel"], mel_lengths=data["mel_lengths"])
        one = model(untranscribed=True, mel=data["mel"][1:2, :int(data["mel_lengths"][1])])
    torch.testing.assert_close(both["mel_post"][1, :int(data["mel_lengths"][1])], one["mel_post"][0], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="mel_encoder"):
        tiny_model()(untranscribed=True, mel=data["mel"])


def test_mel_reconstruction_through_the_decoder_is_an_optional_source_training_term() -> None:
    model = tiny_model(TINY2, "model_conf.mel_encoder_recon_weight=0.5")
    data = batch()
    terms = model.loss(model(**data), **data)
    assert {"mel_encoder_loss", "mel_encoder_recon_loss"} <= set(terms)


@pytest.mark.parametrize("config", [TINY, TINY2])
def test_a_few_training_steps_lower_the_loss(config: Path) -> None:
    data = batch(2)
    losses = train_steps(tiny_model(config), data, data["mel"], 30)
    assert losses[-1] < 0.7 * losses[0], losses


# ---------------------------------------------------------------- adaptation parameters and configs
def selected(model: AdaSpeech, patterns) -> Dict[str, int]:
    return {n: p.numel() for n, p in model.named_parameters() if any(fnmatch.fnmatchcase(n, q) for q in patterns)}


@pytest.mark.parametrize("config", [SMALL, SMALL2])
def test_the_adaptation_patterns_select_the_cln_projections_and_the_speaker_embedding(config: Path) -> None:
    conf = load_experiment(config).model_conf
    model = MODELS.build("adaspeech", conf, FixedSizes(vocab_size=76, n_mels=80, n_speakers=1))
    cln = {f"{name}.{part}.{kind}" for name, m in model.named_modules() if isinstance(m, ConditionalLayerNorm)
           for part in ("scale", "bias") for kind in ("weight", "bias")}
    assert all(n.startswith("decoder.") for n in cln) and len(cln) == 4 * 2 * 3
    assert set(selected(model, ADAPTATION_PATTERNS)) == cln | {"speaker_embedding.weight"}
    assert set(selected(model, UNTRANSCRIBED_ADAPTATION_PATTERNS)) == cln
    counts = {"total": sum(p.numel() for p in model.parameters()), "cln": sum(selected(model, UNTRANSCRIBED_ADAPTATION_PATTERNS).values()),
              "speaker row": conf.dim, "per speaker stored": 2 * conf.dim * len(cln) // 4 + conf.dim}
    print(config.name, counts)  # docs/tts.md (AdaSpeech) quotes these
    assert counts["cln"] == 6 * 2 * (128 * 128 + 128) and counts["per speaker stored"] == 6 * 2 * 128 + 128


def test_the_paper_configuration_builds() -> None:
    conf = load_experiment(REPO / "conf" / "tts" / "adaspeech.yaml").model_conf
    assert conf.decoder.norm == "conditional" and conf.dim == 256 and not conf.mel_encoder
    model = MODELS.build("adaspeech", conf, FixedSizes(vocab_size=76, n_mels=80, n_speakers=1))
    conv = model.utterance_encoder.convs[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (80, 256, (5,), (3,))
    assert model.phoneme_encoder.proj.out_features == model.phoneme_predictor.proj.out_features == 4
    print("adaspeech.yaml parameters", sum(p.numel() for p in model.parameters()))


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="phoneme_predictor_warmup"):
        load_experiment(TINY, ["model_conf.phoneme_predictor_warmup=-1"]).model_conf
    with pytest.raises(ConfigError, match="encoder.norm"):
        load_experiment(TINY, ["model_conf.encoder.norm=conditional"]).model_conf
    assert isinstance(load_experiment(TINY2).model_conf, AdaSpeechConfig)


# ---------------------------------------------------------------- through the trainer and synth
def test_the_trainer_trains_adaspeech2_and_synth_takes_a_reference_clip(tiny_model_dir: Path, lj_reference: Path,
                                                                        tmp_path: Path) -> None:
    from speechtools.cli.main import main
    from speechtools.train.trainer import Trainer
    from tiny_tts import FEATS_CONF

    root = tiny_model_dir.parent
    config = tmp_path / "ada.yaml"
    config.write_text(
        f"base: {TINY2}\n"
        "task_conf:\n"
        f"  train_data: {root / 'data' / 'train'}\n  train_feats: {root / 'dump'}\n"
        f"  token_list: {root / 'tokens.txt'}\n  stats: {root / 'dump' / 'stats.npz'}\n  feats_conf: {FEATS_CONF}\n"
        "model_conf: {phoneme_predictor_warmup: 3}\n"
        "trainer: {max_steps: 6, save_interval: 6, valid_interval: 0, log_interval: 3}\n"
    )
    Trainer(load_experiment(config), tmp_path / "model", device="cpu", show_progress=False).run()
    log = (tmp_path / "model" / "train_log.jsonl").read_text()
    assert "mel_encoder_loss" in log and "phoneme_predictor_loss" in log
    out = tmp_path / "wav"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tmp_path / "model"), "--text", "Printing, in the only sense.", "--out-dir", str(out),
              "--reference-audio", str(lj_reference), "--device", "cpu"])
    assert exc.value.code == 0 and any(p.suffix == ".wav" for p in out.iterdir())
