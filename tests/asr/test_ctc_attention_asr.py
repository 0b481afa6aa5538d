"""The joint CTC/attention recogniser: hybrid loss against its definition, MixSpeech against its
definition (λ = 1 is the unmixed loss, the mixed loss equals λ·L(x_mix, y_i) + (1 − λ)·L(x_mix, y_j)
computed by hand, gradients check), padding invariance, decoding paths, and overfitting ten real
utterances to CER 0."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch

import speechtools.models.ctc_attention_asr as asr_module
from speechtools.audio.features import log_mel
from speechtools.audio.io import load_audio
from speechtools.datasets.tts import load_feature_config
from speechtools.models import MODELS
from speechtools.models.ctc_attention_asr import CTCAttentionASRConfig, MixSpeechConfig, SpecAugmentConfig
from speechtools.models.task_info import FixedSizes
from speechtools.nn.mixspeech import mix_features
from speechtools.text.asr_units import asr_token_list, get_asr_units

ROOT = Path(__file__).resolve().parents[2]


def tiny(**changes) -> asr_module.CTCAttentionASR:
    sizes = dict(dim=32, heads=2, encoder_ffn=64, encoder_layers=2, kernel=5, decoder_layers=1, decoder_ffn=64, dropout=0.0)
    conf = CTCAttentionASRConfig(**{**sizes, **changes})
    return MODELS.build("ctc_attention_asr", conf, FixedSizes(vocab_size=9, n_mels=12))


def toy_batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([40, 29, 33])
    mel = torch.randn(3, 40, 12, generator=g)
    mel = mel * (torch.arange(40)[None, :, None] < lengths[:, None, None])
    tokens = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0], [3, 3, 2, 0]])
    token_lengths = torch.tensor([4, 2, 3])
    return {"mel": mel, "mel_lengths": lengths, "tokens": tokens, "token_lengths": token_lengths}


def test_hybrid_loss_is_the_weighted_sum_of_ctc_and_attention() -> None:
    torch.manual_seed(0)
    model = tiny(ctc_weight=0.3).eval()
    batch = toy_batch()
    terms = model.loss(model(**batch), **batch)
    assert torch.allclose(terms["loss"], 0.3 * terms["ctc"] + 0.7 * terms["att"])
    # CTC term: torch's CTC loss summed per utterance, averaged over the batch (ESPnet's length_normalized_loss: false).
    enc, enc_len = model.encode(batch["mel"], batch["mel_lengths"])
    lp = model.ctc_log_probs(enc)
    ref = torch.nn.functional.ctc_loss(lp.transpose(0, 1), batch["tokens"], enc_len, batch["token_lengths"], reduction="sum") / 3
    assert torch.allclose(terms["ctc"], ref, atol=1e-5)


def test_pure_ctc_has_no_decoder() -> None:
    model = tiny(ctc_weight=1.0)
    assert model.decoder is None
    batch = toy_batch()
    terms = model.loss(model(**batch), **batch)
    assert set(terms) == {"loss", "ctc"} and torch.allclose(terms["loss"], terms["ctc"])


def test_a_padded_batch_gives_each_item_its_own_loss() -> None:
    torch.manual_seed(0)
    model = tiny().eval()
    batch = toy_batch()
    out = model(**batch)
    per_utt = model._ctc(model.ctc_log_probs(out["enc"]), out["enc_lengths"], batch["tokens"], batch["token_lengths"])
    for b in range(3):
        n, m = int(batch["mel_lengths"][b]), int(batch["token_lengths"][b])
        one = {"mel": batch["mel"][b:b + 1, :n], "mel_lengths": batch["mel_lengths"][b:b + 1],
               "tokens": batch["tokens"][b:b + 1, :m], "token_lengths": batch["token_lengths"][b:b + 1]}
        o = model(**one)
        alone = model._ctc(model.ctc_log_probs(o["enc"]), o["enc_lengths"], one["tokens"], one["token_lengths"])
        assert torch.allclose(alone, per_utt[b:b + 1], atol=1e-4)


def test_mixspeech_with_lambda_one_is_the_unmixed_loss(monkeypatch) -> None:
    batch = toy_batch()
    torch.manual_seed(0)
    plain = tiny().train()
    mixed = tiny(mixspeech=MixSpeechConfig(alpha=0.5, proportion=1.0)).train()
    mixed.load_state_dict(plain.state_dict())
    monkeypatch.setattr(asr_module, "mix_features", functools.partial(mix_features, lam=1.0))
    a = plain.loss(plain(**batch), **batch)
    b = mixed.loss(mixed(**batch), **batch)
    for key in ("loss", "ctc", "att"):
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_mixspeech_loss_is_lambda_weighted_loss_of_the_mixed_input_against_both_targets(monkeypatch) -> None:
    batch = toy_batch()
    torch.manual_seed(0)
    model = tiny(mixspeech=MixSpeechConfig(alpha=0.5, proportion=1.0)).train()
    seen = {}

    def recording_mix(*args, **kwargs):
        seen["mix"] = mix_features(*args, lam=0.3, **kwargs)
        return seen["mix"]

    monkeypatch.setattr(asr_module, "mix_features", recording_mix)
    torch.manual_seed(5)
    terms = model.loss(model(**batch), **batch)
    mix = seen["mix"]
    assert mix.lam == 0.3 and mix.rows.tolist() == [0, 1, 2]
    # By hand: the (eval-mode = no augmentation) model on the mixed features, against each target.
    model.eval()
    x, lengths = mix.features, mix.lengths

    def hybrid(tokens, token_lengths):
        t = model.loss(model(mel=x, mel_lengths=lengths, tokens=tokens, token_lengths=token_lengths),
                       tokens=tokens, token_lengths=token_lengths)
        return t["loss"]

    partners = mix.partners
    p_tokens = batch["tokens"][partners]
    p_lengths = batch["token_lengths"][partners]
    expected = 0.3 * hybrid(batch["tokens"], batch["token_lengths"]) + 0.7 * hybrid(p_tokens, p_lengths)
    assert torch.allclose(terms["loss"], expected, atol=1e-5)
    # Mixed features: λ·x_i + (1 − λ)·x_j over the longer of the two lengths.
    for r, p in zip(mix.rows.tolist(), partners.tolist()):
        assert torch.allclose(x[r], 0.3 * batch["mel"][r] + 0.7 * batch["mel"][p])
        assert int(lengths[r]) == max(int(batch["mel_lengths"][r]), int(batch["mel_lengths"][p]))


def test_mixspeech_proportion_mixes_that_share_of_the_batch() -> None:
    torch.manual_seed(1)
    mel = torch.randn(10, 20, 4)
    mix = mix_features(mel, torch.full((10,), 20), alpha=0.5, proportion=0.4)
    assert mix.rows.numel() == 4 and (mix.weights == 1).sum() >= 6
    untouched = [b for b in range(10) if b not in mix.rows.tolist()]
    assert torch.equal(mix.features[untouched], mel[untouched])
    with pytest.raises(ValueError):
        mix_features(mel, torch.full((10,), 20), alpha=0.0, proportion=0.5)


def test_mixspeech_gradient_checks_on_a_toy_batch(monkeypatch) -> None:
    torch.manual_seed(0)
    model = tiny(mixspeech=MixSpeechConfig(alpha=0.5, proportion=1.0), encoder_layers=1).double().train()
    batch = toy_batch()
    batch["mel"] = batch["mel"][:, :24].double().contiguous()
    batch["mel_lengths"] = torch.tensor([24, 20, 22])
    monkeypatch.setattr(asr_module, "mix_features", functools.partial(mix_features, lam=0.6))

    def f(mel):
        torch.manual_seed(3)  # the same partners on every call
        b = dict(batch, mel=mel)
        return model.loss(model(**b), **b)["loss"]

    mel = batch["mel"].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(f, (mel,), eps=1e-6, atol=1e-4, nondet_tol=1e-7)


def test_spec_augment_only_while_training() -> None:
    torch.manual_seed(0)
    model = tiny(spec_augment=SpecAugmentConfig())
    batch = toy_batch()
    model.eval()
    a = model(**batch)["enc"]
    b = model(**batch)["enc"]
    assert torch.equal(a, b)
    model.train()
    torch.manual_seed(1)
    c = model(**batch)["enc"]
    assert not torch.allclose(a, c)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="ctc_weight"):
        CTCAttentionASRConfig(ctc_weight=1.5)
    with pytest.raises(ValueError, match="divisible"):
        CTCAttentionASRConfig(dim=30, heads=4)
    with pytest.raises(ValueError, match="decoder_layers"):
        CTCAttentionASRConfig(decoder_layers=0, ctc_weight=0.3)


def _ten_shortest_mini_utterances():
    corpus = ROOT / "egs" / "ljspeech" / "mini_corpus"
    cfg = load_feature_config(ROOT / "conf" / "feats" / "mel22k.yaml")
    texts = {}
    for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines():
        uttid, _, normalised = line.split("|")
        texts[uttid] = normalised
    mels = {u: log_mel(torch.from_numpy(load_audio(corpus / "wavs" / f"{u}.flac", cfg.sample_rate, resample=True)), cfg)
            for u in texts}
    chosen = sorted(mels, key=lambda u: mels[u].size(0))[:10]
    return [(u, texts[u], mels[u]) for u in chosen]


STEPS = 200  # 150 already reach CER 0 (2026-12-06); 200 leaves a margin


@pytest.mark.slow
def test_overfitting_ten_real_utterances_reaches_cer_zero() -> None:
    torch.manual_seed(0)
    units = get_asr_units("en_char")
    data = _ten_shortest_mini_utterances()
    tokens = asr_token_list([u for _, text, _ in data for u in units.tokenize(text)])
    stacked = torch.cat([m for _, _, m in data])
    mean, std = stacked.mean(0), stacked.std(0)
    mels = [(m - mean) / std for _, _, m in data]
    ids = [torch.tensor(tokens.encode(units.tokenize(text))) for _, text, _ in data]
    batch = {
        "mel": torch.nn.utils.rnn.pad_sequence(mels, batch_first=True),
        "mel_lengths": torch.tensor([m.size(0) for m in mels]),
        "tokens": torch.nn.utils.rnn.pad_sequence(ids, batch_first=True),
        "token_lengths": torch.tensor([len(i) for i in ids]),
    }
    conf = CTCAttentionASRConfig(dim=64, heads=4, encoder_ffn=128, encoder_layers=2, kernel=7, decoder_layers=1,
                                 decoder_ffn=128, dropout=0.0, ctc_weight=0.5, label_smoothing=0.0)
    model = MODELS.build("ctc_attention_asr", conf, FixedSizes(vocab_size=len(tokens), n_mels=80))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = model.loss(model(**batch), **batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    model.eval()
    references = [units.detokenize(units.tokenize(t)) for _, t, _ in data]
    with torch.inference_mode():
        greedy = model.recognize(batch["mel"], batch["mel_lengths"], beam_size=1, ctc_weight=1.0)
        joint = model.recognize(batch["mel"], batch["mel_lengths"], beam_size=3, ctc_weight=0.5)
    for hyps in (greedy, joint):  # CER 0: every transcript exactly right
        texts = [units.detokenize(tokens.decode(h)) for h in hyps]
        assert texts == references, [(r, h) for r, h in zip(references, texts) if r != h]
