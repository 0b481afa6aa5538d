"""The one generic trainer every task uses (via the :class:`~speechtools.tasks.base.Task` contract).

Step-based: it runs ``trainer.max_steps`` optimiser updates, each over ``accum_grad``
length-bucketed micro-batches, with gradient clipping, a learning-rate schedule, AMP on
CUDA, validation every ``valid_interval`` steps, one ``train_log.jsonl`` record every
``log_interval`` steps, and an atomic checkpoint every ``save_interval`` steps. A run
restarted with ``resume=True`` continues bit-for-bit: the checkpoint holds the model,
optimiser, scheduler and grad-scaler states, every rank's Python/NumPy/torch RNG states and
the data position (epoch and batches consumed).

Under ``torchrun`` the model is wrapped in DistributedDataParallel and each rank takes its
1/N shard of every global batch. Each rank's loss is weighted by ``N * n_rank / n_global``
so that, for losses that are means over items, the averaged gradient equals the gradient of
the global batch's mean whatever N is.

Training-time jobs the trainer owns (each under ``trainer:``, each in the checkpoint so that
``--resume`` continues bit for bit): ``init_from`` (partial loading from another model,
:mod:`speechtools.train.parameters`), ``freeze``/``trainable`` patterns, the update count passed
to the task and to every module with ``set_num_updates`` (fairseq's hook), an exponential
moving average of the weights (``ema_decay``, :mod:`speechtools.train.ema`) and one optimiser,
schedule and grad scaler per optimiser the task declares (:mod:`speechtools.train.optim`).

At the end the output directory is a self-contained model directory: ``config.yaml``,
``model.pt`` (average of the last ``average_last`` checkpoints; of their moving averages with
``ema_decay``), ``checkpoints/``, ``train_log.jsonl`` and whatever ``task.export_assets`` writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from speechtools.config import save_config
from speechtools.data.sampler import LengthBucketBatchSampler
from speechtools.device import resolve_device
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_write
from speechtools.tasks.base import LossStats, Task, prefixed_stats
from speechtools.train import checkpoint as ckpt
from speechtools.train.distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    dist_info_from_env,
    init_distributed,
    shutdown_distributed,
)
from speechtools.train.assets import write_manifest
from speechtools.train.ema import WeightEMA
from speechtools.train.experiment import Experiment
from speechtools.train.optim import Stepper, build_steppers, load_steppers_state, steppers_state
from speechtools.train.parameters import apply_freeze, init_from

CONFIG_NAME = "config.yaml"
MODEL_NAME = "model.pt"
LOG_NAME = "train_log.jsonl"


@dataclass
class TrainState:
    """Progress counters saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0
    elapsed: float = 0.0


class _ItemsWithGlobalSize(Dataset):
    """Dataset view whose items are fetched by ``(index, global batch size)`` keys."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __getitem__(self, key: Tuple[int, int]) -> Tuple[Any, int]:
        index, global_size = key
        return self.dataset[index], global_size

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]


class _KeyedBatchSampler:
    """Turns the sampler's ``(indices, global size)`` shards into lists of dataset keys."""

    def __init__(self, sampler: LengthBucketBatchSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        for indices, global_size in self.sampler.shards():
            yield [(i, global_size) for i in indices]

    def __len__(self) -> int:
        return len(self.sampler)


class _BatchStream:
    """Endless training batches across epochs, remembering the data position for checkpoints.

    After each ``next()``, ``position`` is ``(epoch, batches of that epoch consumed)``; handing
    that pair back as ``start`` replays exactly the batches that were still to come.
    """

    def __init__(self, sampler: LengthBucketBatchSampler, loader: DataLoader, epoch: int, done: int) -> None:
        self.sampler = sampler
        self.loader = loader
        self.position = (epoch, done)
        self._iterator: Optional[Iterator[Any]] = None

    def __next__(self) -> Tuple[Dict[str, Any], int, int]:
        while True:
            if self._iterator is None:
                epoch, done = self.position
                self.sampler.set_epoch(epoch, done)
                self._iterator = iter(self.loader)
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                self.position = (self.position[0] + 1, 0)
                continue
            self.position = (self.position[0], self.position[1] + 1)
            return batch


class _StatSums:
    """Item-weighted sums of logged statistics between logging steps, without per-step host syncs.

    Tensor statistics (the loss, and any 0-dim tensors a task returns) are summed on the
    device; Python floats on the host. :meth:`reduce` sums over processes and returns the
    means: the only device-to-host transfer, done on logging steps.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.tensors: Dict[str, torch.Tensor] = {}
        self.floats: Dict[str, float] = {}
        self.items = 0

    def add(self, stats: Dict[str, Any], n: int) -> None:
        """Add statistics that are means over ``n`` items."""
        for key, value in stats.items():
            if isinstance(value, torch.Tensor):
                weighted = value.detach().to(torch.float64) * n
                self.tensors[key] = self.tensors[key] + weighted if key in self.tensors else weighted
            else:
                self.floats[key] = self.floats.get(key, 0.0) + float(value) * n
        self.items += n

    def reduce(self) -> Dict[str, float]:
        """Item-weighted means over all processes."""
        tensor_keys = sorted(self.tensors)
        float_keys = sorted(self.floats)
        host = torch.tensor([self.floats[k] for k in float_keys] + [float(self.items)], dtype=torch.float64)
        parts = [self.tensors[k].reshape(1) for k in tensor_keys] + [host.to(self.device)]
        values = all_reduce_sum(torch.cat(parts)).tolist()
        count = max(values[-1], 1.0)
        return {k: v / count for k, v in zip(tensor_keys + float_keys, values[:-1])}


class _Collate:
    """``task.collate`` plus the local and global batch sizes (picklable for DataLoader workers)."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def __call__(self, keyed: List[Tuple[Any, int]]) -> Tuple[Dict[str, Any], int, int]:
        items = [item for item, _ in keyed]
        return self.task.collate(items), len(items), keyed[0][1]


def move_to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Recursively move the tensors of a batch (dicts, lists, tuples) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device, non_blocking) for v in batch)
    return batch


def capture_rng_state(device: torch.device) -> Dict[str, Any]:
    """Python, NumPy and torch CPU generator states, plus ``device``'s when it is a GPU.

    Only this process's own GPU is read, so no process creates a CUDA context on another's.
    """
    state: Dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: Dict[str, Any], device: torch.device) -> None:
    """Inverse of :func:`capture_rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _mapping_diff(old: Any, new: Any, prefix: str = "") -> List[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: List[str] = []
        for key in sorted(set(old) | set(new), key=str):
            dotted = f"{prefix}.{key}" if prefix else str(key)
            out += _mapping_diff(old.get(key), new.get(key), dotted)
        return out
    return [] if old == new else [prefix]


class Trainer:
    """Train ``experiment`` into the model directory ``out_dir``.

    Args:
        experiment: the validated experiment config.
        out_dir: output (model) directory.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (under torchrun on CUDA, each
            rank uses ``cuda:LOCAL_RANK``).
        resume: continue from the newest checkpoint in ``out_dir/checkpoints`` (a changed
            config is allowed, with a warning naming the changed keys: e.g. more steps).
        auto_resume: what a recipe stage wants: continue from the newest checkpoint if there is
            one, start otherwise; a directory that holds a run of another config is an error
            naming the differing keys (use ``overwrite`` or ``resume``).
        overwrite: start afresh, removing the training outputs (``checkpoints/``, ``model.pt``,
            ``train_log.jsonl``, ``config.yaml``) a previous run left in ``out_dir``.
        task: an already-built task (default: ``experiment.build_task()``).
        show_progress: show the tqdm bar (rank 0 only).
    """

    def __init__(
        self,
        experiment: Experiment,
        out_dir: PathLike,
        device: Union[str, torch.device] = "auto",
        resume: bool = False,
        task: Optional[Task] = None,
        show_progress: bool = True,
        auto_resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        if overwrite and (resume or auto_resume):
            raise ValueError("overwrite starts afresh: it cannot be combined with resume or auto_resume")
        self.experiment = experiment
        self.conf = experiment.trainer
        self.out_dir = Path(out_dir)
        self.resume = resume
        self.auto_resume = auto_resume
        self.overwrite = overwrite
        self.show_progress = show_progress
        self.dist: DistInfo = dist_info_from_env()
        self.device = self._pick_device(device)
        self._task = task
        self.model: Optional[torch.nn.Module] = None
        """The trained model (this rank's replica, not wrapped in DDP) once :meth:`run` returns."""

    def _pick_device(self, spec: Union[str, torch.device]) -> torch.device:
        device = spec if isinstance(spec, torch.device) else resolve_device(spec)
        if self.dist.enabled and device.type == "cuda":
            device = torch.device("cuda", self.dist.local_rank)
        return device

    # ------------------------------------------------------------------ set-up
    def check_out_dir(self) -> bool:
        """Check the output directory against the resume mode without writing; return whether the run resumes.

        A ``config.yaml`` beside no checkpoint and no ``model.pt`` (a run that failed before its
        first checkpoint) protects nothing: the corrected rerun replaces it.

        Raises:
            UserError: ``--resume`` without a checkpoint; without ``--resume``, a directory
                holding a trained run of a different config, or (not ``auto_resume``) the same
                config with checkpoints.
        """
        config_path = self.out_dir / CONFIG_NAME
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise UserError("--out-dir exists and is not a directory", self.out_dir)
        if self.overwrite:
            return False
        checkpoints = ckpt.list_checkpoints(self.out_dir)
        changed: List[str] = []
        if config_path.is_file():
            try:
                old = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                old = None
            changed = _mapping_diff(old, self.experiment.to_dict())
        if self.resume:
            if not checkpoints:
                raise UserError(
                    "--resume given but there is no checkpoint to resume from (checkpoints/step_N.pt)",
                    self.out_dir / ckpt.CHECKPOINT_DIR,
                )
            if changed and self.dist.is_main:
                print(f"trainer: resuming with a changed config: {', '.join(changed)}", file=sys.stderr)
            return True
        if changed and (checkpoints or (self.out_dir / MODEL_NAME).is_file()):
            action = "pass --overwrite to start it afresh, or --resume to continue it with this config" if self.auto_resume \
                else "pass --resume to continue it or choose a new --out-dir"
            raise UserError(f"the output directory holds a different experiment (differs in {', '.join(changed[:5])}); {action}",
                            config_path)
        if checkpoints and not self.auto_resume:
            raise UserError(
                "the output directory already has checkpoints; pass --resume to continue or choose a new --out-dir",
                self.out_dir,
            )
        return bool(checkpoints)

    def _prepare_out_dir(self) -> bool:
        """:meth:`check_out_dir`, then (``overwrite``) remove old training outputs and write ``config.yaml`` (rank 0 only)."""
        resume = self.check_out_dir()
        if self.overwrite:
            shutil.rmtree(self.out_dir / ckpt.CHECKPOINT_DIR, ignore_errors=True)
            for name in (MODEL_NAME, LOG_NAME, CONFIG_NAME):
                (self.out_dir / name).unlink(missing_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.experiment.to_dict(), self.out_dir / CONFIG_NAME)
        return resume

    def _build_loader(
        self, task: Task, dataset: Dataset, batch_bins: int, shuffle: bool, seed: int
    ) -> Tuple[LengthBucketBatchSampler, DataLoader]:
        lengths = task.lengths(dataset)
        try:
            sampler = LengthBucketBatchSampler(
                lengths,
                batch_bins=batch_bins,
                max_batch_size=self.conf.max_batch_size,
                min_batch_size=self.conf.min_batch_size,
                shuffle=shuffle,
                seed=seed,
                num_replicas=self.dist.world_size,
                rank=self.dist.rank,
            )
        except ValueError as exc:
            raise UserError(f"cannot batch the data: {exc}") from None
        generator = torch.Generator()
        generator.manual_seed(seed)
        loader = DataLoader(
            _ItemsWithGlobalSize(dataset),
            batch_sampler=_KeyedBatchSampler(sampler),
            collate_fn=_Collate(task),
            num_workers=self.conf.num_workers,
            persistent_workers=self.conf.num_workers > 0,
            pin_memory=self.device.type == "cuda",
            generator=generator,
        )
        return sampler, loader

    def _amp_dtype(self) -> Optional[torch.dtype]:
        if self.conf.amp == "none":
            return None
        if self.device.type != "cuda":
            if self.dist.is_main:
                warnings.warn(f"trainer.amp={self.conf.amp} ignored: AMP is only used on CUDA", stacklevel=2)
            return None
        return torch.bfloat16 if self.conf.amp == "bf16" else torch.float16

    def _autocast(self, amp_dtype: Optional[torch.dtype]) -> contextlib.AbstractContextManager:
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=amp_dtype)

    # ------------------------------------------------------------------ main loop
    def run(self) -> Path:
        """Train to ``max_steps`` (or continue), write the model directory and return its path."""
        init_distributed(self.dist, self.device)
        failure: Optional[Tuple[str, Optional[str], Optional[int]]] = None
        resume = False
        if self.dist.is_main:
            try:
                resume = self._prepare_out_dir()
            except UserError as exc:
                failure = (exc.message, exc.path, exc.line)
        # every rank stops on rank 0's error instead of hanging, and resumes when rank 0 does
        failure, self.resume = broadcast_object((failure, resume))
        if failure is not None:
            raise UserError(*failure)
        conf = self.conf
        seed_everything(conf.seed)
        task = self._task if self._task is not None else self.experiment.build_task()
        model = task.build_model()
        self._prepare_weights(task, model)
        if self.dist.is_main:  # now, not only at the end: the checkpoints of a killed run can still be averaged into a model directory
            write_manifest(self.out_dir, task.export_assets(self.out_dir) or ())
        model = model.to(self.device)
        self.model = model
        amp_dtype = self._amp_dtype()
        steppers = build_steppers(self._parameter_groups(task, model), self.experiment.optim, self.experiment.scheduler,
                                  conf.max_steps, scaler_enabled=amp_dtype == torch.float16)
        ema = WeightEMA(model, conf.ema_decay) if conf.ema_decay > 0 else None
        train_set = task.train_dataset()
        sampler, loader = self._build_loader(task, train_set, conf.batch_bins, conf.shuffle, conf.seed)
        if len(sampler.batches) == 0:
            raise UserError("the training set is empty")
        valid_set = task.valid_dataset()
        valid_loader = None
        if valid_set is not None and len(valid_set) > 0:  # type: ignore[arg-type]
            _, valid_loader = self._build_loader(
                task, valid_set, conf.valid_batch_bins or conf.batch_bins, False, conf.seed
            )

        state = TrainState()
        # Ranks draw different dropout masks; the model was initialised identically above.
        seed_everything(conf.seed + self.dist.rank)
        log_path = self.out_dir / LOG_NAME
        if self.resume:
            state = self._load_resume(model, steppers, ema)
            if self.dist.is_main:
                _truncate_log(log_path, state.step)
        wrapped: torch.nn.Module = model
        if self.dist.enabled:
            wrapped = DistributedDataParallel(
                model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=conf.find_unused_parameters,
            )

        bar = tqdm(
            total=conf.max_steps,
            initial=state.step,
            desc="train",
            unit="step",
            disable=not (self.show_progress and self.dist.is_main),
            dynamic_ncols=True,
        )
        batches = _BatchStream(sampler, loader, state.epoch, state.batches_done)
        start_time = time.perf_counter() - state.elapsed  # "elapsed" counts training time across resumes
        sums = _StatSums(self.device)
        last_saved = state.step if self.resume else -1
        while state.step < conf.max_steps:
            set_num_updates(task, model, state.step)
            lr, grad_norms = self._train_step(task, wrapped, batches, steppers, amp_dtype, sums)
            if ema is not None:
                ema.update(model)
            state.step += 1
            state.epoch, state.batches_done = batches.position
            bar.update(1)

            if state.step % conf.log_interval == 0 or state.step == conf.max_steps:
                record = {"split": "train", "step": state.step, "epoch": state.epoch, **lr, **sums.reduce()}
                if not math.isfinite(record["loss"]) and amp_dtype != torch.float16:
                    raise UserError(
                        f"training diverged: loss is {record['loss']} at step {state.step}; lower optim.lr, "
                        "raise scheduler.warmup_steps or set trainer.grad_clip (resume from an earlier checkpoint)",
                        log_path,
                    )
                if conf.grad_clip > 0:
                    record.update({key: float(value) for key, value in grad_norms.items()})
                record["elapsed"] = round(time.perf_counter() - start_time, 3)
                sums = _StatSums(self.device)
                if self.dist.is_main:
                    self._append_log(log_path, record)
                    bar.set_postfix(loss=f"{record['loss']:.4g}", lr=f"{next(iter(lr.values())):.3g}")
            if valid_loader is not None and (
                (conf.valid_interval and state.step % conf.valid_interval == 0) or state.step == conf.max_steps
            ):
                record = self._validate(task, model, valid_loader, amp_dtype, state, start_time)
                if self.dist.is_main:
                    self._append_log(log_path, record)
            if state.step % conf.save_interval == 0 or state.step == conf.max_steps:
                state.elapsed = time.perf_counter() - start_time
                self._save(model, steppers, ema, state)
                last_saved = state.step
        bar.close()
        if last_saved != state.step:
            state.elapsed = time.perf_counter() - start_time
            self._save(model, steppers, ema, state)
        if self.dist.is_main:
            self._finish(task, use_ema=ema is not None)
        # DDP's reducer holds the process group: release it so that shutdown_distributed frees
        # the group (and joins its backend's threads) before this process goes on to exit.
        del wrapped
        shutdown_distributed()
        return self.out_dir

    # ------------------------------------------------------------------ helpers
    def _prepare_weights(self, task: Task, model: torch.nn.Module) -> None:
        """``trainer.init_from`` (a fresh run only: a resumed one restores its checkpoint), then ``freeze``/``trainable``.

        Both are reported in one line each on stderr (rank 0).
        """
        conf = self.conf
        lines: List[str] = []
        if conf.init_from.path and not self.resume:
            source = Path(conf.init_from.path)
            if source.is_dir():
                task.check_init_source(source)
            lines.append(init_from(model, conf.init_from).line())
        if conf.freeze or conf.trainable:
            trainable = apply_freeze(model, conf.trainable, conf.freeze)
            total = sum(p.numel() for p in model.parameters())
            lines.append(f"trainable parameters: {trainable:,} of {total:,} ({100 * trainable / total:.2f}%)")
        if self.dist.is_main:
            for line in lines:
                print(f"trainer: {line}", file=sys.stderr)

    @staticmethod
    def _parameter_groups(task: Task, model: torch.nn.Module) -> Dict[str, List[torch.nn.Parameter]]:
        """``{"": all parameters}`` for one optimiser, else the task's groups in its declared order."""
        if not task.optimizers:
            return {"": list(model.parameters())}
        groups = task.parameter_groups(model)
        if list(groups) != list(task.optimizers):
            raise ValueError(f"parameter_groups() must return the groups {task.optimizers} in that order, got {tuple(groups)}")
        return groups

    def _train_step(
        self,
        task: Task,
        wrapped: torch.nn.Module,
        batches: _BatchStream,
        steppers: List[Stepper],
        amp_dtype: Optional[torch.dtype],
        sums: _StatSums,
    ) -> Tuple[Dict[str, float], Dict[str, torch.Tensor]]:
        """One update: each optimiser in turn over the same ``accum_grad`` micro-batches.

        Returns the learning rate of the step (``lr``, or ``<name>_lr`` per optimiser) and the
        gradient norm before clipping (``grad_norm`` or ``<name>_grad_norm``). Each micro-batch
        loss is weighted by ``N * n_rank / (n_global * accum_grad)`` (see the module docstring);
        DDP all-reduces gradients only on the last micro-batch. With one optimiser, micro-batches
        are drawn as they are used; with several, they are drawn once, before the first optimiser.
        """
        conf = self.conf
        wrapped.train()
        multi = len(steppers) > 1 or bool(steppers[0].name)
        drawn = [next(batches) for _ in range(conf.accum_grad)] if multi else None
        micro_stats: List[LossStats] = [{} for _ in range(conf.accum_grad)]
        sizes = [0] * conf.accum_grad
        lrs: Dict[str, float] = {}
        norms: Dict[str, torch.Tensor] = {}
        for stepper in steppers:
            for micro in range(conf.accum_grad):
                batch, n_local, n_global = drawn[micro] if drawn is not None else next(batches)
                batch = move_to_device(batch, self.device, non_blocking=True)
                weight = self.dist.world_size * n_local / n_global / conf.accum_grad
                sync = micro == conf.accum_grad - 1 or not self.dist.enabled
                with (contextlib.nullcontext() if sync else wrapped.no_sync()):  # type: ignore[operator]
                    with self._autocast(amp_dtype):
                        if multi:
                            loss, stats = task.compute_loss(wrapped, batch, optimizer=stepper.name)  # type: ignore[call-arg]
                        else:
                            loss, stats = task.compute_loss(wrapped, batch)
                    stepper.scaler.scale(loss * weight).backward()
                sizes[micro] = n_local
                if multi:
                    micro_stats[micro].update(prefixed_stats(stepper.name, loss, stats))
                    micro_stats[micro]["loss"] = micro_stats[micro].get("loss", 0) + loss.detach()
                else:
                    sums.add({"loss": loss, **stats}, n_local)
            suffix = f"{stepper.name}_" if stepper.name else ""
            norm = torch.zeros((), device=self.device)
            if conf.grad_clip > 0:
                stepper.scaler.unscale_(stepper.optimizer)
                norm = torch.nn.utils.clip_grad_norm_(stepper.params, conf.grad_clip)
            stepper.scaler.step(stepper.optimizer)
            stepper.scaler.update()
            if multi:
                wrapped.zero_grad(set_to_none=True)  # this loss's gradients on other groups' parameters
            else:
                stepper.optimizer.zero_grad(set_to_none=True)
            lrs[f"{suffix}lr"] = stepper.scheduler.get_last_lr()[0]
            norms[f"{suffix}grad_norm"] = norm
            stepper.scheduler.step()
        if multi:
            for stats, n in zip(micro_stats, sizes):
                sums.add(stats, n)
        return lrs, norms

    @torch.no_grad()
    def _validate(
        self,
        task: Task,
        model: torch.nn.Module,
        loader: DataLoader,
        amp_dtype: Optional[torch.dtype],
        state: TrainState,
        start_time: float,
    ) -> Dict[str, Any]:
        """Item-weighted mean of ``task.validation_stats`` over the validation set (all ranks)."""
        model.eval()
        sums = _StatSums(self.device)
        sampler: LengthBucketBatchSampler = loader.batch_sampler.sampler  # type: ignore[union-attr]
        sampler.set_epoch(0)
        for batch, n_local, _ in loader:
            batch = move_to_device(batch, self.device, non_blocking=True)
            with self._autocast(amp_dtype):
                stats = task.validation_stats(model, batch)
            sums.add(stats, n_local)
        model.train()
        record: Dict[str, Any] = {"split": "valid", "step": state.step, "epoch": state.epoch, **sums.reduce()}
        record["elapsed"] = round(time.perf_counter() - start_time, 3)
        return record

    @staticmethod
    def _append_log(path: Path, record: Dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(clean) + "\n")

    def _save(self, model: torch.nn.Module, steppers: List[Stepper], ema: Optional[WeightEMA], state: TrainState) -> None:
        rng = all_gather_objects(capture_rng_state(self.device), self.dist.world_size)
        if self.dist.is_main:
            payload = {
                "step": state.step,
                "epoch": state.epoch,
                "batches_done": state.batches_done,
                "elapsed": state.elapsed,
                "world_size": self.dist.world_size,
                "model": model.state_dict(),
                **steppers_state(steppers),
                "rng": rng,
                "config": self.experiment.to_dict(),
            }
            if ema is not None:
                payload["ema"] = ema.state_dict()
            ckpt.save_checkpoint(payload, ckpt.checkpoint_path(self.out_dir, state.step))
            ckpt.prune_checkpoints(self.out_dir, self.conf.keep_last)
        barrier()

    def _load_resume(self, model: torch.nn.Module, steppers: List[Stepper], ema: Optional[WeightEMA]) -> TrainState:
        path = broadcast_object(str(ckpt.list_checkpoints(self.out_dir)[-1]) if self.dist.is_main else None)
        payload = ckpt.load_checkpoint(path, map_location=self.device)
        try:
            model.load_state_dict(payload["model"])
            load_steppers_state(steppers, payload)
            if ema is not None and "ema" in payload:
                ema.load_state_dict(payload["ema"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise UserError(f"checkpoint does not match this experiment ({str(exc).splitlines()[0]})", path) from None
        if ema is not None and "ema" not in payload:
            warnings.warn("trainer.ema_decay is set but the checkpoint has no moving average: it starts from the "
                          "checkpoint's weights", stacklevel=2)
            ema.load_state_dict(model.state_dict())
        rng = payload["rng"]
        if len(rng) == self.dist.world_size:
            restore_rng_state(rng[self.dist.rank], self.device)
        else:
            warnings.warn(
                f"checkpoint written by {len(rng)} process(es), resuming with {self.dist.world_size}: "
                "RNG streams are re-seeded, so the run is not bit-identical",
                stacklevel=2,
            )
            seed_everything(self.conf.seed + self.dist.rank + 7919 * payload["step"])
        return TrainState(
            step=payload["step"],
            epoch=payload["epoch"],
            batches_done=payload["batches_done"],
            elapsed=float(payload.get("elapsed", 0.0)),
        )

    def _finish(self, task: Task, use_ema: bool) -> None:
        """Write ``model.pt`` (average of the last ``average_last`` checkpoints, of their EMA weights
        with ``ema_decay``) and the task's assets (again: they are first written when training starts)."""
        paths = ckpt.list_checkpoints(self.out_dir)[-self.conf.average_last :]
        ckpt.average_checkpoints(paths, self.out_dir / MODEL_NAME, key="ema" if use_ema else "model")
        write_manifest(self.out_dir, task.export_assets(self.out_dir) or ())


def set_num_updates(task: Task, model: torch.nn.Module, num_updates: int) -> None:
    """Tell the task and every module that has ``set_num_updates`` how many updates are done (fairseq's hook)."""
    task.set_num_updates(num_updates)
    for module in model.modules():
        hook = getattr(module, "set_num_updates", None)
        if callable(hook):
            hook(num_updates)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log records written after checkpoint ``step`` by the run being resumed."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record_step = json.loads(line).get("step", 0)
        except (json.JSONDecodeError, AttributeError):
            continue  # a line cut short when the previous run was killed
        if isinstance(record_step, int) and record_step <= step:
            kept.append(line)
    with atomic_write(path) as handle:
        handle.writelines(line + "\n" for line in kept)
