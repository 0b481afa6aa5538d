"""Model families, one module each, registered by name in :data:`MODELS`.

``model: fastspeech2`` in a config resolves to the class registered in
``speechtools/models/fastspeech2.py`` with ``@MODELS.register("fastspeech2", config=...)``.
"""

from speechtools.registry import Registry

MODELS: Registry = Registry("model", package="speechtools.models")
