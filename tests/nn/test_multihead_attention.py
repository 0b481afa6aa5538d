"""The shared multi-head attention of speechtools.nn against torch.nn.MultiheadAttention."""

from __future__ import annotations

import torch

from speechtools.nn.attention import MultiHeadAttention, causal_mask, key_mask
from speechtools.nn.transformer_layers import DecoderLayer

DIM, HEADS = 16, 4


def _pair(seed: int = 0) -> tuple:
    """Our attention and a torch.nn.MultiheadAttention with the same weights."""
    torch.manual_seed(seed)
    ours = MultiHeadAttention(DIM, HEADS).eval()
    ref = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q.weight, ours.kv.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q.bias, ours.kv.bias]))
        ref.out_proj.weight.copy_(ours.out.weight)
        ref.out_proj.bias.copy_(ours.out.bias)
    return ours, ref


def test_padded_cross_attention_and_weights_equal_torch() -> None:
    ours, ref = _pair()
    x, memory = torch.randn(2, 5, DIM), torch.randn(2, 7, DIM)
    pad = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
    with torch.inference_mode():
        expected, expected_weights = ref(x, memory, memory, key_padding_mask=pad, average_attn_weights=False)
        got = ours.attend(x, *ours.keys_values(memory), key_mask(pad))
        got_w, weights = ours.attend_with_weights(x, *ours.keys_values(memory), key_mask(pad))
    assert torch.allclose(got, expected, atol=1e-5) and torch.allclose(got_w, expected, atol=1e-5)
    assert torch.allclose(weights, expected_weights, atol=1e-6)
    assert float(weights[1, :, :, 4:].abs().max()) == 0.0


def test_causal_self_attention_equals_torch_with_and_without_padding() -> None:
    ours, ref = _pair(1)
    x = torch.randn(2, 6, DIM)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    future = ~causal_mask(6, 6, x.device)
    with torch.inference_mode():
        expected = ref(x, x, x, attn_mask=future, need_weights=False)[0]
        assert torch.allclose(ours.attend(x, *ours.keys_values(x), causal=True), expected, atol=1e-5)
        expected = ref(x, x, x, attn_mask=future, key_padding_mask=pad, need_weights=False)[0]
        got = ours.attend(x, *ours.keys_values(x), key_mask(pad), causal=True)
        _, weights = ours.attend_with_weights(x, *ours.keys_values(x), key_mask(pad), causal=True)
    assert torch.allclose(got[0], expected[0], atol=1e-5) and torch.allclose(got[1, :4], expected[1, :4], atol=1e-5)
    assert float(weights[1, ..., 4:].abs().max()) == 0.0 and float(weights[0, :, 2, 3:].abs().max()) == 0.0


def test_cached_chunks_equal_full_causal_attention() -> None:
    ours, _ = _pair(2)
    x = torch.randn(1, 8, DIM)
    with torch.inference_mode():
        k, v = ours.keys_values(x)
        full = ours.attend(x, k, v, causal=True)
        # positions 5..7 decoded after 5 cached ones, then the last one alone
        assert torch.allclose(ours.attend(x[:, 5:], k, v, causal=True), full[:, 5:], atol=1e-5)
        assert torch.allclose(ours.attend(x[:, 7:], k, v, causal=True), full[:, 7:], atol=1e-5)


def test_decoder_layer_cache_equals_teacher_forcing() -> None:
    torch.manual_seed(3)
    layer = DecoderLayer(DIM, HEADS, 32, 0.0).eval()
    x, memory = torch.randn(2, 5, DIM), torch.randn(2, 4, DIM)
    mem_mask = key_mask(torch.tensor([[False] * 4, [False, False, True, True]]))
    with torch.inference_mode():
        kv = layer.cross_attn.keys_values(memory)
        full = layer(x, kv, mem_mask, None, True)
        cache: dict = {}
        steps = [layer(x[:, t : t + 1], kv, mem_mask, None, True, cache) for t in range(5)]
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)
    assert cache["k"].shape == (2, HEADS, 5, DIM // HEADS)


def test_state_dict_with_separate_key_value_output_projections_loads() -> None:
    torch.manual_seed(4)
    legacy = {f"{name}.{p}": torch.randn(DIM, DIM) if p == "weight" else torch.randn(DIM)
              for name in ("q", "k", "v", "o") for p in ("weight", "bias")}
    module = torch.nn.Module()
    module.attn = MultiHeadAttention(DIM, HEADS)
    module.load_state_dict({f"attn.{key}": value for key, value in legacy.items()})
    x, memory = torch.randn(1, 3, DIM), torch.randn(1, 4, DIM)

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(1, -1, HEADS, DIM // HEADS).transpose(1, 2)

    q = heads(x @ legacy["q.weight"].T + legacy["q.bias"])
    k = heads(memory @ legacy["k.weight"].T + legacy["k.bias"])
    v = heads(memory @ legacy["v.weight"].T + legacy["v.bias"])
    mixed = (torch.softmax(q @ k.transpose(-1, -2) / (DIM // HEADS) ** 0.5, dim=-1) @ v).transpose(1, 2).reshape(1, 3, DIM)
    expected = mixed @ legacy["o.weight"].T + legacy["o.bias"]
    with torch.inference_mode():
        got = module.attn.eval().attend(x, *module.attn.keys_values(memory))
    assert torch.allclose(got, expected, atol=1e-4)
    assert set(module.state_dict()) == {f"attn.{n}.{p}" for n in ("q", "kv", "out") for p in ("weight", "bias")}
