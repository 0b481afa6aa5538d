"""The LightSpeech one-shot supernet: a fixed path is the standalone model; path sampling; arch encoding."""

from collections import Counter

import pytest
import torch

from speechtools.models.lightspeech import LightSpeech
from speechtools.models.lightspeech_supernet import LightSpeechSupernet, LightSpeechSupernetConfig, sample_path
from speechtools.nn.search_space import LIGHTSPEECH_ARCH, OPERATIONS, arch_from_ids, arch_ids, canonical_arch
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig


def tiny_conf(**kw) -> LightSpeechSupernetConfig:
    adaptor = VarianceAdaptorConfig(level="frame", use_pitch=True, use_energy=False, bins=16, separable=True, stop_gradient=True,
                                    duration=PredictorConfig(layers=2, channels=16, kernel_size=3, dropout=0.0),
                                    pitch=PredictorConfig(layers=2, channels=16, kernel_size=5, dropout=0.0))
    return LightSpeechSupernetConfig(dim=16, filter_size=24, dropout=0.0, adaptor=adaptor, arch="1 2 3 4", encoder_layers=2, **kw)


def batch():
    torch.manual_seed(3)
    tokens = torch.randint(1, 20, (2, 7))
    lengths = torch.tensor([7, 5])
    tokens[1, 5:] = 0
    durations = torch.randint(1, 4, (2, 7))
    durations[1, 5:] = 0
    return tokens, lengths, durations


ARCHS = ["sep25 mhsa8 ffn identity", "identity identity identity identity", "mhsa2 sep1 sep13 mhsa4", "12 11 10 9"]


@pytest.mark.parametrize("arch", ARCHS)
def test_a_fixed_path_equals_the_standalone_model_with_the_same_weights(arch):
    torch.manual_seed(0)
    supernet = LightSpeechSupernet(tiny_conf(), vocab_size=20, n_mels=8).eval()
    supernet.set_arch(arch)
    conf, state = supernet.standalone(arch)
    single = LightSpeech(conf, vocab_size=20, n_mels=8).eval()
    single.load_state_dict(state)  # strict: every key of the standalone model, nothing else
    tokens, lengths, durations = batch()
    with torch.inference_mode():
        a = supernet(tokens, lengths, durations=durations)
        b = single(tokens, lengths, durations=durations)
    assert conf.arch == canonical_arch(arch) and supernet.arch == canonical_arch(arch)
    for key in ("mel", "log_duration_pred", "pitch_pred"):
        assert torch.equal(a[key], b[key]), key
    assert sum(p.numel() for p in single.parameters()) < sum(p.numel() for p in supernet.parameters())


def test_training_runs_the_path_drawn_for_the_update_and_eval_the_fixed_one():
    supernet = LightSpeechSupernet(tiny_conf(sampling="uniform"), vocab_size=20, n_mels=8)
    supernet.set_num_updates(5)
    drawn = " ".join(op.name for op in sample_path(4, 5, "uniform", 0))
    assert supernet.arch == drawn
    tokens, lengths, durations = batch()
    supernet(tokens, lengths, durations=durations)
    assert [layer.active for layer in supernet.encoder.layers] == drawn.split()[:2]
    supernet.eval()
    assert supernet.arch == canonical_arch("1 2 3 4")
    # gradients reach only the operations on the path
    supernet.train()
    out = supernet(tokens, lengths, durations=durations)
    out["mel"].sum().backward()
    layer = supernet.encoder.layers[0]
    for name, module in layer.choices.items():
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads) if name == layer.active else all(g is None for g in grads)


def test_fair_sampling_trains_every_operation_equally_often_and_uniform_draws_all():
    fair = Counter()
    for n in range(36):
        for layer, op in enumerate(sample_path(3, n, "fair", 7)):
            fair[layer, op.op_id] += 1
    assert set(fair.values()) == {3} and len(fair) == 3 * 12
    uniform = {op.op_id for n in range(200) for op in sample_path(2, n, "uniform", 7)}
    assert uniform == set(OPERATIONS)
    assert sample_path(8, 13, "fair", 1) == sample_path(8, 13, "fair", 1) != sample_path(8, 13, "fair", 2)


def test_architecture_encoding_round_trips():
    assert arch_from_ids(arch_ids(LIGHTSPEECH_ARCH)) == LIGHTSPEECH_ARCH
    assert arch_ids("2 7 4 3 5 6 3 4") == arch_ids(LIGHTSPEECH_ARCH) == [2, 7, 4, 3, 5, 6, 3, 4]
    for ids in ([1] * 8, [12, 11, 10, 9, 8, 7, 6, 5], list(range(1, 13))):
        assert arch_ids(arch_from_ids(ids)) == ids
    with pytest.raises(ValueError, match="unknown operation"):
        arch_from_ids([13])


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="sampling"):
        tiny_conf(sampling="greedy")
    with pytest.raises(ValueError, match="divisible by 8"):
        LightSpeechSupernetConfig(dim=20)
    supernet = LightSpeechSupernet(tiny_conf(), vocab_size=20, n_mels=8)
    with pytest.raises(ValueError, match="4 layers"):
        supernet.set_arch("sep5 sep5 sep5")
