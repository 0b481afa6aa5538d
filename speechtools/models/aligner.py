"""Registers the alignment-learning model (:mod:`speechtools.align.aligner`) as ``model: aligner``."""

from speechtools.align.aligner import Aligner, AlignerConfig
from speechtools.models import MODELS

MODELS.register("aligner", config=AlignerConfig)(Aligner)

__all__ = ["Aligner", "AlignerConfig"]
