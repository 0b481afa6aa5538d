"""Training: one generic trainer for every task.

``config`` (optim/scheduler/trainer dataclasses), ``experiment`` (a whole validated config),
``schedulers``, ``optim``, ``checkpoint`` (atomic save, keep-last-N, averaging),
``distributed`` (DDP set-up, torchrun re-launch), ``trainer`` (the loop) and ``model_dir``
(loading a trained model directory for inference). See ``docs/training.md``.
"""
