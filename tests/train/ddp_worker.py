"""Run under torchrun by test_distributed.py: train, then save this rank's final replica as rank_<r>.pt."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import List

import torch

from speechtools.registry import import_plugin
from speechtools.train.experiment import load_experiment
from speechtools.train.trainer import Trainer

TASKS = "/proc/self/task"


def native_thread_names() -> List[str]:
    """Names of this process's threads, C++ ones included (Linux; empty elsewhere)."""
    names = []
    for task in sorted(os.listdir(TASKS)) if os.path.isdir(TASKS) else []:
        with contextlib.suppress(OSError):
            with open(os.path.join(TASKS, task, "comm"), encoding="utf-8") as handle:
                names.append(handle.read().strip())
    return names


TOY_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "toy_regression", "toy_regression.py")


def main(config: str, out_dir: str, resume: bool) -> None:
    torch.set_num_threads(1)
    import_plugin(TOY_PLUGIN)
    trainer = Trainer(load_experiment(config), out_dir, device="cpu", resume=resume, show_progress=False)
    trainer.run()
    # Trainer.run freed the process group, which joins gloo's threads; one left running here
    # would outlive the job into interpreter shutdown (the abort at exit, see shutdown_distributed).
    leftover = [name for name in native_thread_names() if "gloo" in name]
    assert not leftover, f"gloo threads still running after Trainer.run: {leftover}"
    assert trainer.model is not None
    torch.save(trainer.model.state_dict(), os.path.join(out_dir, f"rank_{os.environ['RANK']}.pt"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], resume="--resume" in sys.argv[3:])
