"""``speechtools vocode`` and ``synth --vocoder priorgrad``: outputs, batching, and bad inputs (one-line
errors, no wav written)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechtools.audio.store import FeatureStore
from speechtools.cli.main import main
from speechtools.errors import ConfigError, UserError
from speechtools.tts.synthesizer import SynthesisInput, Synthesizer
from tiny_vocoder import FEATS_CONF, clip_corpus, train_vocoder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Two clips (0.4 s and 0.25 s) and their feature store."""
    return clip_corpus(tmp_path_factory.mktemp("vocode"), [0.4, 0.25])


@pytest.fixture(scope="module")
def vocoder_dir(corpus) -> Path:
    return train_vocoder(corpus, corpus / "exp", "trainer.max_steps=4", "trainer.save_interval=4")


@pytest.fixture(scope="module")
def fmax_vocoder_dir(tmp_path_factory) -> Path:
    """A vocoder trained on features with fmax 7600 Hz (the acoustic models use 8000 Hz)."""
    root = clip_corpus(tmp_path_factory.mktemp("fmax"), [0.3], feats_sets=["fmax=7600"])
    conf = root / "feats7600.yaml"
    conf.write_text(f"base: {FEATS_CONF}\nfmax: 7600.0\n")
    return train_vocoder(root, root / "exp", "trainer.max_steps=2", "trainer.save_interval=2", feats_conf=conf)


def vocode(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(["vocode", *args, "--no-progress", "--device", "cpu"])
    return exc.value.code


def wavs(folder: Path) -> dict:
    return {p.stem: sf.read(p, dtype="float32") for p in sorted(folder.glob("*.wav"))}


def test_vocode_a_feature_store(corpus, vocoder_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert vocode("--vocoder-dir", str(vocoder_dir), "--feats-scp", str(corpus / "dump" / "mel.scp"), "--out-dir", str(out)) == 0
    assert "wrote 2 wav file(s)" in capsys.readouterr().out
    shapes = FeatureStore(corpus / "dump").shapes("mel")
    written = wavs(out)
    assert sorted(written) == sorted(shapes)
    for uttid, (audio, rate) in written.items():
        assert rate == 22050 and len(audio) == shapes[uttid][0] * 256
    assert (out / "wav.scp").read_text() == "".join(f"{u} {(out / u).resolve()}.wav\n" for u in sorted(shapes))
    # the same inputs, batches and seed give the same audio
    again = tmp_path / "again"
    assert vocode("--vocoder-dir", str(vocoder_dir), "--feats-scp", str(corpus / "dump" / "mel.scp"), "--out-dir", str(again)) == 0
    assert all(np.array_equal(written[u][0], wavs(again)[u][0]) for u in written)


def test_vocode_mel_files_and_every_schedule(corpus, vocoder_dir, tmp_path):
    store = corpus / "dump" / "mel"
    files = [str(p) for p in sorted(store.glob("*.npy"))]
    scp_out, npy_out = tmp_path / "scp", tmp_path / "npy"
    assert vocode("--vocoder-dir", str(vocoder_dir), "--feats-scp", str(corpus / "dump" / "mel.scp"), "--out-dir", str(scp_out),
                  "--batch-size", "1") == 0
    assert vocode("--vocoder-dir", str(vocoder_dir), *[a for f in files for a in ("--mel-npy", f)], "--out-dir", str(npy_out),
                  "--batch-size", "1") == 0
    from_scp, from_npy = wavs(scp_out), wavs(npy_out)
    assert sorted(from_npy) == sorted(p.stem for p in store.glob("*.npy"))
    assert all(np.array_equal(from_scp[u][0], from_npy[u][0]) for u in from_scp)
    for steps in ("12", "50"):
        out = tmp_path / f"steps{steps}"
        assert vocode("--vocoder-dir", str(vocoder_dir), "--mel-npy", files[0], "--out-dir", str(out), "--steps", steps) == 0
        assert len(wavs(out)[Path(files[0]).stem][0]) == len(from_npy[Path(files[0]).stem][0])


def bad_case(name: str, corpus: Path, vocoder_dir: Path, tmp: Path) -> tuple:
    """(arguments, the error line's expected start, its expected content) of one bad input."""
    mel = corpus / "dump" / "mel" / "LJ001-0001.npy"
    if name == "missing vocoder dir":
        return ["--vocoder-dir", str(tmp / "nope"), "--mel-npy", str(mel)], f"error: {tmp / 'nope'}: ", "model directory not found"
    if name == "wrong mel bins":
        wrong = tmp / "wrong.npy"
        np.save(wrong, np.zeros((12, 79), np.float32))
        return (["--vocoder-dir", str(vocoder_dir), "--mel-npy", str(mel), "--mel-npy", str(wrong)],  # the good one is not written either
                f"error: {wrong}: ", "has shape (12, 79), the vocoder takes (frames, 80)")
    if name == "transposed mel in a scp":
        wrong = tmp / "t.npy"
        np.save(wrong, np.zeros((80, 12), np.float32))
        scp = tmp / "mel.scp"
        scp.write_text(f"a {mel}\nb {wrong}\n")
        return ["--vocoder-dir", str(vocoder_dir), "--feats-scp", str(scp)], f"error: {scp}:2: ", "has shape (80, 12)"
    if name == "empty feats list":
        scp = tmp / "empty.scp"
        scp.write_text("")
        return ["--vocoder-dir", str(vocoder_dir), "--feats-scp", str(scp)], f"error: {scp}: ", "no utterances to vocode"
    if name == "missing mel file":
        scp = tmp / "mel.scp"
        scp.write_text(f"a {mel}\nb {tmp / 'gone.npy'}\n")
        return ["--vocoder-dir", str(vocoder_dir), "--feats-scp", str(scp)], f"error: {scp}:2: ", "cannot read mel"
    if name == "feature config mismatch":
        store = tmp / "dump"
        (store / "mel").mkdir(parents=True)
        (store / "mel" / "a.npy").write_bytes(mel.read_bytes())
        (store / "mel.scp").write_text("a mel/a.npy\n")
        (store / "feats_config.yaml").write_text((corpus / "dump" / "feats_config.yaml").read_text()
                                                 .replace("hop_length: 256", "hop_length: 200").replace("sample_rate: 22050", "sample_rate: 16000"))
        return (["--vocoder-dir", str(vocoder_dir), "--feats-scp", str(store / "mel.scp")], f"error: {store / 'feats_config.yaml'}: ",
                "other settings than the vocoder's: sample_rate 16000 (features) vs 22050 (vocoder), hop_length 200 (features) vs 256 (vocoder)")
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["missing vocoder dir", "wrong mel bins", "transposed mel in a scp", "empty feats list",
                                  "missing mel file", "feature config mismatch"])
def test_bad_inputs_are_one_line_errors_and_write_no_wav(name, corpus, vocoder_dir, tmp_path, capsys):
    args, start, content = bad_case(name, corpus, vocoder_dir, tmp_path)
    out = tmp_path / "out"
    assert vocode(*args, "--out-dir", str(out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(start) and content in err[0], err
    assert not out.exists() or not any(out.iterdir())


def test_usage_and_model_directory_errors(vocoder_dir, tiny_model_dir, tmp_path, capsys):
    assert vocode("--vocoder-dir", str(vocoder_dir), "--out-dir", str(tmp_path / "o")) == 2
    mel = tmp_path / "m.npy"
    np.save(mel, np.zeros((3, 80), np.float32))
    assert vocode("--vocoder-dir", str(tiny_model_dir), "--mel-npy", str(mel), "--out-dir", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {tiny_model_dir}: not a vocoder model directory (task 'tts', model 'fastspeech2')"
    assert not (tmp_path / "o").exists()


def test_synth_through_the_priorgrad_vocoder(tiny_model_dir, vocoder_dir, tmp_path, capsys):
    synth = Synthesizer(tiny_model_dir, device="cpu", vocoder="priorgrad", vocoder_model=str(vocoder_dir), vocoder_overrides=["steps=12"])
    inputs = [SynthesisInput("a", "Printing was invented."), SynthesisInput("b", "In printing.")]
    for result in synth.synthesize(inputs, batch_size=2, progress=False):
        assert result.wav.dtype == np.float32 and len(result.wav) == result.mel.shape[0] * 256 and np.abs(result.wav).max() <= 1.0
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text", "Printing was invented.", "--out-dir", str(out), "--device", "cpu",
              "--vocoder", "priorgrad", "--vocoder-model", str(vocoder_dir)])
    assert exc.value.code == 0 and (out / "utt0001.wav").is_file()


def test_synth_refuses_a_vocoder_of_other_features(tiny_model_dir, fmax_vocoder_dir, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--model-dir", str(tiny_model_dir), "--text", "Printing was invented.", "--out-dir", str(out), "--device", "cpu",
              "--vocoder", "priorgrad", "--vocoder-model", str(fmax_vocoder_dir)])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {fmax_vocoder_dir / 'feats_config.yaml'}: the vocoder's feature config differs from the acoustic model's: "
                   "fmax 8000.0 (acoustic model) vs 7600.0 (vocoder)"]
    assert not out.exists()
    with pytest.raises(UserError, match=r"needs a trained vocoder model directory \(--vocoder-model DIR\)"):
        Synthesizer(tiny_model_dir, device="cpu", vocoder="priorgrad")
    with pytest.raises(ConfigError, match="steps must be one of 6, 12, 50"):
        Synthesizer(tiny_model_dir, device="cpu", vocoder="priorgrad", vocoder_model=str(fmax_vocoder_dir), vocoder_overrides=["steps=7"])


def test_griffin_lim_copy_synthesis_of_a_feature_store(corpus, tmp_path, capsys):
    """The reference point of a vocoder comparison: Griffin-Lim on the same mels, settings from the store's feats_config.yaml."""
    from speechtools.audio.extract import stored_feature_config
    from speechtools.tts.vocoders import build_vocoder

    out = tmp_path / "gl"
    assert vocode("--vocoder", "griffin-lim", "--vocoder-set", "n_iter=4", "--feats-scp", str(corpus / "dump" / "mel.scp"),
                  "--out-dir", str(out), "--batch-size", "1") == 0
    shapes = FeatureStore(corpus / "dump").shapes("mel")
    written = wavs(out)
    assert sorted(written) == sorted(shapes) and sorted(p.split()[0] for p in (out / "wav.scp").read_text().splitlines()) == sorted(shapes)
    # the same audio as synth's Griffin-Lim on each mel alone (batch 1: the random initial phases depend on the batch shape)
    gl = build_vocoder("griffin-lim", stored_feature_config(corpus / "dump"), overrides=["n_iter=4"])
    import torch
    for uttid, (audio, rate) in written.items():
        mel = np.load(corpus / "dump" / "mel" / f"{uttid}.npy")
        alone = gl(torch.from_numpy(mel)[None], torch.tensor([len(mel)]))[0]
        assert rate == 22050 and np.allclose(audio, alone, atol=1e-4)


def test_griffin_lim_usage_errors(corpus, vocoder_dir, tmp_path, capsys):
    mel = tmp_path / "m.npy"
    np.save(mel, np.zeros((3, 80), np.float32))
    out = tmp_path / "o"
    assert vocode("--vocoder", "griffin-lim", "--mel-npy", str(mel), "--out-dir", str(out)) == 2  # no feature settings
    assert "give --feats-conf" in capsys.readouterr().err
    assert vocode("--vocoder", "griffin-lim", "--vocoder-dir", str(vocoder_dir), "--mel-npy", str(mel), "--out-dir", str(out)) == 2
    assert "takes no model directory" in capsys.readouterr().err
    assert vocode("--vocoder", "griffin-lim", "--steps", "6", "--feats-scp", str(corpus / "dump" / "mel.scp"), "--out-dir", str(out)) != 0
    assert "steps" in capsys.readouterr().err
    assert vocode("--vocoder", "nonesuch", "--mel-npy", str(mel), "--out-dir", str(out)) != 0
    assert "nonesuch" in capsys.readouterr().err
    assert vocode("--mel-npy", str(mel), "--out-dir", str(out)) == 2  # priorgrad (the default) needs its model
    assert "--vocoder-dir" in capsys.readouterr().err
    assert not out.exists()
