"""`audioviz serve`: the playground, a page in the browser where a person picks a song, tries
models, mappings and scenes by watching previews, renders, compares and downloads, with the
command that makes each result.

    app.py       the HTTP routes over the state below
    security.py  Host and Origin checks, paths kept inside their folders, ids
    settings.py  what the page may set, as a RenderConfig, and the reproducing command
    songs.py     the music folder and uploaded songs
    store.py     the work folder: results and uploads, under a size cap
    jobs.py      the queue and the worker processes
    worker.py    a worker process: a render session running one job at a time
    server.py    the listening socket, uvicorn, start and stop
"""

from __future__ import annotations

from .server import serve

__all__ = ["serve"]
