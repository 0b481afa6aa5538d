"""Feature store: atomic .npy per utterance, scp/shape indexes, completeness check."""

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
