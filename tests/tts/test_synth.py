"""Synthesis from a model directory: speed control, splitting, batching, errors, CLI outputs."""

import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.errors import UserError
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer


@pytest.fixture(scope="module")
def synth(tiny_model_dir):
    return Synthesizer(tiny_model_dir, device="cpu")


def run(synth, text, **kw):
    return list(synth.synthesize([SynthesisInput("u", text)], progress=False, **kw))[0]


def test_speed_half_doubles_the_frames(synth):
    normal = run(synth, "The printing press was invented.")
    slow = run(synth, "The printing press was invented.", speed=0.5)
    fast = run(synth, "The printing press was invented.", speed=2.0)
    assert slow.mel.shape[0] == 2 * normal.mel.shape[0]
    assert slow.durations == [2 * d for d in normal.durations]
    assert fast.durations == [int(np.floor(d / 2 + 0.5)) for d in normal.durations]
    hop = synth.feature_config.hop_length
    assert len(slow.wav) == (slow.mel.shape[0] - 1) * hop


def test_long_input_is_split_at_sentences_and_concatenated(synth):
    parts = ["The printing press was invented.", "It changed the world.", "Books became cheap."]
    whole = run(synth, " ".join(parts))
    pieces = [run(synth, p) for p in parts]
    assert whole.tokens == [t for p in pieces for t in p.tokens]
    assert whole.mel.shape[0] == sum(p.mel.shape[0] for p in pieces)
    np.testing.assert_allclose(whole.mel, np.concatenate([p.mel for p in pieces]), atol=1e-4)


def test_batching_does_not_change_outputs(synth):
    texts = ["In printing.", "The arts and crafts represented in the exhibition differ from most.", "Printing was invented."]
    inputs = [SynthesisInput(f"u{i}", t) for i, t in enumerate(texts)]
    batched = list(synth.synthesize(inputs, batch_size=3, progress=False))
    single = list(synth.synthesize(inputs, batch_size=1, progress=False))
    for a, b in zip(batched, single):
        assert a.durations == b.durations
        np.testing.assert_allclose(a.mel, b.mel, atol=1e-4)


def test_bad_text_is_a_user_error(synth):
    with pytest.raises(UserError, match="empty text"):
        run(synth, "   ")
    with pytest.raises(UserError, match="normalises to nothing"):
        run(synth, "... !!")
    with pytest.raises(UserError, match="not in the model's token list"):
        run(synth, "The boy's toy.")  # OY1 never occurs in the six training clips
    with pytest.raises(UserError, match="speed"):
        run(synth, "Hello.", speed=0)


def test_cli_writes_wavs_scp_durations_and_plots(tiny_model_dir, tmp_path, capsys):
    text_file = tmp_path / "text"
    text_file.write_text("a1 The printing press was invented.\na2 Books became cheap.\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text-file", str(text_file), "--ids", "--out-dir", str(out),
              "--plot", "--write-durations", "--device", "cpu"])
    assert exc.value.code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a1.png", "a1.wav", "a2.png", "a2.wav", "durations", "wav.scp"]
    bad = tmp_path / "bad"
    bad.write_text("b1 Fine text.\nb2 \n")
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text-file", str(bad), "--ids", "--out-dir", str(tmp_path / "o2")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {bad}:2: empty text"
    assert not (tmp_path / "o2" / "b1.wav").exists()


def test_reference_audio_reaches_a_model_that_takes_it_as_a_normalised_mel(tiny_model_dir, lj_reference):
    from speechtools.audio.features import log_mel
    from speechtools.audio.io import load_audio
    from speechtools.models.fastspeech2 import FastSpeech2

    seen = {}

    class ReferenceProbe(FastSpeech2):
        """FastSpeech 2 that declares a reference-mel input and records what it gets."""

        accepts_reference_mel = True

        def forward(self, tokens, token_lengths, **kwargs):
            seen.update(kwargs)
            return super().forward(tokens, token_lengths, **kwargs)

    synth = Synthesizer(tiny_model_dir, device="cpu")
    with pytest.raises(UserError, match="takes no reference audio"):
        run(synth, "Printing was invented.", reference_audio=lj_reference)
    plain = run(synth, "Printing was invented.")
    synth.model.__class__ = ReferenceProbe  # same weights, now a model with a reference-mel input
    inputs = [SynthesisInput("a", "Printing was invented."), SynthesisInput("b", "In printing.")]
    out = list(synth.synthesize(inputs, batch_size=2, progress=False, reference_audio=lj_reference))
    cfg = synth.feature_config
    expected = synth.task.stats.normalize("mel", log_mel(load_audio(lj_reference, cfg.sample_rate), cfg).numpy())
    assert seen["reference_mel"].shape == (2, expected.shape[0], cfg.n_mels)
    np.testing.assert_allclose(seen["reference_mel"][1].numpy(), expected, atol=1e-5)
    assert seen["reference_mel_lengths"].tolist() == [expected.shape[0]] * 2
    np.testing.assert_allclose(out[0].mel, plain.mel, atol=1e-4)  # FastSpeech 2 itself ignores it


def test_vocoder_settings_are_validated_into_its_config(tiny_model_dir):
    from speechtools.audio.features import FeatureConfig
    from speechtools.errors import ConfigError
    from speechtools.tts.vocoders import build_vocoder

    vocoder = build_vocoder("griffin-lim", FeatureConfig(), overrides=["n_iter=4", "momentum=0.5"])
    assert (vocoder.conf.n_iter, vocoder.conf.momentum) == (4, 0.5)
    with pytest.raises(ConfigError, match=r"unknown key 'vocoder_conf.n_iters' \(did you mean 'n_iter'\?\)"):
        build_vocoder("griffin-lim", FeatureConfig(), overrides=["n_iters=4"])
    with pytest.raises(ConfigError, match="momentum must lie in"):
        build_vocoder("griffin-lim", FeatureConfig(), overrides=["momentum=1.5"])
    few = Synthesizer(tiny_model_dir, device="cpu", vocoder_overrides=["n_iter=1"])
    many = Synthesizer(tiny_model_dir, device="cpu")
    a, b = run(few, "Printing was invented."), run(many, "Printing was invented.")
    np.testing.assert_allclose(a.mel, b.mel)
    assert a.wav.shape == b.wav.shape and not np.allclose(a.wav, b.wav)  # the setting reached Griffin-Lim


@pytest.mark.parametrize("bad_id, reason", [("../../etc/evil", "contains '/'"), ("u/1", "contains '/'"), ("..", "path component")])
def test_synth_ids_never_escape_the_output_folder(tiny_model_dir, tmp_path, capsys, bad_id, reason):
    text_file = tmp_path / "text"
    text_file.write_text(f"ok1 Fine text.\n{bad_id} The printing press.\n")
    out = tmp_path / "deep" / "out"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text-file", str(text_file), "--ids", "--out-dir", str(out),
              "--device", "cpu"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {text_file}:2: utterance id ") and reason in err[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.rglob("*")) == ["text"]  # nothing written anywhere


@pytest.mark.parametrize("option, value", [("--speed", "nan"), ("--speed", "0.001"), ("--pitch-shift", "nan"),
                                           ("--pitch-shift", "inf"), ("--energy-scale", "0"), ("--speed", "-1")])
def test_synthesis_controls_must_be_finite_and_in_range(tiny_model_dir, tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text", "Hello.", "--out-dir", str(tmp_path / "o"), option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0]
    assert not (tmp_path / "o").exists()


def test_the_library_checks_the_controls_too(synth):
    for kwargs in ({"speed": float("nan")}, {"pitch_shift": 30.0}, {"energy_scale": float("inf")}):
        with pytest.raises(UserError, match="must be a number in"):
            run(synth, "Hello.", **kwargs)


def test_characters_the_front_end_cannot_speak_are_reported_or_refused(tiny_model_dir, tmp_path, capsys):
    text_file = tmp_path / "text"
    text_file.write_text("a1 Printing was invented.\na2 Printing Привет was invented.\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text-file", str(text_file), "--ids", "--out-dir", str(out), "--device", "cpu"])
    assert exc.value.code == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(err) == 1 and err[0].startswith(f"warning: {text_file}:2: the en_phone front-end cannot speak 6 character(s)")
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text-file", str(text_file), "--ids", "--out-dir", str(tmp_path / "o2"),
              "--device", "cpu", "--strict"])
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: {text_file}:2: the en_phone front-end cannot speak")
    assert not (tmp_path / "o2").exists()
