"""Task-set construction: split, pre-training windows, ranking groups, classification items."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.music import vocab as V
from speechtools.music.tasks_data import MELODY_PROGRAM, SequenceStore, encode_parts, melody_track, prepare
from speechtools.music.octuple import load_midi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music"


@pytest.fixture()
def corpus(tmp_path):
    midi = tmp_path / "midi"
    (midi / "a").mkdir(parents=True)
    shutil.copy(FIXTURES / "bwv1.6.mid", midi / "a" / "bwv1.6.mid")
    shutil.copy(FIXTURES / "aloha_oe.mid", midi / "a" / "aloha_oe.mid")
    shutil.copy(FIXTURES / "synthetic_drums_tpb383.mid", midi / "synth.mid")
    shutil.copy(FIXTURES / "aloha_oe.mid", midi / "dup.mid")  # a duplicate is dropped
    (midi / "labels.tsv").write_text("song\tmode\na/bwv1.6\tmajor\na/aloha_oe\tmajor\nsynth\tminor\ndup\tmajor\n")
    return midi


def test_melody_is_the_soprano_track():
    midi = load_midi(FIXTURES / "bwv1.6.mid")
    assert midi.instruments[melody_track(midi)].name == "Soprano"
    parts = encode_parts(midi, "bwv1.6")
    assert (parts[:, V.PROGRAM] == MELODY_PROGRAM).sum() == len(midi.instruments[melody_track(midi)].notes)


def test_prepare_builds_consistent_stores(corpus, tmp_path):
    out = tmp_path / "prepared"
    counts = prepare(corpus, out, corpus / "labels.tsv", "mode", seed=3, group_size=5)
    assert counts["songs"] == 3 and counts["skipped"] == 1
    assert "duplicate" in (out / "skipped.txt").read_text()
    assert sorted(l.split("\t")[1] for l in (out / "split.tsv").read_text().splitlines()) == ["test", "train", "valid"]
    pre = SequenceStore.load(out / "pretrain" / "train.npz")
    for seq in pre.sequences:
        assert (seq[0] == V.BOS_ID).all() and (seq[-1] == V.EOS_ID).all() and len(seq) <= 1002
        body = V.ids_to_octuples(seq[1:-1])
        assert body[:, V.BAR].max() < 256 and V.check_field_ranges(body) == []
    for task in ("melody_completion", "accompaniment"):
        test = SequenceStore.load(out / task / "test.npz")
        groups = np.asarray(test.groups)
        labels = np.asarray(test.labels)
        for g in np.unique(groups):
            assert (groups == g).sum() == 5 and labels[groups == g].sum() == 1  # 1 true among 5
        for seq in test.sequences:
            seps = np.nonzero((seq == V.EOS_ID).all(axis=1))[0]
            assert len(seps) == 2 and seps[-1] == len(seq) - 1  # <s> query </s> candidate </s>
            query = V.ids_to_octuples(seq[1 : seps[0]])
            cand = V.ids_to_octuples(seq[seps[0] + 1 : -1])
            assert (query[:, V.PROGRAM] == MELODY_PROGRAM).all() and query[:, V.BAR].max() < 2
            assert (query[:, V.TEMPO] == 35).all() and (cand[:, V.VELOCITY] == 16).all()
            if task == "melody_completion":
                assert (cand[:, V.PROGRAM] == MELODY_PROGRAM).all() and set(cand[:, V.BAR]) <= {2, 3}
            else:
                assert (cand[:, V.PROGRAM] != MELODY_PROGRAM).all() and set(cand[:, V.BAR]) <= {0, 1}
        train = SequenceStore.load(out / task / "train.npz")
        assert sorted(set(train.labels)) == [0, 1] and sum(train.labels) * 2 == len(train)
    cls = SequenceStore.load(out / "classification" / "test.npz")
    assert cls.classes == ["major", "minor"] and len(cls) == 1
    assert (out / "classification" / "classes.txt").read_text().split() == ["major", "minor"]
    assert len(SequenceStore.load(out / "classification" / "train.npz")) == 4  # 4 windows per train song


def test_store_errors(tmp_path):
    with pytest.raises(UserError, match="no such"):
        SequenceStore.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError):
        SequenceStore.load(tmp_path / "bad.npz")


def test_labels_file_errors(corpus, tmp_path):
    (corpus / "labels.tsv").write_text("song\tmode\na/bwv1.6\n")
    with pytest.raises(UserError) as err:
        prepare(corpus, tmp_path / "p", corpus / "labels.tsv", "mode")
    assert err.value.line == 2
