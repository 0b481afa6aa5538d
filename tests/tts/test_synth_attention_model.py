"""``Synthesizer`` with an attention (autoregressive) model: Transformer TTS through the same path as FastSpeech 2."""

from __future__ import annotations

import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer, block_diagonal


@pytest.fixture(scope="module")
def synthesizer(tiny_attention_model_dir):
    return Synthesizer(tiny_attention_model_dir, device="cpu")


def test_attention_model_outputs_wav_mel_durations_and_its_attention(synthesizer):
    inputs = [SynthesisInput("a", "Printing, in the only sense."), SynthesisInput("b", "In the only sense.")]
    outs = list(synthesizer.synthesize(inputs, progress=False))
    assert [o.uttid for o in outs] == ["a", "b"]
    hop = synthesizer.feature_config.hop_length
    for out in outs:
        frames, tokens = out.attention.shape
        assert out.mel.shape[0] == frames and len(out.tokens) == tokens == len(out.durations)
        assert sum(out.durations) == frames  # durations read from the chosen head cover every frame
        np.testing.assert_allclose(out.attention.sum(axis=1), 1.0, atol=1e-4)  # rows are distributions over the tokens
        assert abs(len(out.wav) - frames * hop) <= hop


def test_pieces_of_a_long_input_give_a_block_diagonal_attention(tiny_attention_model_dir):
    synth = Synthesizer(tiny_attention_model_dir, device="cpu", max_tokens=12)
    item = SynthesisInput("long", "Printing, in the only sense with which we are at present concerned.")
    lengths = [len(piece) for piece in synth.pieces(item)]
    assert len(lengths) > 1
    out = next(synth.synthesize([item], progress=False))
    assert out.attention.shape == (out.mel.shape[0], sum(lengths))
    piece_of_token = np.repeat(np.arange(len(lengths)), lengths)
    row_piece = []
    for row in out.attention:
        owners = np.unique(piece_of_token[row > 0])
        assert len(owners) == 1  # each frame attends the tokens of its own piece only
        row_piece.append(int(owners[0]))
    assert row_piece == sorted(row_piece) and set(row_piece) == set(range(len(lengths)))


def test_block_diagonal_places_each_piece():
    a, b = np.ones((2, 3)), 2 * np.ones((1, 2))
    expected = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 2, 2]], dtype=np.float32)
    np.testing.assert_array_equal(block_diagonal([a, b]), expected)


@pytest.mark.parametrize("control", [{"speed": 1.5}, {"pitch_shift": 2.0}, {"energy_scale": 0.8}])
def test_prosody_controls_the_model_lacks_are_refused(synthesizer, control):
    with pytest.raises(UserError, match="has no --"):
        list(synthesizer.synthesize([SynthesisInput("a", "In the only sense.")], progress=False, **control))
