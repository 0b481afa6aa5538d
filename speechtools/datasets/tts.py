"""The speech data layer shared by the TTS-family tasks (and the vocoder and ASR tasks built on it).

* :class:`TTSDataConfig`: where a task finds its data (Kaldi data dirs, feature stores, token
  list, stats, feature YAML, text front-end);
* :class:`SpeechAssets`: the token list, stats, feature configuration and front-end of a task,
  loaded lazily from those paths (training) or from a model directory's copies (inference),
  and exported into the model directory (:class:`FeatureAssets`: stats and feature
  configuration alone, for the vocoder task);
* :class:`TTSDataset` and :func:`collate_tts`: normalised ``{tokens, mel, durations, pitch,
  energy, speaker[, speaker_vector]}`` items and their padded batches;
* external speaker vectors (``spk_vectors.scp``): :func:`read_speaker_vectors`, :func:`load_speaker_vector`.

Pitch is the store's continuous log-F0 (unvoiced frames interpolated; ``voiced`` flags beside
it), energy the frame L2 norm; both are normalised with ``stats.npz`` (training-set mean/std)
and, at ``level: token``, averaged over each token's frames
(:func:`speechtools.audio.token_average.token_average`).

External speaker vectors (``task_conf.speaker_vectors: true``, for models built with
``model_conf.speaker_vector_dim > 0``): each data directory has ``spk_vectors.scp``, lines
``uttid path.npy`` (relative paths are relative to the data directory), each file a 1-D float
vector of ``speaker_vector_dim`` values (an x-vector or d-vector from any speaker-verification
model). They are inputs, like the text: not copied into the model directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from speechtools.audio.features import FeatureConfig
from speechtools.audio.stats import FeatureStats, load_stats
from speechtools.audio.store import FeatureStore
from speechtools.audio.token_average import token_average
from speechtools.config import from_dict, load_config
from speechtools.data.kaldi import read_durations, read_records, read_table
from speechtools.errors import PathLike, UserError
from speechtools.fileio import copy_file, read_npy
from speechtools.text.frontend import get_frontend
from speechtools.text.tokens import TokenList

TOKENS_NAME = "tokens.txt"
STATS_NAME = "stats.npz"
FEATS_NAME = "feats.yaml"
SPEAKER_VECTORS_NAME = "spk_vectors.scp"


@dataclass
class FeatureDataConfig:
    """Where a task that reads feature stores finds its data (the vocoder task; the base of :class:`TTSDataConfig`).

    Attributes:
        train_data, valid_data: Kaldi data directories.
        train_feats, valid_feats: feature stores of those sets (``dump/<set>``).
        stats: ``stats.npz`` of the training set; feats_conf: the feature YAML the stores were extracted with.
    """

    train_data: str = ""
    train_feats: str = ""
    valid_data: Optional[str] = None
    valid_feats: Optional[str] = None
    stats: str = ""
    feats_conf: str = ""


@dataclass
class TTSDataConfig(FeatureDataConfig):
    """Where the TTS-family tasks (``tts``, ``alignment``, ``tts_ar``) find their data: the fields of
    :class:`FeatureDataConfig` (data directories with ``durations``), plus

    Attributes:
        token_list: ``tokens.txt``.
        frontend: text front-end name (``en_phone``...).
    """

    token_list: str = ""
    frontend: str = "en_phone"


def export_asset(src: PathLike, model_dir: PathLike, name: str) -> str:
    """Copy ``src`` into ``model_dir`` as ``name`` (atomically; nothing to do when it is that file already); return ``name``."""
    dst = Path(model_dir) / name
    if Path(src).resolve() != dst.resolve():
        dst.parent.mkdir(parents=True, exist_ok=True)
        copy_file(src, dst)
    return name


def load_feature_config(path: Path) -> FeatureConfig:
    """Read a feature YAML (``conf/feats/mel22k.yaml``) into :class:`FeatureConfig` (through the config
    loader: bad YAML, bad UTF-8 and unknown keys are errors naming the file)."""
    return from_dict(FeatureConfig, load_config(path))


def encode_text(frontend: Any, tokens: TokenList, text: str, path: Optional[Path] = None, line: Optional[int] = None,
                unk: str = "error") -> List[int]:
    """Front-end tokens of ``text`` as ids; empty output is a user error, and so is an unknown token
    unless ``unk="map"`` (it becomes ``<unk>``: a recogniser's targets, as ESPnet)."""
    symbols = frontend.tokenize(text)
    if not symbols:
        raise UserError(f"text normalises to nothing: {text!r}", path, line)
    return tokens.encode(symbols, unk=unk, path=path, line=line)


def load_speaker_vector(path: PathLike, dim: int, source: Optional[PathLike] = None, line: Optional[int] = None) -> np.ndarray:
    """One external speaker vector (x-/d-vector) from a ``.npy`` file: 1-D, ``dim`` finite floats.

    Errors name ``source``/``line`` (the ``spk_vectors.scp`` line) when given, else the file itself.
    """
    where = (source, line) if source is not None else (path, None)
    try:
        vector = read_npy(path, f"speaker vector {str(path)!r}")
    except UserError as exc:
        raise UserError(exc.message, *where) from None
    if not np.issubdtype(vector.dtype, np.floating):
        raise UserError(f"speaker vector {str(path)!r} has dtype {vector.dtype}, expected float", *where)
    if vector.shape != (dim,):
        raise UserError(f"speaker vector {str(path)!r} has shape {vector.shape}, the model expects ({dim},)", *where)
    if not np.isfinite(vector).all():
        raise UserError(f"speaker vector {str(path)!r} has non-finite values", *where)
    return vector.astype(np.float32)


def read_speaker_vectors(data_dir: PathLike, uttids: Sequence[str], dim: int) -> Dict[str, np.ndarray]:
    """The speaker vector of each of ``uttids`` from ``data_dir/spk_vectors.scp`` (``uttid path.npy``).

    Relative paths resolve against ``data_dir``; a file named by several lines (one vector per
    speaker) is read once. Extra lines are ignored.

    Raises:
        UserError: missing ``spk_vectors.scp`` or utterance, unreadable file, wrong shape (file:line).
    """
    root = Path(data_dir)
    scp = root / SPEAKER_VECTORS_NAME
    if not scp.is_file():
        raise UserError(f"missing {SPEAKER_VECTORS_NAME} (task_conf.speaker_vectors is true: one 'uttid path.npy' line per utterance)", scp)
    records = {r.key: r for r in read_records(scp)}
    by_path: Dict[Path, np.ndarray] = {}
    vectors: Dict[str, np.ndarray] = {}
    for uttid in tqdm(uttids, desc=f"speaker vectors {root.name}", leave=False, disable=len(uttids) < 200):
        record = records.get(uttid)
        if record is None:
            raise UserError(f"no speaker vector for utterance {uttid!r}", scp)
        if len(record.value.split()) != 1:
            raise UserError(f"expected 'uttid path.npy', got {len(record.value.split()) + 1} fields", scp, record.line)
        path = Path(record.value)
        path = path if path.is_absolute() else root / path
        if path not in by_path:
            by_path[path] = load_speaker_vector(path, dim, scp, record.line)
        vectors[uttid] = by_path[path]
    return vectors


class TTSDataset(Dataset):
    """Items ``{uttid, tokens, durations, mel, pitch, energy, speaker[, speaker_vector]}`` of one set (normalised).

    ``speaker_vector_dim > 0`` reads each utterance's vector from ``spk_vectors.scp``
    (:func:`read_speaker_vectors`). ``unknown_tokens="map"`` turns tokens outside the list into
    ``<unk>`` (a recogniser's targets) instead of refusing them.
    """

    def __init__(
        self, data_dir: str, feats_dir: str, tokens: TokenList, stats: FeatureStats, frontend: Any,
        level: str, speaker_ids: Optional[Dict[str, int]] = None, need_durations: bool = True,
        need_variances: bool = True, speaker_vector_dim: int = 0, unknown_tokens: str = "error",
    ) -> None:
        root = Path(data_dir)
        text_path = root / "text"
        records = read_records(text_path, allow_empty_value=True)  # read once: values and line numbers
        texts = {r.key: r.value for r in records}
        lines = {r.key: r.line for r in records}
        self.store = FeatureStore(feats_dir)
        self.stats = stats
        self.level = level
        self.need_variances = need_variances
        durations: Dict[str, List[int]] = {}
        dur_path = root / "durations"
        if need_durations:
            if not dur_path.is_file():
                raise UserError("missing durations (run `speechtools align durations` first)", dur_path)
            durations = read_durations(dur_path)
        utt2spk = read_table(root / "utt2spk") if speaker_ids is not None else {}
        self.items: List[Dict[str, Any]] = []
        shapes = self.store.shapes("mel")
        for uttid in tqdm(sorted(texts), desc=f"tokenise {root.name}", leave=False, disable=len(texts) < 200):
            if uttid not in shapes:
                raise UserError(f"utterance {uttid!r} has no mel features in {feats_dir}", text_path, lines.get(uttid))
            ids = encode_text(frontend, tokens, texts[uttid], text_path, lines.get(uttid), unk=unknown_tokens)
            item: Dict[str, Any] = {"uttid": uttid, "tokens": ids, "frames": int(shapes[uttid][0])}
            if need_durations:
                if uttid not in durations:
                    raise UserError(f"no durations for {uttid!r}", dur_path)
                d = durations[uttid]
                if len(d) != len(ids):
                    raise UserError(f"{uttid}: {len(d)} durations for {len(ids)} tokens (stale durations? re-run align durations)", dur_path)
                if sum(d) != item["frames"]:
                    raise UserError(f"{uttid}: durations sum to {sum(d)}, features have {item['frames']} frames", dur_path)
                item["durations"] = d
            if speaker_ids is not None:
                spk = utt2spk.get(uttid)
                if spk not in speaker_ids:
                    raise UserError(f"{uttid}: speaker {spk!r} not in the training speakers", root / "utt2spk")
                item["speaker"] = speaker_ids[spk]
            self.items.append(item)
        self.speaker_vectors: Dict[str, np.ndarray] = {}
        if speaker_vector_dim > 0:
            self.speaker_vectors = read_speaker_vectors(root, [it["uttid"] for it in self.items], speaker_vector_dim)

    def __len__(self) -> int:
        return len(self.items)

    def normalized_mel(self, uttid: str) -> np.ndarray:
        """The mel of ``uttid`` z-normalised with ``stats.npz``, ``(frames, n_mels)`` float32 (what the model sees)."""
        return self.stats.normalize("mel", self.store.read("mel", uttid).astype(np.float32)).astype(np.float32)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        meta = self.items[index]
        uttid = meta["uttid"]
        mel = self.normalized_mel(uttid)
        item = {
            "uttid": uttid,
            "tokens": torch.tensor(meta["tokens"], dtype=torch.long),
            "mel": torch.from_numpy(mel),
            "speaker": meta.get("speaker", 0),
        }
        if self.speaker_vectors:
            item["speaker_vector"] = torch.from_numpy(self.speaker_vectors[uttid])
        if "durations" not in meta:
            return item
        durations = np.asarray(meta["durations"], dtype=np.int64)
        item["durations"] = torch.from_numpy(durations)
        if not self.need_variances:  # FastSpeech: no pitch/energy (and KD stores carry mels only)
            return item
        log_f0 = self.store.read("pitch", uttid).astype(np.float64).reshape(-1)
        energy = self.store.read("energy", uttid).astype(np.float64).reshape(-1)
        n = len(mel)
        log_f0, energy = log_f0[:n], energy[:n]
        if self.level == "token":
            log_f0 = token_average(log_f0, durations)
            energy = token_average(energy, durations)
        pitch_mean, pitch_std = scalar_stats(self.stats, "pitch")
        energy_mean, energy_std = scalar_stats(self.stats, "energy")
        item["pitch"] = torch.from_numpy(((log_f0 - pitch_mean) / pitch_std).astype(np.float32))
        item["energy"] = torch.from_numpy(((energy - energy_mean) / energy_std).astype(np.float32))
        if self.level == "token":
            # Tokens without frames carry 0 (the mean), not the normalised value of 0 Hz/energy.
            has_frames = torch.from_numpy(durations > 0)
            item["pitch"] = item["pitch"] * has_frames
            item["energy"] = item["energy"] * has_frames
        return item


def scalar_stats(stats: FeatureStats, name: str) -> Tuple[float, float]:
    """Mean and standard deviation of a scalar feature (``pitch``, ``energy``) in ``stats.npz``."""
    if name not in stats.mean:
        raise UserError(f"stats.npz has no {name!r} statistics (recompute with `speechtools compute-stats`)")
    return float(np.asarray(stats.mean[name]).reshape(-1)[0]), float(np.asarray(stats.std[name]).reshape(-1)[0])


def pad_1d(seqs: Sequence[torch.Tensor], value: float = 0) -> torch.Tensor:
    """Right-pad 1-D tensors into ``(batch, max_len)``."""
    return torch.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True, padding_value=value)


def collate_tts(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Pad a list of :class:`TTSDataset` items into a batch."""
    batch: Dict[str, Any] = {
        "uttids": [it["uttid"] for it in items],
        "tokens": pad_1d([it["tokens"] for it in items]),
        "token_lengths": torch.tensor([len(it["tokens"]) for it in items]),
        "mel": pad_1d([it["mel"] for it in items]),
        "mel_lengths": torch.tensor([len(it["mel"]) for it in items]),
        "speakers": torch.tensor([it["speaker"] for it in items]),
    }
    for key in ("durations", "pitch", "energy"):
        if key in items[0]:
            batch[key] = pad_1d([it[key] for it in items])
    if "speaker_vector" in items[0]:
        batch["speaker_vectors"] = torch.stack([it["speaker_vector"] for it in items])
    return batch


class FeatureAssets:
    """The training set's ``stats.npz`` and the feature configuration of a task that reads a feature store.

    Loaded on first use from ``task_conf.stats`` and ``task_conf.feats_conf`` (training), unless
    the task's ``load_assets`` already loaded a model directory's copies (:meth:`_load_features`).
    The base of :class:`SpeechAssets`; the vocoder task uses it alone (no tokens).
    """

    conf: Any
    _assets_loaded: bool = False

    def _load_features(self, stats: str, feats_conf: str) -> None:
        self._stats = load_stats(stats)
        self._feature_config = load_feature_config(Path(feats_conf))
        self._assets_loaded = True

    def _load_from_conf(self) -> None:
        """Load the assets from the training paths of ``task_conf``."""
        self._load_features(self.conf.stats, self.conf.feats_conf)

    def _ensure_assets(self) -> None:
        if not self._assets_loaded:
            self._load_from_conf()
            self._after_assets()

    def _after_assets(self) -> None:
        """Hook run after the training-time assets are loaded."""

    @property
    def stats(self) -> FeatureStats:
        self._ensure_assets()
        return self._stats

    @property
    def feature_config(self) -> FeatureConfig:
        self._ensure_assets()
        return self._feature_config


class SpeechAssets(FeatureAssets):
    """Assets of a speech task (mixin of the TTS, alignment and autoregressive TTS tasks).

    ``tokens``, ``stats``, ``feature_config`` and ``frontend`` load on first use from the paths in
    ``task_conf`` (training), unless :meth:`load_assets` already loaded a model directory's copies
    (inference: the config's relative training paths need not exist there).
    """

    def _load_common(self, token_list: str, stats: str, feats_conf: str) -> None:
        self._tokens = TokenList.load(token_list)
        self._load_features(stats, feats_conf)
        self._frontend = self._build_frontend()

    def _build_frontend(self) -> Any:
        """The text front-end of ``task_conf.frontend`` (a recogniser's task gives its output units instead)."""
        return get_frontend(self.conf.frontend)

    def _load_from_conf(self) -> None:
        self._load_common(self.conf.token_list, self.conf.stats, self.conf.feats_conf)

    @property
    def tokens(self) -> TokenList:
        self._ensure_assets()
        return self._tokens

    @property
    def frontend(self) -> Any:
        self._ensure_assets()
        return self._frontend

    def _export_common(self, model_dir: Path) -> List[str]:
        """Copy the token list, stats and feature config into ``model_dir``; return their names."""
        pairs = ((self.conf.token_list, TOKENS_NAME), (self.conf.stats, STATS_NAME), (self.conf.feats_conf, FEATS_NAME))
        return [export_asset(src, model_dir, name) for src, name in pairs]

    def _point_at(self, model_dir: Path) -> None:
        self.conf.token_list = str(model_dir / TOKENS_NAME)
        self.conf.stats = str(model_dir / STATS_NAME)
        self.conf.feats_conf = str(model_dir / FEATS_NAME)
