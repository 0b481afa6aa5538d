"""``toy_regression``: a small, fully synthetic sequence-regression task, as a plugin outside the library.

It shows what a task and a model need to be trained by ``speechtools train`` (and it is what
the trainer's tests train). Load it with ``--import`` (a ``.py`` file, a package folder or a
module name)::

    speechtools train --import examples/toy_regression/toy_regression.py \
        --config examples/toy_regression/toy_regression.yaml --out-dir exp/toy

Data (deterministic from ``data_seed``, no files): item ``i`` of a split is a sequence
``x`` of ``T_i`` frames of ``input_dim`` standard-normal features, with ``T_i`` uniform in
``[min_len, max_len]``, and target::

    y_t = tanh((x_t + 0.5 * x_{t-1}) @ A) @ B + noise * e_t        (x_{-1} = 0)

where ``A`` (``input_dim x hidden_true``), ``B`` (``hidden_true x output_dim``) and the noise
``e_t`` are drawn from the same seeded generator. Targets are standardised with the
training set's per-dimension mean/std (like TTS mel statistics); ``export_assets`` writes them
to ``stats.npz`` so a model directory can de-standardise predictions on its own.

Loss: the per-item mean squared error over valid frames and dimensions, averaged over items.
Being a mean over items, its DDP gradient equals the single-process gradient of the same
global batch (see :mod:`speechtools.train.trainer`).

The model, ``toy_regressor``, is two 1-D convolutions with GELU and dropout and a linear head,
registered here because it exists only for this task; like every model it is built by the
registry through its ``build_model(conf, task)`` classmethod, which reads the input and output
sizes from the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from speechtools.config import check_ranges
from speechtools.errors import UserError
from speechtools.fileio import atomic_path, read_npz
from speechtools.models import MODELS
from speechtools.nn.masks import lengths_to_mask
from speechtools.tasks import TASKS
from speechtools.tasks.base import LossStats, Task

STATS_NAME = "stats.npz"


@dataclass
class ToyRegressionConfig:
    """Size and seed of the synthetic data."""

    num_train: int = 128
    num_valid: int = 16
    min_len: int = 4
    max_len: int = 32
    input_dim: int = 4
    output_dim: int = 2
    hidden_true: int = 8
    noise: float = 0.01
    data_seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.min_len <= self.max_len:
            raise ValueError(f"need 1 <= min_len <= max_len, got {self.min_len}, {self.max_len}")
        if self.num_train < 1 or self.num_valid < 0:
            raise ValueError("num_train must be >= 1 and num_valid >= 0")


@dataclass
class ToyRegressorConfig:
    """Width, kernel and dropout of :class:`ToyRegressor`."""

    hidden: int = 32
    kernel_size: int = 3
    dropout: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, positive=("hidden", "kernel_size"), probability=("dropout",))


@MODELS.register("toy_regressor", config=ToyRegressorConfig)
class ToyRegressor(nn.Module):
    """``(B, T, input_dim) -> (B, T, output_dim)``: conv-GELU-dropout x2, then a linear head."""

    def __init__(self, input_dim: int, output_dim: int, conf: ToyRegressorConfig) -> None:
        super().__init__()
        pad = conf.kernel_size // 2
        self.conv1 = nn.Conv1d(input_dim, conf.hidden, conf.kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(conf.hidden, conf.hidden, conf.kernel_size, padding=pad)
        self.dropout = nn.Dropout(conf.dropout)
        self.head = nn.Linear(conf.hidden, output_dim)

    @classmethod
    def build_model(cls, conf: ToyRegressorConfig, task: "ToyRegressionTask") -> "ToyRegressor":
        """The construction rule: input and output sizes from the task."""
        return cls(task.input_dim, task.output_dim, conf)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` is ``(B, T)`` True at valid frames; padded frames are zeroed between layers."""
        keep = mask.unsqueeze(1).to(x.dtype)
        h = x.transpose(1, 2) * keep
        h = self.dropout(nn.functional.gelu(self.conv1(h))) * keep
        h = self.dropout(nn.functional.gelu(self.conv2(h))) * keep
        return self.head(h.transpose(1, 2))


class ToySequenceDataset(Dataset):
    """A list of ``(x, y)`` float32 arrays of shapes ``(T, input_dim)`` and ``(T, output_dim)``."""

    def __init__(self, items: List[Tuple[np.ndarray, np.ndarray]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.items[index]


def make_toy_data(conf: ToyRegressionConfig, split: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Generate the raw (unstandardised) items of ``split`` (``train`` or ``valid``), see the module docstring."""
    weights = np.random.default_rng([conf.data_seed, 0])
    a = weights.standard_normal((conf.input_dim, conf.hidden_true)) / np.sqrt(conf.input_dim)
    b = weights.standard_normal((conf.hidden_true, conf.output_dim)) / np.sqrt(conf.hidden_true)
    count = conf.num_train if split == "train" else conf.num_valid
    rng = np.random.default_rng([conf.data_seed, 1 if split == "train" else 2])
    lengths = rng.integers(conf.min_len, conf.max_len + 1, size=count)
    items = []
    for length in lengths.tolist():
        x = rng.standard_normal((length, conf.input_dim))
        shifted = np.concatenate([np.zeros((1, conf.input_dim)), x[:-1]], axis=0)
        y = np.tanh((x + 0.5 * shifted) @ a) @ b + conf.noise * rng.standard_normal((length, conf.output_dim))
        items.append((x.astype(np.float32), y.astype(np.float32)))
    return items


@TASKS.register("toy_regression", config=ToyRegressionConfig)
class ToyRegressionTask(Task):
    """Synthetic sequence regression (see the module docstring)."""

    def __init__(self, conf: ToyRegressionConfig, model_name: str, model_conf: Any) -> None:
        super().__init__(conf, model_name, model_conf)
        self.mean: Optional[np.ndarray] = None
        self.std: Optional[np.ndarray] = None
        self._train: Optional[ToySequenceDataset] = None

    @property
    def input_dim(self) -> int:
        """Features per input frame."""
        return self.conf.input_dim

    @property
    def output_dim(self) -> int:
        """Values per target frame."""
        return self.conf.output_dim

    def _standardise(self, items: List[Tuple[np.ndarray, np.ndarray]]) -> ToySequenceDataset:
        assert self.mean is not None and self.std is not None
        return ToySequenceDataset([(x, ((y - self.mean) / self.std).astype(np.float32)) for x, y in items])

    def _fit_stats(self) -> None:
        raw = make_toy_data(self.conf, "train")
        frames = np.concatenate([y for _, y in raw], axis=0)
        self.mean = frames.mean(axis=0).astype(np.float32)
        self.std = np.maximum(frames.std(axis=0), 1e-5).astype(np.float32)
        self._train = self._standardise(raw)

    def train_dataset(self) -> Dataset:
        if self._train is None:
            self._fit_stats()
        assert self._train is not None
        return self._train

    def valid_dataset(self) -> Optional[Dataset]:
        if self.conf.num_valid == 0:
            return None
        if self.mean is None:
            self._fit_stats()
        return self._standardise(make_toy_data(self.conf, "valid"))

    def lengths(self, dataset: Dataset) -> Sequence[int]:
        return [len(x) for x, _ in dataset.items]  # type: ignore[attr-defined]

    def collate(self, items: List[Tuple[np.ndarray, np.ndarray]]) -> Dict[str, Any]:
        lengths = torch.tensor([len(x) for x, _ in items], dtype=torch.long)
        xs = nn.utils.rnn.pad_sequence([torch.from_numpy(x) for x, _ in items], batch_first=True)
        ys = nn.utils.rnn.pad_sequence([torch.from_numpy(y) for _, y in items], batch_first=True)
        return {"x": xs, "y": ys, "lengths": lengths}

    def compute_loss(self, model: nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, LossStats]:
        """Mean over items of the per-item MSE; also logs the mean absolute error (0-dim tensors, no host sync)."""
        mask = lengths_to_mask(batch["lengths"], batch["x"].shape[1])
        pred = model(batch["x"], mask)
        valid = mask.unsqueeze(-1).to(pred.dtype)
        denom = batch["lengths"].to(pred.dtype) * pred.shape[-1]
        err = (pred - batch["y"]) * valid
        mse = (err.pow(2).sum(dim=(1, 2)) / denom).mean()
        mae = (err.abs().sum(dim=(1, 2)) / denom).mean()
        return mse, {"mae": mae.detach()}

    def export_assets(self, model_dir: Path) -> List[str]:
        """Write the target standardisation statistics to ``stats.npz``."""
        if self.mean is None:
            self._fit_stats()
        with atomic_path(Path(model_dir) / STATS_NAME) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, mean=self.mean, std=self.std)
        return [STATS_NAME]

    def load_assets(self, model_dir: Path) -> None:
        """Read ``stats.npz`` written by :meth:`export_assets`."""
        path = Path(model_dir) / STATS_NAME
        if not path.is_file():
            raise UserError("missing target statistics of the toy_regression model", path)
        stats = read_npz(path, "target statistics")
        self.mean, self.std = stats["mean"], stats["std"]

    @torch.inference_mode()
    def predict(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """De-standardised predictions ``(T, output_dim)`` for one input sequence ``(T, input_dim)``."""
        if self.mean is None or self.std is None:
            raise UserError("toy_regression: statistics not loaded (use load_model_dir)")
        device = next(model.parameters()).device
        x = x.to(device).unsqueeze(0)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=device)
        out = model(x, mask)[0]
        return out * torch.from_numpy(self.std).to(device) + torch.from_numpy(self.mean).to(device)
