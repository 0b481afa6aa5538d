#!/usr/bin/env python3
"""Print the ``model_conf`` of a size config as ``--set model_conf.KEY=VALUE`` arguments (one per line).

Recipes keep one experiment config per phase and pick the model size with ``--size``:
``mapfile -t extra < <(python size_overrides.py conf/correction/fastcorrect_tiny.yaml)``.
"""

import sys

from speechtools.config import load_config

if __name__ == "__main__":
    conf = load_config(sys.argv[1])
    for key, value in conf.get("model_conf", {}).items():
        print("--set")
        print(f"model_conf.{key}={value}")
