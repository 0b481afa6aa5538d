"""Run under torchrun by test_distributed.py: train, then save this rank's final replica as rank_<r>.pt."""

from __future__ import annotations

import os
import sys

import torch

from speechtools.registry import import_plugin
from speechtools.train.experiment import load_experiment
from speechtools.train.trainer import Trainer


TOY_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "toy_regression", "toy_regression.py")


def main(config: str, out_dir: str, resume: bool) -> None:
    torch.set_num_threads(1)
    import_plugin(TOY_PLUGIN)
    trainer = Trainer(load_experiment(config), out_dir, device="cpu", resume=resume, show_progress=False)
    trainer.run()
    assert trainer.model is not None
    torch.save(trainer.model.state_dict(), os.path.join(out_dir, f"rank_{os.environ['RANK']}.pt"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], resume="--resume" in sys.argv[3:])
