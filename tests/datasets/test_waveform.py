"""Waveform segments aligned to mel frames (the vocoder data layer): the stored frames of a segment
are the log-mel of its own samples, starts are drawn from the seeded torch generator, short
utterances are padded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtools.audio.extract import compute_store_stats, extract_to_store
from speechtools.audio.features import FeatureConfig, log_mel
from speechtools.datasets.waveform import WaveformSegmentDataset, collate_waveform_segments
from speechtools.errors import UserError

CFG = FeatureConfig()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Three utterances of a sine sweep plus noise (1.2 s, 0.9 s and a 0.1 s one shorter than a segment)."""
    root = tmp_path_factory.mktemp("wave")
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    entries = []
    for uttid, seconds in (("u1", 1.2), ("u2", 0.9), ("u3", 0.1)):
        t = np.arange(int(seconds * CFG.sample_rate)) / CFG.sample_rate
        wav = 0.4 * np.sin(2 * np.pi * (200 + 900 * t) * t) + 0.02 * rng.standard_normal(t.size)
        sf.write(root / f"{uttid}.wav", wav.astype(np.float32), CFG.sample_rate)
        entries.append(f"{uttid} {root / f'{uttid}.wav'}\n")
    (data / "wav.scp").write_text("".join(entries))
    (data / "utt2spk").write_text("u1 s\nu2 s\nu3 s\n")
    (data / "spk2utt").write_text("s u1 u2 u3\n")
    extract_to_store(data, root / "dump", CFG, features=("mel",), progress=False)
    return root


def dataset(corpus: Path, segment_frames: int = 24, random_start: bool = True) -> WaveformSegmentDataset:
    stats = compute_store_stats(corpus / "dump", progress=False)
    return WaveformSegmentDataset(str(corpus / "data"), str(corpus / "dump"), stats, CFG, segment_frames, random_start)


def test_a_segments_stored_frames_are_the_log_mel_of_its_own_samples(corpus: Path) -> None:
    data = dataset(corpus)
    torch.manual_seed(3)
    starts = set()
    for _ in range(6):
        item = data[0]
        starts.add(item["start"])
        assert item["audio"].shape == (24 * CFG.hop_length,) and item["mel"].shape == (24, CFG.n_mels)
        stored = data.stats.normalize("mel", log_mel(torch.from_numpy(item["audio"].numpy()), CFG).numpy())
        # frames whose analysis window lies inside the segment (2 frames of n_fft/2 context at each end)
        torch.testing.assert_close(torch.from_numpy(stored[2:22].astype(np.float32)), item["mel"][2:22], atol=2e-3, rtol=1e-3)
        full = data.stats.normalize("mel", data.store.read("mel", "u1"))
        np.testing.assert_allclose(item["mel"].numpy(), full[item["start"]:item["start"] + 24], atol=1e-6)
        raw = data.store.read("mel", "u1")[item["start"]:item["start"] + 24]
        np.testing.assert_array_equal(item["log_mel"].numpy(), raw)  # the stored natural-log mel, unnormalised
    assert len(starts) > 1  # the start is drawn


def test_starts_follow_the_seeded_torch_generator_and_validation_takes_the_first_frames(corpus: Path) -> None:
    data = dataset(corpus)
    torch.manual_seed(7)
    first = [data[i]["start"] for i in (0, 1, 0, 1)]
    torch.manual_seed(7)
    assert [data[i]["start"] for i in (0, 1, 0, 1)] == first
    assert [dataset(corpus, random_start=False)[i]["start"] for i in range(3)] == [0, 0, 0]


def test_short_utterances_are_padded_and_batches_stack(corpus: Path) -> None:
    data = dataset(corpus)
    short = data[2]  # 0.1 s: 9 frames
    n = short["frames"]
    assert n == 2205 // CFG.hop_length + 1 and short["samples"] == 2205 - 0 and short["start"] == 0
    assert torch.all(short["audio"][short["samples"]:] == 0) and torch.all(short["mel"][n:] == data.pad_value)
    assert torch.allclose(short["log_mel"][n:], torch.tensor(np.log(CFG.log_floor), dtype=torch.float32))
    batch = collate_waveform_segments([data[i] for i in range(3)])
    assert batch["mel"].shape == batch["log_mel"].shape == (3, 24, CFG.n_mels) and batch["audio"].shape == (3, 24 * CFG.hop_length)
    assert batch["frames"].tolist()[2] == n and batch["uttids"] == ["u1", "u2", "u3"]


def test_missing_features_name_the_utterance(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text((corpus / "data" / "wav.scp").read_text() + f"u4 {corpus / 'u1.wav'}\n")
    stats = compute_store_stats(corpus / "dump", progress=False)
    with pytest.raises(UserError, match="utterance 'u4' .* has no mel features"):
        WaveformSegmentDataset(str(data), str(corpus / "dump"), stats, CFG, 24)
