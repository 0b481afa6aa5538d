"""Feature store: atomic .npy per utterance, scp/shape indexes, completeness check."""

import shutil

import numpy as np
import pytest

from speechtools.audio.store import FeatureStore
from speechtools.errors import UserError


def test_write_index_read_round_trip(tmp_path):
    store = FeatureStore(tmp_path / "dump")
    a, b = np.ones((7, 80), np.float32), np.zeros((3, 1), np.float32)
    store.write("mel", "u2", a)
    store.write("mel", "u1", b[:, :1].repeat(80, 1))
    store.write_index("mel", ["u2", "u1"])
    assert (tmp_path / "dump" / "mel.scp").read_text() == "u1 mel/u1.npy\nu2 mel/u2.npy\n"
    assert (tmp_path / "dump" / "mel_shape").read_text() == "u1 3,80\nu2 7,80\n"
    assert store.shapes("mel") == {"u1": (3, 80), "u2": (7, 80)}
    assert store.utt_ids("mel") == ["u1", "u2"] and store.names() == ["mel"]
    np.testing.assert_array_equal(FeatureStore(tmp_path / "dump").read("mel", "u2"), a)


def test_truncated_file_is_incomplete(tmp_path):
    store = FeatureStore(tmp_path)
    path = store.write("pitch", "u1", np.arange(100, dtype=np.float32).reshape(100, 1))
    assert store.is_complete("pitch", "u1")
    path.write_bytes(path.read_bytes()[:-8])
    assert not store.is_complete("pitch", "u1")
    assert not store.is_complete("pitch", "missing")
    with pytest.raises(UserError, match="truncated"):
        store.write_index("pitch", ["u1"])


def test_unknown_utterance_and_bad_ids_are_user_errors(tmp_path):
    store = FeatureStore(tmp_path)
    store.write("mel", "u1", np.zeros((2, 2), np.float32))
    store.write_index("mel", ["u1"])
    with pytest.raises(UserError, match="not in mel.scp"):
        store.read("mel", "u9")
    with pytest.raises(UserError, match="file name"):
        store.write("mel", "../evil", np.zeros(1))


def test_combined_stores_read_every_source_and_move_together(tmp_path):
    from speechtools.audio.store import combine_stores

    rng = np.random.default_rng(0)
    arrays = {}
    for store_name, ids in (("a", ["u1", "u3"]), ("b", ["u2"])):
        store = FeatureStore(tmp_path / "dump" / store_name)
        for uttid in ids:
            arrays[uttid] = rng.random((5 + len(arrays), 4)).astype(np.float32)
            store.write("mel", uttid, arrays[uttid])
            store.write("pitch", uttid, arrays[uttid][:, :1])
        store.write_index("mel", ids)
        if store_name == "a":
            store.write_index("pitch", ids)  # b has no pitch index: only mel is common
    names, count = combine_stores(tmp_path / "dump" / "ab", [tmp_path / "dump" / "a", tmp_path / "dump" / "b"])
    assert (names, count) == (["mel"], 3)
    shutil.move(tmp_path / "dump", tmp_path / "moved")  # relative paths: the three stores move as one
    combined = FeatureStore(tmp_path / "moved" / "ab")
    assert combined.utt_ids("mel") == ["u1", "u2", "u3"]
    for uttid, array in arrays.items():
        np.testing.assert_array_equal(combined.read("mel", uttid), array)
        assert combined.shapes("mel")[uttid] == array.shape == combined.shape_of("mel", uttid)


def test_combining_stores_refuses_duplicates_and_non_stores(tmp_path):
    from speechtools.audio.store import combine_stores

    for name in ("a", "b"):
        store = FeatureStore(tmp_path / name)
        store.write("mel", "u1", np.zeros((2, 3), np.float32))
        store.write_index("mel", ["u1"])
    with pytest.raises(UserError, match="'u1' is in two sources"):
        combine_stores(tmp_path / "ab", [tmp_path / "a", tmp_path / "b"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a feature store"):
        combine_stores(tmp_path / "ab", [tmp_path / "a", tmp_path / "empty"])
    with pytest.raises(UserError, match="must differ"):
        combine_stores(tmp_path / "a", [tmp_path / "a"])
