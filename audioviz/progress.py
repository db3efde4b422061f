"""Progress of the long steps (decode, extract, render, train, ...): tqdm bars on standard
error, or, for a program that shows progress its own way, calls to a function of its own.

    def show(stage, done, total):  # "render", 120, 900
        ...
    with audioviz.progress_to(show):
        session.render("song.mp3")

Within the block every step the library takes, on any thread, calls the function as it
starts and each time it moves, and draws no bar, whether or not the call asked for progress.
An exception the function raises stops the step where it stands, as Ctrl-C would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

ProgressFunction = Callable[[str, float, "float | None"], None]  # (stage, done, total)

_functions: list[ProgressFunction] = []
_lock = threading.Lock()


@contextmanager
def progress_to(function: ProgressFunction) -> Iterator[None]:
    """Send every step's progress to `function(stage, done, total)` within the block (the
    innermost block's function, where blocks nest)."""
    with _lock:
        _functions.append(function)
    try:
        yield
    finally:
        with _lock:
            _functions.remove(function)


def bar(iterable: Iterable | None = None, *, desc: str, total: float | None = None, initial: float = 0,
        disable: bool = False, **options):
    """A progress bar for one step, used as tqdm's: a tqdm bar (`options` are tqdm's: unit,
    leave, ...), or, within `progress_to`, one that reports to its function."""
    with _lock:
        function = _functions[-1] if _functions else None
    if function is not None:
        return _Reported(function, iterable, desc, total, initial)
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, initial=initial, disable=disable, **options)


class _Reported:
    """What `bar` gives within `progress_to`: tqdm's methods the library uses, reporting instead
    of drawing."""

    def __init__(self, function: ProgressFunction, iterable: Iterable | None, desc: str, total: float | None,
                 initial: float):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.function, self.iterable, self.desc, self.total, self.n = function, iterable, desc, total, initial
        function(desc, initial, total)

    def update(self, n: float = 1) -> None:
        self.n += n
        self.function(self.desc, self.n, self.total)

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
