"""Reproducer for the DDP teardown abort (run by hand; not a pytest module).

Runs a 2-process gloo job under torchrun many times, optionally with busy-loop processes
loading the CPUs, and counts the runs in which a rank aborted at interpreter exit with
``terminate called without an active exception`` after finishing its work.

The job (``--job minimal``, the default) does what ``Trainer.run`` does around the process
group, with the same helpers from :mod:`speechtools.train.distributed`: join the group, build
an optimizer (which makes torch import ``torch._dynamo`` and with it
``torch.distributed.nn.functional``), run a few collectives of the kinds the trainer uses,
then leave the group and exit. ``--old-teardown`` does the same with the teardown as it was
before the fix (plain ``init_process_group``, then ``barrier`` and ``destroy_process_group``),
which leaves the gloo group alive, its worker threads included, into interpreter shutdown.
``--job trainer`` runs ``ddp_worker.py`` (the 6-step toy training of test_distributed.py)
instead; that worker also asserts that no gloo thread outlives ``Trainer.run``.

Usage (from the repository root)::

    PYTHONPATH=$PWD python tests/train/ddp_teardown_repro.py --runs 30 --hogs 2 --old-teardown
    PYTHONPATH=$PWD python tests/train/ddp_teardown_repro.py --runs 30 --hogs 2

On a 2-core machine already loaded by other work, with 2 hogs: 7 of 30 runs aborted with
``--old-teardown``, 0 of 30 with the fixed teardown. The abort needs CPU contention: a gloo
worker thread must be descheduled between completing the last collective and releasing it
for longer than the rank takes to reach interpreter shutdown. Exit status 1 if any run
aborted or failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

HERE = Path(__file__).resolve().parent
ABORT = "terminate called"


def worker(old_teardown: bool) -> None:
    """One rank of the job (started by torchrun)."""
    import torch
    import torch.distributed as dist

    from speechtools.train import distributed as sd

    torch.set_num_threads(1)
    info = sd.dist_info_from_env()
    if old_teardown:
        dist.init_process_group("gloo")
    else:
        sd.init_distributed(info, torch.device("cpu"))
    model = torch.nn.Linear(8, 8)
    # Like Trainer.run: the optimizer is built after the group is joined; its first
    # add_param_group imports torch._dynamo -> FSDP -> torch.distributed.nn.functional.
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(3):
        loss = model(torch.randn(4, 8)).pow(2).mean()
        loss.backward()
        for p in model.parameters():
            sd.all_reduce_sum(p.grad)
        optimizer.step()
        optimizer.zero_grad()
        sd.all_gather_objects({"rank": info.rank, "step": step}, info.world_size)
        sd.broadcast_object({"step": step})
        sd.barrier()
    if old_teardown:
        dist.barrier()
        dist.destroy_process_group()
    else:
        sd.shutdown_distributed()


def write_trainer_config(directory: Path) -> Path:
    """The toy config test_distributed.py trains (conftest.toy_config with its overrides)."""
    import yaml

    spec = importlib.util.spec_from_file_location("_train_conftest", HERE / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.toy_config(
        model_conf={"dropout": 0.0},
        trainer={"max_steps": 6, "min_batch_size": 2, "save_interval": 3, "valid_interval": 3, "log_interval": 2},
    )
    path = directory / "exp.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--hogs", type=int, default=2, help="busy-loop processes to run alongside (CPU load)")
    parser.add_argument("--job", choices=["minimal", "trainer"], default="minimal")
    parser.add_argument("--old-teardown", action="store_true", help="minimal job with the pre-fix teardown")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per run")
    parser.add_argument("--save-stderr", type=Path, help="write each failed run's stderr here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.old_teardown)
        return 0

    env = dict(os.environ, OMP_NUM_THREADS="1")
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        env.pop(key, None)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    hogs: List[subprocess.Popen] = []
    aborts = failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.job == "trainer":
            config = write_trainer_config(Path(tmp))
        try:
            for _ in range(args.hogs):
                hogs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
            for run in range(1, args.runs + 1):
                if args.job == "trainer":
                    job = [str(HERE / "ddp_worker.py"), str(config), str(Path(tmp) / f"run_{run}")]
                else:
                    job = [str(Path(__file__).resolve()), "--worker"] + (["--old-teardown"] if args.old_teardown else [])
                start = time.monotonic()
                try:
                    result = subprocess.run(launcher + job, env=env, capture_output=True, text=True, timeout=args.timeout)
                    returncode, stderr = result.returncode, result.stderr
                except subprocess.TimeoutExpired as exc:
                    returncode = -1
                    stderr = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
                    stderr += f"\n[repro] timed out after {args.timeout}s"
                aborted = ABORT in stderr
                aborts += aborted
                failures += returncode != 0
                status = "ABORT" if aborted else ("ok" if returncode == 0 else f"FAILED rc={returncode}")
                print(f"run {run}/{args.runs}: {status} ({time.monotonic() - start:.1f}s)", flush=True)
                if returncode != 0 and args.save_stderr is not None:
                    args.save_stderr.mkdir(parents=True, exist_ok=True)
                    (args.save_stderr / f"run_{run}.stderr").write_text(stderr, encoding="utf-8")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
    mode = args.job + (" old-teardown" if args.old_teardown else "")
    print(f"{mode}, {args.hogs} hog(s): {aborts} aborted / {args.runs} runs ({failures} non-zero exits)")
    return 1 if aborts or failures else 0


if __name__ == "__main__":
    sys.exit(main())
