"""Shared helpers: a small toy_regression experiment config written to a temporary file.

The toy task and model are a plugin outside the library (``examples/toy_regression``); importing
this conftest registers them, and :data:`TOY_PLUGIN` is what subprocesses pass to ``--import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml

from speechtools.registry import import_plugin

TOY_PLUGIN = str(Path(__file__).resolve().parents[2] / "examples" / "toy_regression" / "toy_regression.py")
import_plugin(TOY_PLUGIN)


def toy_config(**blocks: Dict[str, Any]) -> Dict[str, Any]:
    """A quick toy_regression experiment (dropout on, shuffled bucketed batches); ``blocks`` update it."""
    config: Dict[str, Any] = {
        "task": "toy_regression",
        "task_conf": {"num_train": 48, "num_valid": 8, "min_len": 3, "max_len": 20, "data_seed": 3},
        "model": "toy_regressor",
        "model_conf": {"hidden": 16, "dropout": 0.2},
        "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 0.01},
        "scheduler": {"name": "rsqrt", "warmup_steps": 4},
        "trainer": {
            "max_steps": 20,
            "batch_bins": 80,
            "accum_grad": 2,
            "grad_clip": 1.0,
            "log_interval": 3,
            "valid_interval": 7,
            "save_interval": 5,
            "keep_last": 0,
            "seed": 11,
        },
    }
    for key, value in blocks.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config(name="exp.yaml", **blocks)`` writes a toy config and returns its path."""

    def write(name: str = "exp.yaml", **blocks: Dict[str, Any]) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(toy_config(**blocks)), encoding="utf-8")
        return path

    return write
