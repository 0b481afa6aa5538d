"""FastCorrect and AR corrector: shapes, expansion, losses, learning a toy correction, beam search."""

from __future__ import annotations

import torch

from speechtools.models import MODELS
from speechtools.models.fastcorrect import FastCorrect, FastCorrectConfig, expansion_index
from speechtools.models.transformer_corrector import TransformerCorrector, TransformerCorrectorConfig
from speechtools.nn.beam_search import beam_search
from speechtools.tasks.base import split_loss_terms

TINY = dict(vocab_size=12, d_model=32, n_heads=4, ffn_dim=64, encoder_layers=2, decoder_layers=2, dropout=0.0)


def test_registered_by_name() -> None:
    assert MODELS.get("fastcorrect").cls is FastCorrect
    assert MODELS.get("transformer_corrector").cls is TransformerCorrector


def test_expansion_matches_paper_example() -> None:
    # B B D E F with durations 2 1 1 0 1 -> decoder input B B B D F (Sec. 3.2)
    index, lengths = expansion_index(torch.tensor([[2, 1, 1, 0, 1], [1, 3, 0, 0, 0]]))
    assert index[0].tolist() == [0, 0, 1, 2, 4]
    assert lengths.tolist() == [5, 4]
    assert index[1, :4].tolist() == [0, 1, 1, 1]


def test_length_predictor_convs_equal_conv1d() -> None:
    from speechtools.models.fastcorrect import LengthPredictor

    torch.manual_seed(0)
    for kernel in (3, 5):
        conv = LengthPredictor(6, 1, kernel, 0.0, 4).convs[0]
        reference = torch.nn.Conv1d(6, 6, kernel, padding=kernel // 2)
        reference.load_state_dict(conv.state_dict())
        x = torch.randn(2, 7, 6)
        expected = reference(x.transpose(1, 2)).transpose(1, 2)
        assert torch.allclose(conv(x), expected, atol=1e-5)


def test_single_sentence_decodes_like_its_row_in_a_padded_batch() -> None:
    torch.manual_seed(0)
    model = FastCorrect(FastCorrectConfig(**TINY)).eval()
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    lengths = torch.tensor([4, 2])
    durations = torch.tensor([[1, 2, 0, 1], [1, 1, 0, 0]])
    with torch.inference_mode():
        batch = model(src, lengths, durations)
        for k in range(2):
            n = int(lengths[k])
            one = model(src[k : k + 1, :n], lengths[k : k + 1], durations[k : k + 1, :n])
            out_len = int(one.lengths[0])
            assert torch.allclose(one.logits[0], batch.logits[k, :out_len], atol=1e-4)
            assert torch.allclose(one.durations[0], batch.durations[k, :n], atol=1e-4)


def test_paper_size_matches_the_reference_architecture() -> None:
    model = FastCorrect(FastCorrectConfig(vocab_size=1000))
    ar = TransformerCorrector(TransformerCorrectorConfig(vocab_size=1000))
    assert len(model.encoder.layers.layers) == 6 and len(model.layers) == 6
    assert model.encoder.embed.weight.shape == (1000, 512)
    assert len(model.predictor.convs) == 5 and model.predictor.convs[0].kernel_size == (3,)
    assert model.predictor.duration[0].out_features == 256
    enc_params = sum(p.numel() for p in model.encoder.parameters())
    assert enc_params == sum(p.numel() for p in ar.encoder.parameters())
    dec_fc = sum(p.numel() for p in model.layers.parameters())
    dec_ar = sum(p.numel() for p in ar.layers.parameters())
    assert dec_fc == dec_ar


def _toy_batch():
    # correct "3 4 5" -> "3 9 5"; "6 7" -> "6 8 7" (insertion), "10 11 10" -> "10 10" (deletion)
    src = torch.tensor([[3, 4, 5], [6, 7, 0], [10, 11, 10]])
    lengths = torch.tensor([3, 2, 3])
    durations = torch.tensor([[1, 1, 1], [2, 1, 0], [1, 0, 1]])
    edited = torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 1, 0]])
    target = torch.tensor([[3, 9, 5], [6, 8, 7], [10, 10, 0]])
    return src, lengths, durations, edited, target


def test_fastcorrect_learns_toy_corrections_and_infers_lengths() -> None:
    torch.manual_seed(0)
    model = FastCorrect(FastCorrectConfig(**TINY, label_smoothing=0.0))
    src, lengths, durations, edited, target = _toy_batch()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(120):
        loss, stats = split_loss_terms(model.loss(model(src, lengths, durations), lengths, durations, edited, target))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert set(stats) == {"ce", "dur_mse", "edit_bce"}
    model.eval()
    with torch.inference_mode():
        ids, out = model.infer(src, lengths)
    assert out.lengths.tolist() == [3, 3, 2]
    assert ids[0].tolist() == [3, 9, 5] and ids[1].tolist() == [6, 8, 7] and ids[2, :2].tolist() == [10, 10]
    with torch.inference_mode():
        gated, _ = model.infer(src, lengths, edit_threshold=1.0)
    assert gated[0].tolist() == [3, 4, 5]
    frozen = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    with torch.inference_mode():
        kept, out = model.infer(src, lengths, frozen=frozen)
    # a frozen source token is copied with duration 1; the others are still corrected
    assert kept[0].tolist() == [3, 4, 5] and kept[1, :2].tolist() == [6, 7]
    assert out.lengths.tolist() == [3, 2, 2] and kept[2, :2].tolist() == [10, 10]


def test_fastcorrect_loss_terms_follow_the_reference() -> None:
    torch.manual_seed(0)
    model = FastCorrect(FastCorrectConfig(**TINY, max_duration=1.0))
    src, lengths, durations, edited, target = _toy_batch()
    with torch.no_grad():
        out = model(src, lengths, durations)
    with torch.no_grad():
        loss, stats = split_loss_terms(model.loss(out, lengths, durations, edited, target))
    valid = torch.arange(3)[None] < lengths[:, None]
    # durations clamped to max_duration (the 2 of the insertion counts as 1 here)
    mse = torch.nn.functional.mse_loss(out.durations[valid], durations.float().clamp(0, 1.0)[valid])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out.edit_logits[valid], edited[valid])
    ce = torch.nn.functional.cross_entropy(out.logits.reshape(-1, 12), target.reshape(-1), ignore_index=0, label_smoothing=0.1)
    assert abs(stats["dur_mse"] - float(mse)) < 1e-6 and abs(stats["edit_bce"] - float(bce)) < 1e-6
    assert abs(float(loss.detach()) - float(ce + 0.5 * mse + 0.5 * bce)) < 1e-5


def test_incremental_decoding_equals_teacher_forcing() -> None:
    torch.manual_seed(0)
    model = TransformerCorrector(TransformerCorrectorConfig(**TINY)).eval()
    src, lengths = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2])
    prev = torch.tensor([[2, 5, 6, 7], [2, 9, 9, 9]])
    with torch.inference_mode():
        full = torch.log_softmax(model(src, lengths, prev), dim=-1)
        state = model.init_state(src, lengths)
        steps = torch.stack([model.step(prev[:, t], state) for t in range(4)], dim=1)
    torch.testing.assert_close(steps, full, atol=1e-5, rtol=1e-5)


def _brute_best(model, src, lengths, length: int):
    """Exhaustive search over all sequences of a fixed length (tiny vocabulary, ``</s>`` = 3 last)."""
    import itertools

    best, best_seq = float("-inf"), None
    vocab = model.conf.vocab_size
    for seq in itertools.product([v for v in range(vocab) if v != 3], repeat=length):
        prev = torch.tensor([[2, *seq]])
        logp = torch.log_softmax(model(src, lengths, prev), dim=-1)
        tgt = torch.tensor([*seq, 3])
        score = float(logp[0, torch.arange(length + 1), tgt].sum())
        if score > best:
            best, best_seq = score, list(seq)
    return best_seq


def test_beam_search_finds_the_exhaustive_optimum_with_a_wide_beam() -> None:
    torch.manual_seed(1)
    conf = TransformerCorrectorConfig(**{**TINY, "vocab_size": 7})
    model = TransformerCorrector(conf).eval()
    src, lengths = torch.tensor([[4, 5, 6]]), torch.tensor([3])
    with torch.inference_mode():
        hyp = beam_search(model, src, lengths, bos=2, eos=3, beam_size=36, max_lengths=torch.tensor([3]), min_lengths=torch.tensor([3]))
        assert hyp[0] == _brute_best(model, src, lengths, 3)


def test_beam_search_batched_equals_one_by_one_and_respects_forced_length() -> None:
    torch.manual_seed(2)
    model = TransformerCorrector(TransformerCorrectorConfig(**TINY)).eval()
    src = torch.tensor([[4, 5, 6, 7], [8, 9, 0, 0], [10, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    with torch.inference_mode():
        batched = beam_search(model, src, lengths, 2, 3, beam_size=4)
        single = [beam_search(model, src[k : k + 1, : lengths[k]], lengths[k : k + 1], 2, 3, beam_size=4)[0] for k in range(3)]
        forced = beam_search(model, src, lengths, 2, 3, beam_size=4, max_lengths=torch.tensor([5, 3, 2]), min_lengths=torch.tensor([5, 3, 2]))
    assert batched == single
    assert [len(h) for h in forced] == [5, 3, 2]
