"""Scenes: GL programs that draw one frame from the time and ten numbers in [0, 1]."""

from .base import Param, Scene

__all__ = ["Param", "Scene"]
