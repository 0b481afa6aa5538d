"""Model families, one module each, registered by name in :data:`MODELS`.

``model: fastspeech2`` in a config resolves to the class registered in
``speechtools/models/fastspeech2.py`` with ``@MODELS.register("fastspeech2", config=...)``.

The construction rule (fairseq's ``build_model(args, task)``): every registered class has a
classmethod ``build_model(conf, task)`` that receives its validated ``model_conf`` and the
task, and reads from the task what the data decides (vocabulary size, mel bins, speakers,
statistics; the attributes each family may read are the protocols of
:mod:`speechtools.models.task_info`). :meth:`ModelRegistry.build` is the one path every
task, inference module and benchmark takes; nothing else branches on a model's name.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Type, TypeVar

from torch import nn

from speechtools.registry import Registry

M = TypeVar("M")


class ModelRegistry(Registry):
    """The model registry: registration checks the construction rule, :meth:`build` applies it."""

    def register(self, name: str, config: Optional[type] = None) -> Callable[[Type[M]], Type[M]]:
        """Class decorator; the class must define the classmethod ``build_model(conf, task)``."""
        wrap = super().register(name, config)

        def checked(cls: Type[M]) -> Type[M]:
            if not callable(getattr(cls, "build_model", None)):
                raise TypeError(f"model {name!r} ({cls.__qualname__}) must define the classmethod build_model(conf, task)")
            return wrap(cls)

        return checked

    def build(self, name: str, conf: Any, task: Any) -> nn.Module:
        """Build model ``name`` from its validated config and the task (``cls.build_model(conf, task)``)."""
        return self.get(name).cls.build_model(conf, task)


MODELS: ModelRegistry = ModelRegistry("model", package="speechtools.models")
