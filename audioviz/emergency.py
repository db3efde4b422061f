"""Clean-up that must still happen when the main thread cannot run it.

Normally a render cleans up on the way out of its `with` and `finally` blocks: ffmpeg stopped,
the temporary file removed. When the main thread is stuck inside the GL driver (a user's shader
that never finishes a frame), the render watchdog ends the process from another thread
instead, and runs these actions first. They are registered while a render holds the resource
and removed when it is released, so the list only ever names what is live.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator

_lock = threading.Lock()
_actions: dict[int, Callable[[], None]] = {}
_ids = itertools.count()


@contextlib.contextmanager
def cleanup(action: Callable[[], None]) -> Iterator[None]:
    """Within the block, `action` runs should the process be ended from another thread."""
    with _lock:
        key = next(_ids)
        _actions[key] = action
    try:
        yield
    finally:
        with _lock:
            _actions.pop(key, None)


def run_all() -> None:
    """Run every registered action, newest first (an encoder is stopped before its file is
    removed); one that fails does not keep the others from running."""
    with _lock:
        actions = [_actions[k] for k in sorted(_actions, reverse=True)]
        _actions.clear()
    for action in actions:
        with contextlib.suppress(Exception):
            action()
