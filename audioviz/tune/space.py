"""The search space of each family of models: which training settings a study searches, over
what, and a TOML file (`--space`) that narrows or widens it.

Each setting is declared once, with the values it can take at all (its domain) and the range
or choices the default space searches. A space file names settings of the model's family; a
setting it leaves out keeps its default:

    lr = { low = 1e-4, high = 3e-3, log = true }   # a range (log: sampled on a log scale)
    width = { low = 4, high = 24, step = 4 }       # whole numbers, in steps
    batch_size = [32, 64]                          # a list: one of these
    optimizer = "adam"                             # one value: fixed, not searched
    contrast = { low = 0.0, high = 0.5 }           # searched, where the default fixes it

`momentum` is searched only in trials whose optimizer is sgd (Adam has none).
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import TuneError
from ..extract.classifiers import ARCHS
from ..extract.models import VARIANTS


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True)
class Choices:
    values: tuple


@dataclass(frozen=True)
class Fixed:
    value: object


Entry = Range | Choices | Fixed


@dataclass(frozen=True)
class Param:
    """A training setting a study may search. `kind`: float, int (whole numbers) or choice
    (values of their own: names, true or false, divisors); `lo`/`hi` its domain (numbers),
    `open_lo`/`open_hi` whether the bound itself is out; `values` a choice's domain."""

    name: str
    kind: str
    default: Entry
    what: str
    lo: float = 0.0
    hi: float = math.inf
    open_lo: bool = False
    open_hi: bool = False
    values: tuple = ()
    only_with: tuple[str, object] | None = None  # (setting, value): searched only in such trials

    def domain(self) -> str:
        if self.kind == "choice":
            return ", ".join(_show(v) for v in self.values)
        lower = f"{'above' if self.open_lo else 'from'} {_show(self.lo)}"
        upper = f"{'below' if self.open_hi else 'to'} {_show(self.hi)}"
        return f"{'a whole number ' if self.kind == 'int' else ''}{lower} {upper}"

    def allows(self, value) -> bool:
        if self.kind == "choice":
            return any(value == v and type(value) is type(v) for v in self.values)
        if type(value) is bool or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind == "int" and (type(value) is not int):
            return False
        return (self.lo < value if self.open_lo else self.lo <= value) and (value < self.hi if self.open_hi else value <= self.hi)


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_COMMON = (
    Param("lr", "float", Range(1e-4, 1e-2, log=True), "learning rate", lo=0.0, hi=1.0, open_lo=True),
    Param("batch_size", "int", Choices((16, 32, 64, 128)), "segments a batch", lo=1, hi=4096),
    Param("optimizer", "choice", Choices(("adam", "sgd")), "optimiser", values=("adam", "sgd")),
    Param("momentum", "float", Range(0.5, 0.99), "SGD's momentum", lo=0.0, hi=1.0, open_hi=True,
          only_with=("optimizer", "sgd")),
)
AUTOENCODER = _COMMON + (
    Param("width", "int", Range(4, 16, step=4), "filters of the first conv block (the bundled models: 8)", lo=1, hi=256),
    Param("code_norm", "choice", Choices((True, False)), "batch-normalise the code before its sigmoid (the bundled models do)",
          values=(True, False)),
    Param("bypass_dropout", "float", Range(0.25, 1.0), "share of batches trained through the code alone (bundled: 0.5)",
          lo=0.0, hi=1.0),
    Param("contrast", "float", Fixed(0.0), "weight of the track-contrastive term on the code", lo=0.0, hi=100.0),
)
CLASSIFIER = (
    Param("lr", "float", Range(1e-5, 1e-2, log=True), "learning rate", lo=0.0, hi=1.0, open_lo=True),
    *_COMMON[1:],
    Param("width_divisor", "choice", Choices((4, 8, 16)), "1/N of the paper's width (the bundled models: 8)",
          values=(1, 2, 4, 8, 16, 32, 64)),
    Param("dropout", "float", Range(0.0, 0.7), "dropout before the FC layers", lo=0.0, hi=1.0, open_hi=True),
    Param("weight_decay", "float", Range(1e-6, 1e-2, log=True), "weight decay", lo=0.0, hi=1.0),
    Param("contrast", "float", Fixed(0.0), "weight of the track-contrastive term on the default layer", lo=0.0, hi=100.0),
    Param("spread", "float", Fixed(0.0), "weight of the spread term on the default layer", lo=0.0, hi=100.0),
)


# other names a researcher may give a setting
ALIASES = {"learning_rate": "lr", "optimiser": "optimizer", "batch": "batch_size", "filters": "width",
           "divisor": "width_divisor", "wd": "weight_decay", "bypass": "bypass_dropout"}


def family_params(model: str) -> tuple[Param, ...]:
    if model in VARIANTS:
        return AUTOENCODER
    if model in ARCHS:
        return CLASSIFIER
    raise TuneError(f"model {model!r} cannot be tuned; choose one of {', '.join(VARIANTS + ARCHS)}")


class Space:
    """The search space of one study: an entry (Range, Choices or Fixed) for each setting of
    the model's family."""

    def __init__(self, model: str, entries: dict[str, Entry]):
        self.model = model
        self.params = {p.name: p for p in family_params(model)}
        self.entries = entries

    @classmethod
    def default(cls, model: str) -> Space:
        return cls(model, {p.name: p.default for p in family_params(model)})

    @classmethod
    def from_file(cls, model: str, path: str | os.PathLike) -> Space:
        """The default space with the file's entries in place of their settings': TuneError,
        one line naming the file and the setting, for anything that cannot be searched."""
        from ..files import regular_file

        where = str(path)
        try:
            regular_file(path, "space file", TuneError)
            text = Path(path).read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise TuneError(f"{where}: not valid TOML ({' '.join(str(e).split())})") from None
        except UnicodeDecodeError:
            raise TuneError(f"{where}: not a text file (TOML)") from None
        except OSError as e:
            raise TuneError(f"{where}: cannot read the space file ({e.strerror or e})") from None
        return cls.from_dict(model, data, where)

    @classmethod
    def from_dict(cls, model: str, data: dict, where: str) -> Space:
        space = cls.default(model)
        for key, value in data.items():
            param = space.params.get(key)
            if param is None:
                alias = ALIASES.get(key.lower().replace("-", "_"), key.lower().replace("-", "_"))
                other = CLASSIFIER if space.params.keys() == {p.name for p in AUTOENCODER} else AUTOENCODER
                close = [alias] if alias in space.params else difflib.get_close_matches(key, list(space.params), n=1)
                if key in {p.name for p in other}:
                    hint = f" (a setting of the {'genre classifiers' if other is CLASSIFIER else 'autoencoders'})"
                else:
                    hint = f" (did you mean {close[0]}?)" if close else ""
                raise TuneError(f"{where}: unknown key {key!r} for {model}{hint}; the keys are "
                                f"{', '.join(space.params)}")
            space.entries[key] = _entry(param, value, f"{where}: {key}")
        if not space.searched():
            raise TuneError(f"{where}: every setting is fixed; leave at least one a range or a list to search")
        return space

    # -- the record a study keeps (JSON) ------------------------------------------------------
    def to_dict(self) -> dict:
        out = {}
        for name, e in self.entries.items():
            if isinstance(e, Range):
                out[name] = {"low": e.low, "high": e.high, "log": e.log, **({"step": e.step} if e.step is not None else {})}
            elif isinstance(e, Choices):
                out[name] = list(e.values)
            else:
                out[name] = e.value
        return out

    @classmethod
    def from_record(cls, model: str, record: dict) -> Space:
        """The space a study recorded (`to_dict`), checked as a file's would be."""
        space = cls.default(model)
        for key, value in record.items():
            if key not in space.params:
                raise TuneError(f"the study's recorded search space has an unknown key {key!r}")
            space.entries[key] = _entry(space.params[key], value, f"the study's recorded search space: {key}")
        return space

    def differences(self, other: Space) -> list[str]:
        return [name for name in self.entries if self.to_dict()[name] != other.to_dict().get(name)]

    # -- sampling -----------------------------------------------------------------------------
    def searched(self) -> list[str]:
        """The settings trials draw (not one whose condition no trial can meet: momentum
        with the optimizer fixed at adam)."""
        return [name for name, e in self.entries.items() if not isinstance(e, Fixed) and self._possible(name)]

    def _possible(self, name: str) -> bool:
        p = self.params[name]
        if p.only_with is None:
            return True
        other, want = p.only_with
        e = self.entries[other]
        return e.value == want if isinstance(e, Fixed) else (want in e.values if isinstance(e, Choices) else True)

    def fixed(self) -> dict[str, object]:
        return {name: e.value for name, e in self.entries.items() if isinstance(e, Fixed)}

    def suggest(self, trial) -> dict[str, object]:
        """A trial's settings: the searched ones drawn through `trial` (an Optuna trial) and
        the fixed ones, in the order declared; a conditional one only where its condition holds."""
        chosen: dict[str, object] = {}
        for name, e in self.entries.items():
            p = self.params[name]
            if p.only_with is not None and chosen.get(p.only_with[0]) != p.only_with[1]:
                continue
            if isinstance(e, Choices):
                chosen[name] = trial.suggest_categorical(name, list(e.values))
            elif isinstance(e, Range) and p.kind == "int":
                chosen[name] = trial.suggest_int(name, int(e.low), int(e.high), step=int(e.step or 1), log=e.log)
            elif isinstance(e, Range):
                chosen[name] = trial.suggest_float(name, e.low, e.high, step=e.step, log=e.log)
            else:
                chosen[name] = e.value
        return chosen

    def holds(self, settings: dict[str, object]) -> list[str]:
        """Of `settings` (a value for every setting), what this space cannot give: []
        when a trial of exactly these settings lies in it."""
        out = []
        for name, e in self.entries.items():
            p, value = self.params[name], settings[name]
            if p.only_with is not None and settings.get(p.only_with[0]) != p.only_with[1]:
                continue
            if isinstance(e, Fixed):
                ok = value == e.value
            elif isinstance(e, Choices):
                ok = any(value == v and type(value) is type(v) for v in e.values)
            else:
                ok = e.low <= value <= e.high and (
                    e.step is None or abs((value - e.low) / e.step - round((value - e.low) / e.step)) < 1e-9)
            if not ok:
                out.append(f"{name} {_show(value)}")
        return out

    def lines(self) -> list[str]:
        """The space in words, a line a setting."""
        out = []
        for name, e in self.entries.items():
            p = self.params[name]
            if isinstance(e, Range):
                text = f"{_show(e.low)} to {_show(e.high)}" + (", log scale" if e.log else "") + (
                    f", steps of {_show(e.step)}" if e.step is not None else "")
            elif isinstance(e, Choices):
                text = "one of " + ", ".join(_show(v) for v in e.values)
            else:
                text = f"fixed at {_show(e.value)}"
            cond = f" (with {p.only_with[0]} {p.only_with[1]})" if p.only_with else ""
            out.append(f"{name}: {text}{cond}")
        return out


_RANGE_KEYS = ("low", "high", "log", "step")


def _number(param: Param, value, what: str) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise TuneError(f"{what} {value!r} is not a number")
    if param.kind == "int" and type(value) is not int:
        raise TuneError(f"{what} {value!r} is not a whole number")
    if not param.allows(value):
        raise TuneError(f"{what} {_show(value)} is outside what {param.name} can be ({param.domain()})")
    return value


def _entry(param: Param, value, where: str) -> Entry:
    """The space file's (or a study record's) `value` for `param`, checked."""
    if isinstance(value, list):
        if not value:
            raise TuneError(f"{where}: an empty list leaves nothing to try")
        values = []
        for v in value:
            if param.kind == "choice":
                if not param.allows(v):
                    raise TuneError(f"{where}: {_show(v) if not isinstance(v, str) else repr(v)} is not one of "
                                    f"{param.domain()}")
            else:
                _number(param, v, where + ":")
            if param.kind == "float":
                v = float(v)
            if not any(v == w and type(v) is type(w) for w in values):
                values.append(v)
        return Fixed(values[0]) if len(values) == 1 else Choices(tuple(values))
    if isinstance(value, dict):
        if param.kind == "choice":
            raise TuneError(f"{where}: takes one value or a list ({param.domain()}), not a range")
        unknown = [k for k in value if k not in _RANGE_KEYS]
        if unknown:
            raise TuneError(f"{where}: unknown entry {unknown[0]!r} in a range; give low and high, and "
                            "optionally log or step")
        if "low" not in value or "high" not in value:
            raise TuneError(f"{where}: a range needs both low and high")
        low = _number(param, value["low"], f"{where}: low")
        high = _number(param, value["high"], f"{where}: high")
        if low > high:
            raise TuneError(f"{where}: low {_show(low)} is above high {_show(high)}")
        log, step = value.get("log", False), value.get("step")
        if type(log) is not bool:
            raise TuneError(f"{where}: log must be true or false, not {log!r}")
        if log and step is not None:
            raise TuneError(f"{where}: a range takes log or step, not both")
        if log and low <= 0:
            raise TuneError(f"{where}: a log range needs low above 0, not {_show(low)}")
        if step is not None:
            if type(step) is bool or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0 \
                    or (param.kind == "int" and type(step) is not int):
                kind = "a whole number" if param.kind == "int" else "a number"
                raise TuneError(f"{where}: step must be {kind} above 0, not {step!r}")
            n = (high - low) / step
            if abs(n - round(n)) > 1e-9:
                raise TuneError(f"{where}: step {_show(step)} does not divide the range {_show(low)} to {_show(high)}")
        if param.kind == "float":
            low, high = float(low), float(high)
            step = None if step is None else float(step)
        return Fixed(low) if low == high else Range(low, high, log, step)
    if param.kind == "choice":
        if not param.allows(value):
            shown = repr(value) if isinstance(value, str) else _show(value)
            raise TuneError(f"{where}: {shown} is not one of {param.domain()}")
        return Fixed(value)
    value = _number(param, value, where + ":")
    return Fixed(float(value) if param.kind == "float" else value)


def preset_values(model: str, preset: str) -> dict[str, object]:
    """The value of every setting of `model`'s family in `preset`: the bundled models' own
    settings for compact."""
    if model in VARIANTS:
        from ..training.autoencoder import TrainConfig

        cfg = TrainConfig.from_preset(preset, model=model)
        ae = cfg.ae_config
        return {"lr": cfg.lr, "batch_size": cfg.batch_size, "optimizer": cfg.optimizer, "momentum": cfg.momentum,
                "width": ae.num_init_filters, "code_norm": ae.code_norm, "bypass_dropout": cfg.bypass_dropout,
                "contrast": cfg.contrast}
    from ..training.classifier import ClassifierTrainConfig

    cfg = ClassifierTrainConfig.from_preset(preset, model=model)
    return {"lr": cfg.lr, "batch_size": cfg.batch_size, "optimizer": cfg.optimizer, "momentum": cfg.momentum,
            "width_divisor": cfg.width_divisor, "dropout": cfg.dropout, "weight_decay": cfg.weight_decay,
            "contrast": cfg.contrast, "spread": cfg.spread}
