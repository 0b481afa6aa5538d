#!/usr/bin/env python3
"""Print the names of the correctors that read n-best lists (their model class declares ``reads_n_best``).

``reads_n_best.py NAME=CONFIG ...`` prints NAME, one per line, for each training CONFIG whose
``model`` (after its ``base:`` chain) is a class with ``reads_n_best`` (FastCorrect 2), so
the shared correction stages decide by the model's property, never by its name:
``nbest_models=$(python reads_n_best.py fastcorrect=conf/fastcorrect_finetune.yaml ...)``.
A missing or malformed config is one ``error:`` line on stderr and exit status 1.
"""

import sys

from speechtools.config import load_config
from speechtools.errors import UserError
from speechtools.models import MODELS

if __name__ == "__main__":
    try:
        for arg in sys.argv[1:]:
            name, sep, path = arg.partition("=")
            if not sep or not name or not path:
                raise UserError(f"expected NAME=CONFIG, got {arg!r}")
            model = load_config(path).get("model")
            if not model:
                raise UserError("no `model:` key (after its base: chain)", path)
            if getattr(MODELS.get(str(model), source=path).cls, "reads_n_best", False):
                print(name)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
