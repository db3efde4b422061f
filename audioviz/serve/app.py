"""The playground's HTTP side: the page, its JSON API and the files of the results, over the
work folder (store.py), the music folder (songs.py) and the job queue (jobs.py).

Every refusal reaches the page as {"error": "<one line>"} with its HTTP status, and the
server's log as one line.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import time
from dataclasses import asdict
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..errors import ENV_DEBUG, AudiovizError, ConfigError, InputError
from . import settings as page
from .errors import BusyError, NotFoundError, RequestError, TooLargeError, status_of
from .jobs import Job, Pool, Progress, default_threads
from .security import Guard
from .songs import Music, describe, stored_suffix, upload_name
from .store import ACTIVE, CANCELLED, DONE, FAILED, QUEUED, RUNNING, Result, Store, human_bytes

log = logging.getLogger("audioviz.serve")

STATIC = Path(__file__).parent / "static"
MAX_WARNINGS = 20  # kept per result: a song that warns on every segment says so often enough
FILE_NAMES = {"preview": "{stem}-preview.png", "render": "{stem}-{scene}.mp4", "compare": "{stem}-compare.mp4"}


class Playground:
    """The server's state: the work folder, the music folder, the models it offers and the
    worker processes; `jobs` renders (or comparisons) at once, and one preview beside them."""

    def __init__(self, *, music: Path | None, workdir: Path, cap: int, max_upload: int, models: page.Models,
                 jobs: int = 1):
        self.music, self.models, self.max_upload = Music(music), models, max_upload
        self.store = Store(workdir, cap)
        self.progress: dict[str, Progress] = {}
        self.doomed: set[str] = set()  # deleted while running: removed once their job has ended
        self.pool = Pool({"preview": 1, "render": jobs}, default_threads(jobs + 1), self.on_event)
        self.store.trim()

    def close(self) -> None:
        self.pool.close()

    # -- songs ------------------------------------------------------------------------------------

    def song(self, song: page.Song) -> tuple[Path, Path, dict, str | None]:
        """(the file a worker reads, the path the command names, what the result records, the
        title to draw where the options say auto and the song has none)."""
        if song.music is not None:
            path = self.music.resolve(song.music)
            return path, self.music.shown(song.music), {"music": song.music, "name": song.music}, None
        meta = self.store.upload(song.upload)
        path = self.store.upload_path(song.upload)
        fallback = None if meta["tags"].get("title") else Path(meta["name"]).stem
        return path, path, {"upload": meta["id"], "name": meta["name"]}, fallback

    async def receive_upload(self, request: Request, name: str) -> dict:
        """Take an uploaded song, as the request's body, streamed to a file and refused once it
        passes the cap; kept only when ffmpeg reads it as audio, under a name of our own."""
        limit = self.max_upload
        declared = request.headers.get("content-length", "")
        too_large = TooLargeError(f"{upload_name(name)}: larger than the {human_bytes(limit)} this server takes "
                                  "(its --max-upload)")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        received = self.store.incoming()
        try:
            size = 0
            with open(received, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    f.write(chunk)
            if size == 0:
                raise RequestError(f"{upload_name(name)}: is empty (0 bytes)")
            try:
                described = await run_in_threadpool(describe, received)
            except InputError as e:  # said of the file by the name the user knows
                raise InputError(str(e).replace(str(received), upload_name(name))) from None
            meta = self.store.add_upload(received, upload_name(name), stored_suffix(name), described)
        finally:
            received.unlink(missing_ok=True)
        await run_in_threadpool(self.store.trim)
        log.info("upload %s: %s (%s)", meta["id"], meta["name"], human_bytes(meta["bytes"]))
        return meta

    # -- jobs -------------------------------------------------------------------------------------

    def submit(self, request: page.JobRequest) -> Result:
        """Check the request in milliseconds (files, names, values), record its result, queue it."""
        from ..session import check_inputs

        audio, shown, song, fallback = self.song(request.song)
        config = page.render_config(request.options, self.models, fallback)
        grid = None
        if request.kind == "compare":
            if request.compare is None:
                raise ConfigError("a comparison needs its models, mappings and scenes")
            grid = page.grid_lists(request.compare, self.models)
        check_inputs(audio, config.model, config.layer, config.mapping.fit, config.scene)
        download = FILE_NAMES[request.kind].format(stem=Path(song["name"]).stem, scene=config.scene)
        command = page.command(request.kind, shown, download, config, grid)
        stored = request.options.model_dump(mode="json")
        if request.compare is not None:  # so that "use these settings" sets the grid too
            stored["grid"] = request.compare.model_dump(mode="json")
        result = self.store.add(request.kind, song, stored, page.shown_settings(request.kind, config, grid), command,
                                download)
        spec = {"kind": request.kind, "config": config, "audio": str(audio),
                "folder": str(self.store.folder(result.id)), "compare": grid}
        self.pool.submit(Job(result.id, "preview" if request.kind == "preview" else "render", spec))
        log.info("%s %s queued: %s", request.kind, result.id, command)
        return result

    def on_event(self, job_id: str, what: str, detail) -> None:
        """What the pool says of a job, into its result (unless the result was removed)."""
        try:
            result = self.store.get(job_id)
            if what == "started":
                self.progress[job_id] = Progress()
                self.store.update(job_id, status=RUNNING, started=time.time())
            elif what == "progress":
                if (p := self.progress.get(job_id)) is not None:
                    p.update(detail["stage"], detail["done"], detail["total"])
            elif what == "warning":
                if len(result.warnings) < MAX_WARNINGS:
                    self.store.update(job_id, warnings=[*result.warnings, detail])
            else:
                self.progress.pop(job_id, None)
                self._ended(result, what, detail)
        except NotFoundError:
            self.progress.pop(job_id, None)

    def _ended(self, result: Result, what: str, detail) -> None:
        now = time.time()
        if what == "done":
            self.store.update(result.id, status=DONE, finished=now, files=detail["files"], info=detail["info"])
            log.info("%s %s done in %.1f s", result.kind, result.id, now - (result.started or result.created))
        elif what == "failed":
            self.store.update(result.id, status=FAILED, finished=now, error=detail)
            log.error("error: %s %s: %s", result.kind, result.id, detail)
        else:
            self.store.update(result.id, status=CANCELLED, finished=now, error=detail or "cancelled")
            log.info("%s %s cancelled%s", result.kind, result.id, f": {detail}" if detail else "")
        if result.id in self.doomed:
            self.doomed.discard(result.id)
            self.store.remove(result.id)
        elif what == "done":
            self.store.trim()

    def cancel(self, result_id: str) -> Result:
        result = self.store.get(result_id)
        if result.status in ACTIVE:
            self.pool.cancel(result.id)
        return self.store.get(result_id)

    def delete(self, result_id: str) -> None:
        """Remove a result; one whose job runs is cancelled first and goes once it has stopped."""
        result = self.store.get(result_id)
        if result.status in ACTIVE:
            if result.id in self.doomed:
                raise BusyError(f"result {result.id} is being cancelled, and goes once it has stopped")
            self.doomed.add(result.id)
            if self.pool.cancel(result.id):
                return
            self.doomed.discard(result.id)  # it ended meanwhile, and may be gone with it
        with contextlib.suppress(NotFoundError):
            self.store.remove(result.id)

    def view(self, result: Result) -> dict:
        """A result as the page sees it: its record, where its files are, and how far it is."""
        out = asdict(result)
        out["urls"] = {key: f"/results/{result.id}/{name}" for key, name in result.files.items()}
        if result.status == RUNNING and (p := self.progress.get(result.id)) is not None:
            out["progress"] = p.as_dict()
        elif result.status == QUEUED:
            out["position"] = self.pool.position(result.id)
        return out

    def options(self) -> dict:
        from ..config import Format, Method, Scaler, Scaling, TextStyle
        from ..options import FORMATS
        from ..scenes.registry import available_scenes

        return {
            "models": self.models.choices(),
            "grid_models": self.models.grid_choices(),
            "scenes": [{"name": s.name, "description": s.description, "params": list(s.param_names())}
                       for s in available_scenes()],
            "mappings": [m.value for m in Method], "scalers": [s.value for s in Scaler],
            "scalings": [s.value for s in Scaling], "text_styles": [t.value for t in TextStyle],
            # what a browser plays: the presets in H.264 (the editor's ProRes is not)
            "formats": {f.value: FORMATS[f.value] for f in Format if FORMATS[f.value]["codec"] == "h264"},
            "defaults": page.Options().model_dump(mode="json"),
            "max_upload": self.max_upload, "music": self.music.root is not None,
        }


def _one_line(e: RequestValidationError) -> str:
    """pydantic's first complaint, where it is: 'options.fps: Input should be a valid string'."""
    first = e.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid request")


class OneLineErrors:
    """ASGI middleware: an exception no route expected is a 500 with one line for the page and
    one line in the log (not a traceback: AUDIOVIZ_DEBUG=1 adds one). FastAPI answers it first
    (its handler for Exception) and raises it on, to here."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as e:
            from ..errors import describe_unexpected

            message = describe_unexpected(e)
            log.error("error: %s %s: %s", scope.get("method"), scope["path"], message, exc_info=bool(
                os.environ.get(ENV_DEBUG)))
            if not started:
                await JSONResponse({"error": message}, 500)(scope, receive, send)


def create_app(pg: Playground, hosts: frozenset[str]) -> Guard:
    """The playground's ASGI app: its routes, behind the Host and Origin checks."""
    app = FastAPI(title="audioviz playground", docs_url=None, redoc_url=None, openapi_url=None)

    def refuse(request: Request, status: int, message: str) -> JSONResponse:
        log.warning("error: %s %s: %s", request.method, request.url.path, message)
        return JSONResponse({"error": message}, status)

    @app.exception_handler(AudiovizError)
    async def _audioviz(request: Request, e: AudiovizError):
        return refuse(request, status_of(e), str(e))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        return refuse(request, 422, _one_line(e))

    @app.exception_handler(Exception)
    async def _unexpected_error(request: Request, e: Exception):  # logged by OneLineErrors, which it reaches next
        from ..errors import describe_unexpected

        return JSONResponse({"error": describe_unexpected(e)}, 500)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException):
        message = "no such page or file" if e.status_code == 404 else str(e.detail)
        return refuse(request, e.status_code, message)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/options")
    def options():
        pg.pool.warm()  # the page is open: a preview is coming
        return pg.options()

    @app.get("/api/songs")
    def songs():
        uploads = [{k: u[k] for k in ("id", "name", "duration", "created")} for u in pg.store.uploads()]
        return {"music": pg.music.songs(), "uploads": uploads}

    @app.get("/api/songs/audio")
    def song_audio(music: str | None = Query(None, max_length=4096), upload: str | None = Query(None, max_length=64)):
        if (music is None) == (upload is None):
            raise RequestError("give the song as music=PATH (in the music folder) or upload=ID")
        path = pg.music.resolve(music) if music is not None else pg.store.upload_path(upload)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type)

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, name: str = Query("upload", max_length=1000)):
        meta = await pg.receive_upload(request, name)
        return {k: meta[k] for k in ("id", "name", "duration", "created")}

    @app.post("/api/jobs", status_code=202)
    def submit(request: page.JobRequest):
        return pg.view(pg.submit(request))

    @app.get("/api/results")
    def results():
        return {"results": [pg.view(r) for r in pg.store.results()],
                "workdir": {"bytes": pg.store.size(), "cap": pg.store.cap}}

    @app.get("/api/results/{result_id}")
    def result(result_id: str):
        return pg.view(pg.store.get(result_id))

    @app.post("/api/results/{result_id}/cancel")
    def cancel(result_id: str):
        return pg.view(pg.cancel(result_id))

    @app.delete("/api/results/{result_id}", status_code=204)
    def delete(result_id: str):
        pg.delete(result_id)

    @app.get("/results/{result_id}/{name}")
    def result_file(result_id: str, name: str, download: bool = False):
        path = pg.store.file(result_id, name)
        r = pg.store.get(result_id)
        if download:
            return FileResponse(path, filename=r.download if path.suffix == Path(r.download).suffix else name)
        return FileResponse(path)

    return Guard(OneLineErrors(app), hosts)
