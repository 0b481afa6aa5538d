"""DistributedDataParallel set-up and the ``torchrun`` re-launch behind ``speechtools train --ngpu/--nproc``.

``torchrun`` (``python -m torch.distributed.run``) starts one process per device and sets
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; each process calls :func:`init_distributed`,
which joins the process group (NCCL on GPU, gloo on CPU). Multi-node runs use a rendezvous
endpoint (c10d) or, when the node rank is given, a static master address (one launcher per
node, e.g. one ``srun`` task per node).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings
import weakref
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
    _import_group_default_modules()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)


def _import_group_default_modules() -> None:
    """Import, before the default group exists, the torch modules whose functions default to it.

    ``torch.distributed.nn.functional`` declares ``def all_reduce(..., group=group.WORLD)``
    and the like. Python evaluates a default once, when the ``def`` runs, so if that module is
    first imported after ``init_process_group`` its functions hold the live default group for
    the rest of the process: ``destroy_process_group`` then frees nothing, and the gloo
    backend's worker threads run on into interpreter shutdown. torch imports the module
    lazily, after the trainer joined the group (building the optimizer imports
    ``torch._dynamo``, which imports FSDP and ``torch.distributed._shard``). Imported here
    first, those defaults are ``None``. See :func:`shutdown_distributed` for what the leaked
    threads did.
    """
    with contextlib.suppress(ImportError):
        import torch.distributed.nn.functional  # noqa: F401


def shutdown_distributed() -> None:
    """Wait for every process, then leave the process group and free its backend (no-op without one).

    Release every other reference to the group first (a DDP wrapper's reducer holds one).
    Freeing the group is what joins the gloo backend's worker threads while the interpreter is
    still fully alive: a worker thread drops its reference to the last collective's work
    (and with it tensors whose Python objects that work now owns) only after it has woken
    the thread waiting for that work, so under CPU load it can still be doing so well after
    this process has moved on. If the group outlived this call, that release could come after
    interpreter shutdown had begun: the thread's request for the GIL then ends it with
    ``pthread_exit``, whose unwinding through the (noexcept) work destructor calls
    ``std::terminate`` ("terminate called without an active exception", SIGABRT) after the
    job had finished. A warning names the case where something still holds the group.
    """
    if not dist.is_initialized():
        return
    dist.barrier()
    world = weakref.ref(dist.group.WORLD) if dist.group.WORLD is not None else None
    dist.destroy_process_group()
    gc.collect()
    if world is not None and world() is not None:
        warnings.warn(
            "the default process group is still referenced after destroy_process_group (e.g. as "
            "a group=group.WORLD default of a module imported after init_process_group), so its "
            "backend threads outlive it and can abort the interpreter at exit",
            RuntimeWarning,
            stacklevel=2,
        )


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
