"""``speechtools pseudo-pairs speak``: a TTS model speaks unpaired text into a synthetic data directory (LRSpeech)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from speechtools.audio.store import FeatureStore
from speechtools.data.kaldi import DataDir, read_durations, read_table
from speechtools.data.synthetic import read_marker

SENTENCES = {"s1": "Printing, in the only sense.", "s2": "In the only sense.", "s3": "Printing.", "s4": "The only sense."}


@pytest.fixture()
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "text"
    path.write_text("".join(f"{u} {t}\n" for u, t in SENTENCES.items()))
    return path


def speak(run_cli, model: Path, text: Path, out: Path, *options: str) -> Tuple[int, str, str]:
    return run_cli(["pseudo-pairs", "speak", "--tts-model", model, "--text", text, "--out-data", out / "data",
                    "--out-feats", out / "dump", "--device", "cpu", *options])


def scores_of(data: Path) -> dict:
    return {u: tuple(float(x) for x in v.split()) for u, v in read_table(data / "attention_scores").items()}


def test_every_sentence_becomes_a_pair_with_its_attention_scores(tiny_attention_model_dir, text_file, tmp_path, run_cli):
    code, stdout, err = speak(run_cli, tiny_attention_model_dir, text_file, tmp_path, "--attention-dir", tmp_path / "att")
    assert code == 0, err
    data = DataDir.load(tmp_path / "data")
    assert data.text == SENTENCES and set(data.utt2spk.values()) == {"tts"}
    store = FeatureStore(tmp_path / "dump")
    durations = read_durations(tmp_path / "data" / "durations")
    for uttid in SENTENCES:
        frames = store.shapes("mel")[uttid][0]
        assert sum(durations[uttid]) == frames  # durations from the attention cover the model's own mel
        assert Path(data.wav_scp[uttid]).is_file() and Path(data.wav_scp[uttid]).parent.parent == (tmp_path / "data").resolve()
        assert np.load(tmp_path / "att" / f"{uttid}.npy").shape[0] == frames
    assert (tmp_path / "dump" / "stats.npz").is_file()
    marker = read_marker(tmp_path / "data")
    assert (marker.kind, marker.kept, marker.dropped, marker.produced_by) == ("speech", 4, 0, str(tiny_attention_model_dir.resolve()))
    assert set(scores_of(tmp_path / "data")) == set(SENTENCES)
    # the scores written are those `score attention` gives for the saved matrices (token = word there: compare ADR)
    code, stdout, _ = run_cli(["score", "attention", tmp_path / "att", "--json", tmp_path / "att.json"])
    import json

    report = json.loads((tmp_path / "att.json").read_text())
    for uttid, (_, adr) in scores_of(tmp_path / "data").items():
        assert report["utterances"][uttid]["adr"] == pytest.approx(adr, abs=1e-4)


def test_the_filter_keeps_exactly_the_sentences_above_both_thresholds(tiny_attention_model_dir, text_file, tmp_path, run_cli):
    code, _, err = speak(run_cli, tiny_attention_model_dir, text_file, tmp_path / "all")
    assert code == 0, err
    scores = scores_of(tmp_path / "all" / "data")
    wcrs, adrs = sorted(s[0] for s in scores.values()), sorted(s[1] for s in scores.values())
    min_wcr, min_adr = wcrs[1], adrs[1]  # thresholds between the observed values: some sentences fall below one of them
    expected = sorted(u for u, (w, a) in scores.items() if w >= min_wcr - 5e-5 and a >= min_adr - 5e-5)
    assert 0 < len(expected) < len(SENTENCES)  # the filter has something to keep and something to drop
    code, stdout, err = speak(run_cli, tiny_attention_model_dir, text_file, tmp_path / "kd", "--min-wcr", f"{min_wcr - 5e-5:.6f}",
                              "--min-adr", f"{min_adr - 5e-5:.6f}")
    assert code == 0, err
    kept = sorted(read_table(tmp_path / "kd" / "data" / "text"))
    dropped = read_table(tmp_path / "kd" / "data" / "dropped")
    assert kept == expected
    assert sorted(dropped) == sorted(set(SENTENCES) - set(expected))
    assert all(("wcr" in reason) or ("adr" in reason) for reason in dropped.values())
    assert sorted(FeatureStore(tmp_path / "kd" / "dump").utt_ids("mel")) == expected


def test_an_impossible_filter_an_empty_list_and_a_bad_line_are_one_line_errors_writing_nothing(
        tiny_attention_model_dir, tiny_model_dir, text_file, tmp_path, run_cli):
    cases: List[Tuple[list, Path, str]] = [
        (["--min-wcr", "1", "--min-adr", "1"], text_file, "every sentence was dropped"),
    ]
    empty = tmp_path / "empty_text"
    empty.write_text("")
    cases.append(([], empty, "no lines to synthesise"))
    bad = tmp_path / "bad_text"
    bad.write_text("ok Printing.\nnone   \n")
    cases.append(([], bad, "bad_text:2"))
    for k, (options, text, message) in enumerate(cases):
        out = tmp_path / f"case{k}"
        code, _, err = speak(run_cli, tiny_attention_model_dir, text, out, *options)
        errors = [line for line in err.splitlines() if "error:" in line]
        assert code != 0 and message in err and len(errors) == 1 and "Traceback" not in err, err
        assert not (out / "data").exists()
    code, _, err = speak(run_cli, tiny_model_dir, text_file, tmp_path / "nar", "--min-wcr", "0.5")
    assert code != 0 and "need an attention model" in err and not (tmp_path / "nar" / "data").exists()


def test_a_model_without_attention_speaks_without_scores(tiny_model_dir, text_file, tmp_path, run_cli):
    code, _, err = speak(run_cli, tiny_model_dir, text_file, tmp_path)
    assert code == 0, err
    assert sorted(read_table(tmp_path / "data" / "text")) == sorted(SENTENCES)
    assert not (tmp_path / "data" / "attention_scores").exists()
