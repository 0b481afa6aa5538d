"""DistributedDataParallel set-up and the ``torchrun`` re-launch behind ``speechtools train --ngpu/--nproc``.

``torchrun`` (``python -m torch.distributed.run``) starts one process per device and sets
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; each process calls :func:`init_distributed`,
which joins the process group (NCCL on GPU, gloo on CPU). Multi-node runs use a rendezvous
endpoint (c10d) or, when the node rank is given, a static master address (one launcher per
node, e.g. one ``srun`` task per node).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import torch
import torch.distributed as dist

from speechtools.errors import UserError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and shows progress."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def dist_info_from_env() -> DistInfo:
    """Read ``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` as set by torchrun (single process if unset)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return DistInfo(rank=rank, local_rank=local, world_size=world)


def launched_by_torchrun() -> bool:
    """True inside a process started by torchrun."""
    return "TORCHELASTIC_RUN_ID" in os.environ or ("LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ)


def init_distributed(info: DistInfo, device: torch.device) -> None:
    """Join the default process group (NCCL for CUDA devices, gloo otherwise) if ``world_size > 1``."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)


def shutdown_distributed() -> None:
    """Leave the process group if one was joined."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op without a process group)."""
    if dist.is_initialized():
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over processes in place (no-op without a process group)."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_gather_objects(obj: Any, world_size: int) -> List[Any]:
    """Gather one picklable object from every process (``[obj]`` without a process group)."""
    if not dist.is_initialized():
        return [obj]
    out: List[Any] = [None] * world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (``obj`` itself without a process group)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def torchrun_command(
    argv: Sequence[str],
    nproc_per_node: int,
    nnodes: int = 1,
    node_rank: Optional[int] = None,
    rdzv_endpoint: Optional[str] = None,
    rdzv_id: Optional[str] = None,
) -> List[str]:
    """The ``python -m torch.distributed.run ... -m speechtools.cli.main <argv>`` command line.

    Single node (default): ``--standalone`` (a local rendezvous on a free port).
    Multi-node with ``node_rank``: static rendezvous at ``rdzv_endpoint`` (``host:port`` of
    node 0), like ``--master-addr/--master-port``. Multi-node without ``node_rank``: c10d
    rendezvous at ``rdzv_endpoint`` (elastic; ranks assigned on arrival).
    """
    if nproc_per_node < 1:
        raise UserError(f"--ngpu/--nproc must be >= 1, got {nproc_per_node}")
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc_per_node}"]
    if nnodes == 1 and rdzv_endpoint is None:
        cmd.append("--standalone")
    else:
        if rdzv_endpoint is None:
            raise UserError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (an address of the first node)")
        cmd += [f"--nnodes={nnodes}", f"--rdzv-endpoint={rdzv_endpoint}"]
        if node_rank is not None:
            cmd += ["--rdzv-backend=static", f"--node-rank={node_rank}"]
        else:
            cmd += ["--rdzv-backend=c10d", f"--rdzv-id={rdzv_id or os.environ.get('SLURM_JOB_ID', 'speechtools')}"]
    cmd += ["-m", "speechtools.cli.main", *argv]
    return cmd
