"""Tasks: how batches are built and how loss and inference are computed, one module per task.

``task: tts`` in a config resolves to the class registered in ``speechtools/tasks/tts.py``
with ``@TASKS.register("tts", config=TTSTaskConfig)``.
"""

from speechtools.registry import Registry

TASKS: Registry = Registry("task", package="speechtools.tasks")
