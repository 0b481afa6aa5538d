"""speechtools: recipe-driven toolkit for efficient speech and music models."""

__version__ = "0.1.0"
