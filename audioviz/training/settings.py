"""What the settings of every family of models share: presets, the numeric options and their
bounds, and which settings a run may change when it continues."""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import ClassVar, Self

from ..config import Optimizer, resolved
from ..errors import TrainingError

# Bounds of the numeric options: wide enough for any real run, narrow enough that a typo (an lr
# of nan, a batch of a billion, a negative seed) is refused before any work
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_SEED = 2**63 - 1  # what torch.manual_seed and numpy's generators take


def check_whole(what: str, value, lo: int, hi: int) -> None:
    """TrainingError unless `value` is an int (not a bool) from `lo` to `hi`."""
    if type(value) is not int or not lo <= value <= hi:
        raise TrainingError(f"{what} must be a whole number from {lo} to {hi}, not {value!r}")


def check_real(what: str, value, lo: float, hi: float, *, above: bool = False, below: bool = False) -> None:
    """TrainingError unless `value` is a finite number from `lo` (or `above` it) to `hi` (or
    `below` it): nan and inf compare false with everything, so they are named here."""
    ok = type(value) in (int, float) and math.isfinite(value) and (lo < value if above else lo <= value) and (
        value < hi if below else value <= hi)
    if not ok:
        lower, upper = f"{'above' if above else 'at least'} {lo:g}", f"{'below' if below else 'at most'} {hi:g}"
        raise TrainingError(f"{what} must be a number {lower} and {upper}, not {value!r}")


def check_common(cfg) -> None:
    """The numeric options every family of models takes."""
    check_whole("--epochs", cfg.epochs, 1, MAX_EPOCHS)
    check_whole("--batch-size", cfg.batch_size, 1, MAX_BATCH_SIZE)
    check_real("--lr", cfg.lr, 0, 1, above=True)
    check_real("momentum", cfg.momentum, 0, 1, below=True)
    check_real("--val-fraction", cfg.val_fraction, 0, 1, above=True, below=True)
    check_whole("--max-segments-per-track", cfg.max_segments_per_track, 0, 2**31 - 1)
    check_real("--min-seconds", cfg.min_seconds, 0, 86_400)
    check_whole("--seed", cfg.seed, 0, MAX_SEED)
    if cfg.optimizer not in resolved(Optimizer):
        raise TrainingError(f"optimizer {cfg.optimizer!r} is not {' or '.join(resolved(Optimizer))}")
    if not isinstance(cfg.device, str):
        raise TrainingError(f"device {cfg.device!r} is not a device name")


class Settings:
    """What a family's settings (a frozen dataclass) share. A mixin without fields, so that each
    family's fields keep their order in config.json."""

    presets: ClassVar[dict[str, dict]]  # name -> settings (and what else the family takes from it)
    # settings a continuing run may change: the others make another run
    free: ClassVar[tuple[str, ...]] = ("epochs", "device")

    @classmethod
    def from_preset(cls, preset: str = "compact", **overrides) -> Self:
        """The preset's settings; overrides left as None take the preset's value."""
        cls._check_preset(preset)
        names = {f.name for f in fields(cls)}
        settings = {k: v for k, v in cls.presets[preset].items() if k in names}
        return cls(preset=preset, **{**settings, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def _check_preset(cls, preset: str) -> None:
        if preset not in cls.presets:
            raise TrainingError(f"preset {preset!r} is not one of: {', '.join(cls.presets)}")

    def check_shared(self) -> None:
        """TrainingError for a preset or numeric option that every family refuses."""
        self._check_preset(self.preset)
        check_common(self)

    def differences(self, other) -> list[str]:
        """Settings that differ, but for the free ones."""
        return [k for k, v in asdict(self).items() if k not in self.free and getattr(other, k) != v]
