"""FastCorrect 2: shapes, padding invariance, the candidate choice, n = 1, and learning a toy batch."""

from __future__ import annotations

from typing import Tuple

import pytest
import torch

from speechtools.models import MODELS
from speechtools.models.fastcorrect import FastCorrect
from speechtools.models.fastcorrect2 import FastCorrect2, FastCorrect2Config
from speechtools.tasks.base import split_loss_terms

TINY = dict(vocab_size=14, d_model=32, n_heads=4, ffn_dim=64, encoder_layers=2, decoder_layers=2, dropout=0.0, predictor_dropout=0.0, head_hidden=16)


def model(n: int = 3, seed: int = 0) -> FastCorrect2:
    torch.manual_seed(seed)
    return FastCorrect2(FastCorrect2Config(n_candidates=n, **TINY))


def toy_batch(n: int = 3) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two sentences of aligned rows (4 = <void>), padded; every row's durations sum to its target's length."""
    src = torch.tensor([[[5, 6, 7, 8, 9], [5, 4, 7, 10, 9], [11, 6, 7, 8, 4]],
                        [[5, 12, 13, 0, 0], [5, 12, 4, 0, 0], [6, 12, 13, 0, 0]]])[:, :n]
    lengths = torch.tensor([5, 3])
    durations = torch.tensor([[[1, 1, 1, 1, 1], [1, 2, 1, 0, 1], [1, 1, 1, 2, 0]],
                              [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 2, 0, 0, 0]]])[:, :n]
    target = torch.tensor([[5, 6, 7, 8, 9], [5, 12, 13, 0, 0]])
    edited = (src != target[:, None, :]).float().masked_fill(durations == 0, 1.0)
    return src, lengths, durations, target, edited


def test_registered_and_built_by_the_construction_rule() -> None:
    assert MODELS.get("fastcorrect2").cls is FastCorrect2
    assert issubclass(FastCorrect2, FastCorrect) and FastCorrect2.reads_n_best and not FastCorrect.reads_n_best
    conf = FastCorrect2Config()
    assert (conf.encoder_layers, conf.decoder_layers, conf.d_model, conf.n_candidates) == (6, 6, 512, 4)
    m = FastCorrect2(FastCorrect2Config(vocab_size=50))
    assert (m.fuse.in_features, m.fuse.out_features) == (2048, 512)
    assert (m.candidate_proj.in_features, m.candidate_proj.out_features) == (1024, 512)


def test_shapes() -> None:
    m = model()
    src, lengths, durations, target, edited = toy_batch()
    out = m(src, lengths, durations)
    assert out.logits.shape == (6, 5, 14)
    assert out.durations.shape == out.edit_logits.shape == (6, 5)
    assert out.scores.shape == (2, 3)
    assert out.lengths.tolist() == [5, 5, 5, 3, 3, 3]
    terms = m.loss(out, lengths, durations, edited, target)
    assert set(terms) == {"loss", "ce", "dur_mse", "edit_bce", "score_mse"} and terms["loss"].dim() == 0


@pytest.mark.parametrize("pool", ["all", "disagree"])
def test_padded_batch_equals_items_alone(pool: str) -> None:
    m = model().eval()
    m.conf.score_pool = pool
    src, lengths, durations, _, _ = toy_batch()
    with torch.inference_mode():
        batch = m(src, lengths, durations)
        corrected = m.correct(src, lengths)
        for b in range(2):
            k = int(lengths[b])
            one = m(src[b : b + 1, :, :k], lengths[b : b + 1], durations[b : b + 1, :, :k])
            assert torch.allclose(one.scores[0], batch.scores[b], atol=1e-4)
            for c in range(3):
                row, t = 3 * b + c, int(one.lengths[c])
                assert torch.allclose(one.durations[c], batch.durations[row, :k], atol=1e-4)
                assert torch.allclose(one.logits[c], batch.logits[row, :t], atol=1e-4)
            alone = m.correct(src[b : b + 1, :, :k], lengths[b : b + 1])
            assert alone.ids[0] == corrected.ids[b] and alone.candidate[0] == corrected.candidate[b]
            assert alone.source_index[0] == corrected.source_index[b]


def _set_heads(m: FastCorrect2, durations: torch.Tensor, scores: torch.Tensor) -> None:
    """Make the duration head output ``durations`` (n, L) for every sentence and the score head ``scores`` (n,)."""
    n = m.n_candidates

    def dur_hook(module: torch.nn.Module, inputs: Tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        rows = output.size(0)
        return durations.repeat(rows // n, 1)[:, : output.size(1), None].to(output.dtype)

    def score_hook(module: torch.nn.Module, inputs: Tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        return scores.repeat(output.size(0) // n)[:, None].to(output.dtype)

    m.predictor.duration.register_forward_hook(dur_hook)
    m.score.register_forward_hook(score_hook)


def test_chooses_the_candidate_with_integral_durations_and_low_predicted_loss() -> None:
    m = model().eval()
    src, lengths, _, _, _ = toy_batch()
    src, lengths = src[:1], lengths[:1]
    # candidate 0: low predicted loss but durations far from integers; 1: integral and low loss; 2: integral, high loss
    durations = torch.tensor([[1.5, 0.5, 1.5, 0.5, 1.5], [1.0, 1.0, 2.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    _set_heads(m, durations, torch.tensor([0.1, 0.2, 0.9]))
    with torch.inference_mode():
        out = m.correct(src, lengths)
        assert out.candidate == [1]  # 0.5·0.25 + 0.5·0.1 = 0.175 > 0.5·0 + 0.5·0.2 = 0.1 < 0.45
        assert out.source_index[0] == [0, 1, 2, 2, 4]  # candidate 1's rounded durations 1 1 2 0 1
        decoded = m(src, lengths, durations.round().long()[None])
        assert out.ids[0] == decoded.logits[1, : int(decoded.lengths[1])].argmax(-1).tolist()
    m2 = model().eval()
    _set_heads(m2, durations, torch.tensor([0.1, 0.3, 0.9]))  # 0.175 > 0.15: still candidate 1
    with torch.inference_mode():
        assert m2.correct(src, lengths).candidate == [1]
    m3 = model().eval()
    _set_heads(m3, durations, torch.tensor([0.0, 0.4, 0.9]))  # 0.125 < 0.2: candidate 0
    with torch.inference_mode():
        assert m3.correct(src, lengths).candidate == [0]


def test_one_candidate_decodes_that_candidate() -> None:
    m = model(n=1).eval()
    with torch.no_grad():
        m.predictor.duration[-1].bias += 1.2  # untrained durations near 0 would trigger the copy of empty outputs
    src, lengths, _, _, _ = toy_batch(n=1)
    with torch.inference_mode():
        out = m.correct(src, lengths)
        free = m(src, lengths)
        assert out.candidate == [0, 0]
        for b in range(2):
            k = int(free.lengths[b])
            assert out.ids[b] == free.logits[b, :k].argmax(-1).tolist()
            assert out.source_index[b] == free.source_index[b, :k].tolist()


def test_a_few_steps_lower_the_loss() -> None:
    m = model()
    src, lengths, durations, target, edited = toy_batch()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss, stats = split_loss_terms(m.loss(m(src, lengths, durations), lengths, durations, edited, target))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        assert float(stats["score_mse"]) >= 0
    assert losses[-1] < 0.5 * losses[0]


def _score_mse(m: FastCorrect2, shift: torch.Tensor) -> Tuple[float, torch.Tensor, torch.Tensor]:
    """The score MSE with the head's predictions shifted by ``shift`` ``(B, n)``, the shifted
    predictions and the decoder's mean NLL per candidate (the head's absolute target)."""
    src, lengths, durations, target, edited = toy_batch()
    with torch.no_grad():
        out = m(src, lengths, durations)
        out = out._replace(scores=out.scores + shift)
        terms = m.loss(out, lengths, durations, edited, target)
        mask = target.repeat_interleave(3, 0) != 0
        logp = torch.log_softmax(out.logits.float(), -1).gather(-1, target.repeat_interleave(3, 0).unsqueeze(-1)).squeeze(-1)
        nll = ((-logp * mask).sum(1) / mask.sum(1)).view(2, 3)
    return float(terms["score_mse"]), out.scores, nll


def test_centred_score_target_ignores_a_constant_per_list() -> None:
    absolute, centred = model(), model()
    centred.conf.score_target = "centred"
    per_list = torch.tensor([[3.0], [-2.0]]).expand(2, 3)
    a0, scores, nll = _score_mse(absolute, torch.zeros(2, 3))
    assert abs(a0 - float(((scores - nll) ** 2).mean())) < 1e-5  # the reference's target: the NLL itself
    a1, _, _ = _score_mse(absolute, per_list)
    assert a1 > a0 + 1.0
    c0, scores, nll = _score_mse(centred, torch.zeros(2, 3))
    by_hand = ((scores - scores.mean(1, keepdim=True)) - (nll - nll.mean(1, keepdim=True))) ** 2
    assert abs(c0 - float(by_hand.mean())) < 1e-5
    c1, _, _ = _score_mse(centred, per_list)
    assert abs(c1 - c0) < 1e-5
    c2, scores, nll = _score_mse(centred, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    by_hand = ((scores - scores.mean(1, keepdim=True)) - (nll - nll.mean(1, keepdim=True))) ** 2
    assert abs(c2 - float(by_hand.mean())) < 1e-5 and abs(c2 - c0) > 1e-2  # a difference within a list counts


def test_score_target_is_checked() -> None:
    from speechtools.config import from_dict
    from speechtools.errors import UserError

    with pytest.raises(UserError, match="score_target"):
        from_dict(FastCorrect2Config, {**TINY, "score_target": "relative"}, prefix="model_conf")
    with pytest.raises(UserError, match="score_pool"):
        from_dict(FastCorrect2Config, {**TINY, "score_pool": "some"}, prefix="model_conf")


def test_score_columns_are_where_the_candidates_differ() -> None:
    m = model()
    m.conf.score_pool = "disagree"
    src, lengths, _, _, _ = toy_batch()
    same = src[1:2, :1].expand(1, 3, 5)  # one list whose candidates are all equal
    pad = torch.tensor([[False] * 5, [False, False, False, True, True], [False, False, False, True, True]])
    columns = m.score_columns(torch.cat([src, same]), pad)
    assert columns.tolist() == [[True, True, False, True, True],  # column 2 is 7 in every row
                                [True, False, True, False, False],  # padding never counts
                                [True, True, True, False, False]]  # no column differs: every real one
    m.conf.score_pool = "all"
    assert m.score_columns(torch.cat([src, same]), pad).tolist() == (~pad).tolist()


def test_disagree_pool_changes_the_scores_only_where_columns_are_shared() -> None:
    m = model().eval()
    src, lengths, durations, _, _ = toy_batch()
    everywhere = torch.tensor([[[5, 6, 7, 8, 9], [6, 7, 8, 9, 5], [7, 8, 9, 5, 6]]])  # every column differs
    with torch.inference_mode():
        pooled_all = [m(x, k, d).scores for x, k, d in ((src, lengths, durations), (everywhere, lengths[:1], durations[:1]))]
        m.conf.score_pool = "disagree"
        pooled_disagree = [m(x, k, d).scores for x, k, d in ((src, lengths, durations), (everywhere, lengths[:1], durations[:1]))]
    assert torch.allclose(pooled_all[1], pooled_disagree[1], atol=1e-6)
    assert (pooled_all[0] - pooled_disagree[0]).abs().min() > 1e-4
