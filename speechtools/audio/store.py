"""The feature store of design.md §2: one ``.npy`` per utterance and feature, plus Kaldi-style indexes.

Layout under a store root (``dump/<set>``)::

    <name>/<uttid>.npy     float32 array (frames, dim)
    <name>.scp             "uttid <name>/<uttid>.npy" (paths relative to the root, so a dump can move)
    <name>_shape           "uttid frames,dim"

Each ``.npy`` is written to a temporary file and renamed, so a file that exists is complete;
:meth:`FeatureStore.is_complete` still checks the header against the file size, which
catches files truncated by a full disk or a copy interrupted outside speechtools.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from speechtools.data.kaldi import read_table
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path, id_file, read_lines, read_npy, write_lines


class FeatureStore:
    """Read and write features of a set of utterances under ``root``."""

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root)
        self._index_cache: Dict[str, Dict[str, str]] = {}

    def feature_path(self, name: str, uttid: str) -> Path:
        """Where feature ``name`` of utterance ``uttid`` lives (the id checked by :func:`speechtools.fileio.checked_id`)."""
        return id_file(self.root / name, uttid, ".npy", what="utterance id")

    def write(self, name: str, uttid: str, array: np.ndarray) -> Path:
        """Save ``array`` atomically as ``<name>/<uttid>.npy``."""
        path = self.feature_path(name, uttid)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        return path

    def is_complete(self, name: str, uttid: str) -> bool:
        """True when the ``.npy`` exists and its size matches its header."""
        path = self.feature_path(name, uttid)
        try:
            return _npy_shape(path) is not None
        except OSError:
            return False

    def read(self, name: str, uttid: str) -> np.ndarray:
        """Load feature ``name`` of ``uttid`` (via ``<name>.scp`` when it exists).

        Raises:
            UserError: missing or unreadable file.
        """
        path = self._indexed_path(name, uttid)
        if not path.is_file():
            raise UserError(f"no {name} features for utterance {uttid}", path)
        return read_npy(path, f"{name} features of {uttid}")

    def shape_of(self, name: str, uttid: str) -> Tuple[int, ...]:
        """Shape of a stored array, read from the ``.npy`` header only (via ``<name>.scp`` when it exists)."""
        path = self._indexed_path(name, uttid)
        shape = _npy_shape(path) if path.is_file() else None
        if shape is None:
            raise UserError(f"missing or truncated {name} features for utterance {uttid}", path)
        return shape

    def write_index(self, name: str, utt_ids: Iterable[str]) -> None:
        """Write ``<name>.scp`` and ``<name>_shape`` for ``utt_ids`` (sorted), from the ``.npy`` headers."""
        ids = sorted(utt_ids)
        shapes = [self.shape_of(name, u) for u in ids]
        write_lines(self.root / f"{name}.scp", [f"{u} {name}/{u}.npy" for u in ids])
        write_lines(self.root / f"{name}_shape", [f"{u} {','.join(str(d) for d in s)}" for u, s in zip(ids, shapes)])
        self._index_cache.pop(name, None)

    def names(self) -> List[str]:
        """Feature names that have an index (``<name>.scp``), sorted."""
        return sorted(p.stem for p in self.root.glob("*.scp") if p.is_file())

    def utt_ids(self, name: str) -> List[str]:
        """Utterances listed in ``<name>.scp``, in file order."""
        return list(self._scp(name))

    def shapes(self, name: str) -> Dict[str, Tuple[int, ...]]:
        """``<name>_shape`` as ``{uttid: (frames, dim)}``."""
        path = self.root / f"{name}_shape"
        out: Dict[str, Tuple[int, ...]] = {}
        for number, line in read_lines(path):
            parts = line.split()
            try:
                if len(parts) != 2:
                    raise ValueError
                out[parts[0]] = tuple(int(d) for d in parts[1].split(","))
            except ValueError:
                raise UserError("expected 'uttid frames,dim'", path, number) from None
        return out

    def _scp(self, name: str) -> Dict[str, str]:
        path = self.root / f"{name}.scp"
        if not path.is_file():
            raise UserError(f"no {name} features in this store (missing {name}.scp)", path)
        return read_table(path)

    def _indexed_path(self, name: str, uttid: str) -> Path:
        scp = self.root / f"{name}.scp"
        if not scp.is_file():
            return self.feature_path(name, uttid)
        if name not in self._index_cache:
            self._index_cache[name] = read_table(scp)
        table = self._index_cache[name]
        if uttid not in table:
            raise UserError(f"utterance {uttid} is not in {name}.scp", scp)
        entry = Path(table[uttid])
        return entry if entry.is_absolute() else self.root / entry


def combine_stores(dst: PathLike, srcs: Sequence[PathLike], names: Optional[Sequence[str]] = None) -> Tuple[List[str], int]:
    """Index the features of ``srcs`` as one store ``dst`` (as ``data combine`` merges data directories).

    Nothing is copied: ``dst/<name>.scp`` lists each source's files by a path relative to ``dst``
    (so the stores can move together) and ``dst/<name>_shape`` their shapes. ``names``: the
    features to index (default: those every source has). Returns the names and the utterance count.

    Raises:
        UserError: no source, ``dst`` among them, a source without an index, a feature missing from
            a source, or an utterance in two sources.
    """
    if not srcs:
        raise UserError("give at least one source feature store")
    root = Path(dst)
    stores = [FeatureStore(s) for s in srcs]
    if any(s.root.resolve() == root.resolve() for s in stores):
        raise UserError("destination must differ from every source", root)
    for store in stores:
        if not store.names():
            raise UserError("not a feature store (no <name>.scp index)", store.root)
    chosen = list(names) if names else sorted(set.intersection(*(set(s.names()) for s in stores)))
    if not chosen:
        raise UserError("the sources have no feature in common")
    root.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in chosen:
        owner: Dict[str, Path] = {}
        scp: List[str] = []
        shapes: List[str] = []
        for store in stores:
            table, shape_table = store._scp(name), store.shapes(name)
            for uttid in table:
                if uttid in owner:
                    raise UserError(f"utterance {uttid!r} is in two sources (also {owner[uttid]})", store.root / f"{name}.scp")
                owner[uttid] = store.root
                path = store._indexed_path(name, uttid)
                scp.append(f"{uttid} {os.path.relpath(path.resolve(), root.resolve())}")
                shapes.append(f"{uttid} {','.join(str(d) for d in shape_table[uttid])}")
        order = sorted(range(len(scp)), key=lambda k: scp[k].split(" ", 1)[0])
        write_lines(root / f"{name}.scp", [scp[k] for k in order])
        write_lines(root / f"{name}_shape", [shapes[k] for k in order])
        count = len(scp)
    return chosen, count


def _npy_shape(path: Path) -> Tuple[int, ...] | None:
    """The array shape from a ``.npy`` header, or None if the file is truncated or not a ``.npy``."""
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        except ValueError:
            return None
        expected = handle.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return tuple(int(d) for d in shape) if path.stat().st_size == expected else None
