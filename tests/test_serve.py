"""`audioviz serve`: the playground's API against a real server on a free port of 127.0.0.1,
started as a user starts it, with real requests: songs, uploads, previews, renders with their
progress, cancels, the results list across a restart, the size cap, and the security cases
(paths outside the folders, DNS rebinding, other sites' pages, scene files)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from media import audio_seconds, frames, music_like, video_stream, write_audio

pytest.importorskip("fastapi", reason="audioviz serve needs the serve extra: pip install -e '.[serve]'")

TIMEOUT = 120  # seconds for a job on a machine that others share
ACTIVE = ("queued", "running")


class Server:
    """`audioviz serve ARGS --port 0` in a process of its own; its log lines as they come."""

    def __init__(self, *args, cwd: Path):
        cmd = [sys.executable, "-m", "audioviz", "serve", "--port", "0", *map(str, args)]
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = wait_for(lambda: next((ln for ln in self.lines if "audioviz playground: http" in ln), None)
                        or (self.proc.poll() is not None and "exited"), 60, lambda: "\n".join(self.lines))
        assert line != "exited", "\n".join(self.lines)
        self.url = re.search(r"(http://\S+/)", line).group(1).rstrip("/")
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kw)

    def raw(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        """A request exactly as given: no client normalises its path or sets its Host."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host="Host" in (headers or {}))
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def logged(self, text: str) -> list[str]:
        return [ln for ln in self.lines if text in ln]

    def workers(self) -> list[int]:
        """The pids of the server's worker processes (not multiprocessing's resource tracker)."""
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_text(errors="replace")
            except OSError:
                continue
            if parent == self.proc.pid and "spawn_main" in cmdline:
                out.append(int(stat.parent.name))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)
        return self.proc.returncode


def wait_for(probe, timeout: float, why=lambda: ""):
    """probe()'s first true value, asked every 50 ms for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {why()}")


def finished(server: Server, result_id: str, seen: list | None = None) -> dict:
    """The result once its job has ended; `seen` collects every state polled on the way."""
    def poll():
        r = server.get(f"/api/results/{result_id}").json()
        if seen is not None:
            seen.append(r)
        return r if r["status"] not in ACTIVE else None

    return wait_for(poll, TIMEOUT, lambda: "\n".join(server.lines[-5:]))


def submit(server: Server, kind: str, song: dict, **options) -> dict:
    r = server.post("/api/jobs", json={"kind": kind, "song": song, "options": options})
    assert r.status_code == 202, r.text
    return r.json()


# -- the server these tests share -------------------------------------------------------------


@pytest.fixture(scope="module")
def place(tmp_path_factory, tiny_model) -> dict:
    """A music folder with songs, a link out of it and a playlist posing as an mp3; a song
    outside it (what a path leaving the folder would reach); a work folder."""
    root = tmp_path_factory.mktemp("serve")
    music = root / "music"
    (music / "sub").mkdir(parents=True)
    write_audio(music / "song.ogg", music_like(3.0))
    write_audio(music / "sub" / "other.mp3", music_like(2.5, seed=1))
    write_audio(music / "long.ogg", music_like(20.0, seed=2))
    (music / "fake.mp3").write_text("#EXTM3U\n#EXTINF:1,x\nfile:///etc/passwd\n")
    (music / "notes.txt").write_text("not a song")
    outside = root / "outside"
    outside.mkdir()
    write_audio(outside / "secret.ogg", music_like(2.0, seed=3))
    (music / "escape.ogg").symlink_to(outside / "secret.ogg")
    (music / "linked").symlink_to(outside, target_is_directory=True)
    return {"root": root, "music": music, "outside": outside, "work": root / "work", "model": tiny_model}


@pytest.fixture(scope="module")
def server(place):
    s = Server("--music", place["music"], "--workdir", place["work"], "--model", place["model"], "--max-upload", "1M",
               "--max-workdir", "500M", cwd=place["root"])
    yield s
    s.stop()


TINY = {"model": "tiny", "size": "160x90"}


# -- the page, its choices and the songs ------------------------------------------------------


def test_page_choices_and_songs(server, place):
    page = server.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        r = server.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    options = server.get("/api/options").json()
    models = {m["name"]: m for m in options["models"]}
    assert models["tiny"]["family"] == "checkpoint" and "ae_shared" in models
    assert [lay["name"] for lay in models["vgg16"]["layers"]] == ["L13", "L14", "L15"]
    assert "vgg16@L13" in options["grid_models"] and "tiny" in options["grid_models"]
    assert {s["name"] for s in options["scenes"]} >= {"bar", "real", "storm"}
    assert options["defaults"]["size"] == "1280x720" and options["defaults"]["hop"] == 0.24
    assert "editor" not in options["formats"] and options["formats"]["shorts"]["size"] == "1080x1920"

    songs = server.get("/api/songs").json()
    # the links that lead out of the folder are left out; so is what has no audio suffix
    assert sorted(s["path"] for s in songs["music"]) == ["fake.mp3", "long.ogg", "song.ogg", "sub/other.mp3"]
    audio = server.get("/api/songs/audio", params={"music": "sub/other.mp3"})
    assert audio.status_code == 200 and audio.content == (place["music"] / "sub" / "other.mp3").read_bytes()
    part = server.get("/api/songs/audio", params={"music": "song.ogg"}, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


@pytest.mark.parametrize("path", [
    "/api/songs/audio?music=../outside/secret.ogg",
    "/api/songs/audio?music=sub/../../outside/secret.ogg",
    "/api/songs/audio?music=%2E%2E%2Foutside%2Fsecret.ogg",  # encoded dots and slashes
    "/api/songs/audio?music=..%252Foutside%252Fsecret.ogg",  # encoded twice
    "/api/songs/audio?music={outside}/secret.ogg",  # absolute
    "/api/songs/audio?music=escape.ogg",  # a link to a file outside
    "/api/songs/audio?music=linked/secret.ogg",  # through a link to a folder outside
    "/api/songs/audio?music=..%5Coutside%5Csecret.ogg",  # backslashes
    "/api/songs/audio?music=song.ogg%00.txt",
    "/api/songs/audio?upload=../../music/song.ogg",
    "/results/..%2F..%2Foutside%2Fsecret.ogg",
    "/results/0123456789abcdef/..%2F..%2F..%2Foutside%2Fsecret.ogg",
    "/results/../../outside/secret.ogg",
    "/static/..%2F..%2F..%2F..%2Foutside%2Fsecret.ogg",
    "/static/%2e%2e/app.py",
    "/static/../app.py",
])
def test_no_request_reads_outside_the_folders(server, place, path):
    status, body = server.raw("GET", path.format(outside=place["outside"]))
    assert status == 404, body
    assert body != (place["outside"] / "secret.ogg").read_bytes() and b"import" not in body
    assert json.loads(body)["error"]


def test_host_header_and_other_sites_pages_are_refused(server):
    port = server.port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "localhost:80:80", ""):
        status, body = server.raw("GET", "/api/songs", {"Host": host})
        assert status == 400 and "is not a name of this server" in json.loads(body)["error"], (host, body)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST.:{port}"):
        assert server.raw("GET", "/api/songs", {"Host": host})[0] == 200, host

    before = len(server.get("/api/results").json()["results"])
    job = json.dumps({"kind": "preview", "song": {"music": "song.ogg"}, "options": TINY}).encode()
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": f"http://localhost:{port + 1}"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        status, body = server.raw("POST", "/api/jobs", {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json",
                                                        **headers}, job)
        assert status == 403 and "may not" in json.loads(body)["error"], (headers, body)
        status, _ = server.raw("POST", "/api/uploads?name=x.ogg", {"Host": f"127.0.0.1:{port}", **headers}, b"x" * 10)
        assert status == 403
    assert server.raw("GET", "/api/songs", {"Host": f"127.0.0.1:{port}", "Sec-Fetch-Site": "cross-site"})[0] == 403
    # a link from another site may still open the page itself
    assert server.raw("GET", "/", {"Host": f"127.0.0.1:{port}", "Sec-Fetch-Site": "cross-site"})[0] == 200
    assert len(server.get("/api/results").json()["results"]) == before
    assert len(list((server_work(server) / "uploads").glob("*"))) == len(server.get("/api/songs").json()["uploads"]) * 2


def server_work(server: Server) -> Path:
    return Path(re.search(r"work folder (\S+);", next(ln for ln in server.lines if "work folder" in ln)).group(1))


def test_uploads_are_capped_checked_by_content_and_stored_under_our_names(server, place):
    song = write_audio(place["root"] / "My Song.ogg", music_like(2.5, seed=4))
    r = server.post("/api/uploads", params={"name": "../../My Song.ogg"}, data=song.read_bytes())
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["name"] == "My Song.ogg" and abs(meta["duration"] - 2.5) < 0.1
    uploads = server_work(server) / "uploads"
    stored = sorted(p.name for p in uploads.iterdir())
    assert stored == sorted([f"{meta['id']}.ogg", f"{meta['id']}.json"])
    assert (uploads / f"{meta['id']}.ogg").read_bytes() == song.read_bytes()
    assert [u["id"] for u in server.get("/api/songs").json()["uploads"]] == [meta["id"]]
    assert server.get("/api/songs/audio", params={"upload": meta["id"]}).content == song.read_bytes()

    refused = [
        ("list.mp3", b"#EXTM3U\n#EXTINF:1,x\nhttp://example.com/a.mp3\n", 400, "list.mp3: is an HLS playlist"),
        ("notes.ogg", b"hello " * 200, 400, "notes.ogg: not audio that ffmpeg can decode"),
        ("empty.ogg", b"", 400, "empty.ogg: is empty"),
        ("big.wav", b"\0" * 1_100_000, 413, "big.wav: larger than the 1.0 MB this server takes"),
    ]
    for name, body, status, message in refused:
        r = server.post("/api/uploads", params={"name": name}, data=body)
        assert r.status_code == status and r.json()["error"].startswith(message), (name, r.text)
        wait_for(lambda: server.logged(message), 5)
        assert len(server.logged(message)) == 1
    # without a Content-Length the cap holds as the body streams in
    r = server.post("/api/uploads", params={"name": "stream.wav"}, data=iter([b"\0" * 100_000] * 12))
    assert r.status_code == 413
    assert sorted(p.name for p in uploads.iterdir()) == stored  # nothing of them kept, not even in part


@pytest.mark.parametrize("request_body,status,message", [
    ({"options": {"scene": "{repo}/examples/my_scene.py"}}, 400, "are never taken from the page"),
    ({"options": {"scene": "{repo}/examples/my_shader.frag"}}, 400, "are never taken from the page"),
    ({"options": {"model": "/etc/passwd"}}, 400, "model '/etc/passwd' is not one this server offers"),
    ({"options": {"model": "{repo}/examples"}}, 400, "is not one this server offers"),
    ({"options": {"fit": "/tmp/mapping.npz"}}, 422, "options.fit: Input should be 'model' or 'track'"),
    ({"options": {"size": "big"}}, 400, "size 'big' is not WIDTHxHEIGHT"),
    ({"options": {"hop": 50}}, 400, "--hop 50 s is out of range"),
    ({"options": {"model": "vgg16", "layer": "L99"}}, 400, "model 'vgg16' has no feature layer 'L99'"),
    ({"options": {"logo": "/etc/passwd"}}, 422, "options.logo: Extra inputs are not permitted"),
    ({"song": {"music": "nope.ogg"}}, 404, "nope.ogg: no such song in the music folder"),
    ({"song": {"upload": "0123456789abcdef"}}, 404, "no such upload"),
    ({"kind": "compare", "compare": {"models": ["tiny", "/tmp/x.pt"]}}, 400, "model '/tmp/x.pt' is not one"),
    ({"kind": "compare", "compare": {"models": ["tiny"], "scenes": ["/tmp/x.py"]}}, 400, "never taken from the page"),
])
def test_bad_jobs_are_one_readable_line_on_the_page_and_in_the_log(server, request_body, status, message):
    repo = Path(__file__).resolve().parents[1]
    body = {"kind": "render", "song": {"music": "song.ogg"}, **request_body}
    body["options"] = {k: str(v).format(repo=repo) if isinstance(v, str) else v
                       for k, v in {**TINY, **body.get("options", {})}.items()}
    before = len(server.get("/api/results").json()["results"])
    r = server.post("/api/jobs", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert message.format(repo=repo) in error and "\n" not in error
    wait_for(lambda: server.logged(error), 5)
    assert len(server.logged(error)) == 1
    assert len(server.get("/api/results").json()["results"]) == before


# -- jobs -------------------------------------------------------------------------------------


def test_preview_makes_a_sheet_and_the_ten_curves(server):
    job = submit(server, "preview", {"music": "sub/other.mp3"}, **TINY, scene="real")
    assert job["command"].startswith("audioviz preview ") and "--size 160x90" in job["command"]
    result = finished(server, job["id"])
    assert result["status"] == "done", result
    sheet = server.get(result["urls"]["preview"])
    assert sheet.headers["content-type"] == "image/png" and sheet.content.startswith(b"\x89PNG")
    curves = server.get(result["urls"]["curves"]).json()
    options = server.get("/api/options").json()
    real = next(s for s in options["scenes"] if s["name"] == "real")
    assert curves["names"] == real["params"] and len(curves["values"]) == 10
    values, times = np.array(curves["values"]), np.array(curves["times"])
    assert values.shape == (10, len(times)) and 0 <= values.min() and values.max() <= 1
    assert np.all(np.diff(times) > 0) and times[-1] <= 2.5 and values.std(axis=1).max() > 0.01
    assert len(result["info"]["times"]) == 12
    assert result["settings"]["scene"] == "real" and "codec" not in result["settings"]  # a preview encodes nothing


def test_render_shows_progress_and_its_command_makes_the_same_video(server, place, tmp_path):
    from typer.testing import CliRunner

    from audioviz.cli import app

    job = submit(server, "render", {"music": "song.ogg"}, **TINY, seed=7, pulse=0.5)
    seen: list = []
    result = finished(server, job["id"], seen)
    assert result["status"] == "done", result
    progress = [r["progress"] for r in seen if r.get("progress")]
    assert progress and all(p["total"] == 90 for p in progress if p["stage"] == "render"), progress
    video = tmp_path / "served.mp4"
    r = server.get(result["urls"]["video"])
    assert r.headers["content-type"] == "video/mp4"
    video.write_bytes(r.content)
    v = video_stream(video)
    assert (v["width"], v["height"], v["fps"]) == (160, 90, 30) and len(frames(video)) == 90
    assert abs(audio_seconds(video) - 3.0) < 0.05
    assert server.get(result["urls"]["video"], headers={"Range": "bytes=0-9"}).status_code == 206  # seekable
    download = server.get(result["urls"]["video"], params={"download": 1})
    assert 'attachment; filename="song-bar.mp4"' in download.headers["content-disposition"]
    curves = server.get(result["urls"]["curves"]).json()
    assert len(curves["times"]) == 90 and curves["times"][1] == pytest.approx(1 / 30, abs=1e-3)

    words = shlex.split(result["command"])
    assert words[:3] == ["audioviz", "render", str(place["music"] / "song.ogg")]
    assert "--seed 7" in result["command"] and "--pulse 0.5" in result["command"]
    words[words.index("-o") + 1] = str(tmp_path / "again.mp4")
    run = CliRunner().invoke(app, words[1:] + ["--quiet"])
    assert run.exit_code == 0, run.output
    again = frames(tmp_path / "again.mp4")
    assert np.abs(again.astype(int) - frames(video).astype(int)).mean() < 0.5


def test_a_job_that_fails_says_why_in_one_line(server):
    job = submit(server, "render", {"music": "fake.mp3"}, **TINY)
    result = finished(server, job["id"])
    assert result["status"] == "failed" and "fake.mp3: is an HLS playlist" in result["error"]
    assert "\n" not in result["error"] and result["files"] == {}
    assert len(server.logged(f"error: render {job['id']}: ")) == 1
    assert sorted(p.name for p in (server_work(server) / "results" / job["id"]).iterdir()) == ["result.json"]


def test_cancel_stops_the_render_and_leaves_nothing(server):
    running = submit(server, "render", {"music": "long.ogg"}, **{**TINY, "size": "640x360"})
    r = wait_for(lambda: (x := server.get(f"/api/results/{running['id']}").json()).get("progress", {}).get("stage")
                 == "render" and x["progress"]["done"] > 0 and x, TIMEOUT)
    assert r["progress"]["total"] == 600
    queued = submit(server, "render", {"music": "song.ogg"}, **TINY)
    assert server.get(f"/api/results/{queued['id']}").json()["position"] == 0
    cancelled = server.post(f"/api/results/{queued['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"  # off the queue at once
    server.post(f"/api/results/{running['id']}/cancel")
    result = finished(server, running["id"])
    assert result["status"] == "cancelled" and result["files"] == {}
    folder = server_work(server) / "results" / running["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["result.json"]
    # no ffmpeg is left writing there
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert str(folder) not in cmdline.read_text(errors="replace")
        except OSError:
            pass
    # and the worker goes on with the next job
    again = finished(server, submit(server, "render", {"music": "song.ogg"}, **TINY, duration=1.0)["id"])
    assert again["status"] == "done", again


def test_compare_makes_one_video_of_its_tiles(server, tmp_path):
    r = server.post("/api/jobs", json={"kind": "compare", "song": {"music": "song.ogg"},
                                      "options": {**TINY, "size": "320x180", "duration": 1.5},
                                      "compare": {"models": ["tiny"], "mappings": ["pca", "kmeans"],
                                                  "scenes": ["bar"]}})
    assert r.status_code == 202, r.text
    result = finished(server, r.json()["id"])
    assert result["status"] == "done", result
    assert result["info"]["layout"] == "2x1" and len(result["info"]["tiles"]) == 2
    assert "--mappings pca,kmeans" in result["command"] and "--size 320x180" in result["command"]
    video = tmp_path / "grid.mp4"
    video.write_bytes(server.get(result["urls"]["video"]).content)
    assert (video_stream(video)["width"], video_stream(video)["height"]) == (320, 180)


def test_delete_removes_a_result_and_its_files_even_while_it_runs(server):
    result = finished(server, submit(server, "preview", {"music": "song.ogg"}, **TINY)["id"])
    folder = server_work(server) / "results" / result["id"]
    assert folder.is_dir()
    assert requests.delete(f"{server.url}/api/results/{result['id']}", timeout=30).status_code == 204
    assert not folder.exists()
    assert server.get(f"/api/results/{result['id']}").status_code == 404
    assert server.get(result["urls"]["preview"]).status_code == 404

    running = submit(server, "render", {"music": "long.ogg"}, **{**TINY, "size": "640x360"})
    wait_for(lambda: server.get(f"/api/results/{running['id']}").json().get("progress", {}).get("done"), TIMEOUT)
    assert requests.delete(f"{server.url}/api/results/{running['id']}", timeout=30).status_code == 204
    # it goes once its job has stopped, with everything the job wrote
    wait_for(lambda: server.get(f"/api/results/{running['id']}").status_code == 404, TIMEOUT)
    assert not (server_work(server) / "results" / running["id"]).exists()


def test_results_survive_a_restart_and_a_stopped_job_is_cancelled(server, place):
    before = {r["id"]: r for r in server.get("/api/results").json()["results"]}
    done = [i for i, r in before.items() if r["status"] == "done"]
    running = submit(server, "render", {"music": "long.ogg"}, **{**TINY, "size": "640x360"})
    wait_for(lambda: server.get(f"/api/results/{running['id']}").json().get("progress", {}).get("done"), TIMEOUT)
    workers = server.workers()
    assert len(workers) == 2  # one for previews, one for renders
    assert server.stop() == 0
    assert server.lines[-1] == "audioviz playground stopped"
    for pid in workers:  # every worker ended with the server
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]

    again = Server("--music", place["music"], "--workdir", place["work"], "--model", place["model"], cwd=place["root"])
    try:
        after = {r["id"]: r for r in again.get("/api/results").json()["results"]}
        assert set(after) == set(before) | {running["id"]}
        for i in done:
            assert after[i] == {**before[i], "urls": after[i]["urls"]}
            assert again.get(after[i]["urls"].get("video") or after[i]["urls"]["preview"]).status_code == 200
        stopped = after[running["id"]]
        assert stopped["status"] == "cancelled" and "the server stopped" in stopped["error"]
        folder = place["work"] / "results" / running["id"]
        assert sorted(p.name for p in folder.iterdir()) == ["result.json"]
    finally:
        assert again.stop() == 0


# -- starting the server ----------------------------------------------------------------------


def test_any_address_warns_and_a_taken_port_is_one_line(tmp_path):
    s = Server("--host", "0.0.0.0", "--workdir", tmp_path / "work", cwd=tmp_path)
    try:
        warning = next(ln for ln in s.lines if ln.startswith("warning: "))
        assert "--host 0.0.0.0 serves the playground to every machine" in warning and "no password" in warning
        assert s.get("/api/songs").json() == {"music": [], "uploads": []}
        taken = subprocess.run([sys.executable, "-m", "audioviz", "serve", "--port", str(s.port), "--workdir",
                                tmp_path / "work2"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert taken.returncode == 1
        assert taken.stderr.strip().splitlines() == [
            f"error: port {s.port} on 127.0.0.1 is in use (another playground?); give another with --port, or "
            "--port 0 for any free one"]
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("args,message", [
    (["--music", "missing-folder"], "error: --music missing-folder: not a folder"),
    (["--max-upload", "lots"], "error: --max-upload 'lots' is not a size such as 500M or 2G"),
    (["--max-upload", "2G", "--max-workdir", "1G"], "error: --max-upload 2.0 GB is larger than --max-workdir 1.0 GB"),
    (["--model", "missing.pt"], "error: missing.pt: no such model file"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    run = subprocess.run([sys.executable, "-m", "audioviz", "serve", "--port", "0", *args], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.strip().splitlines()[0].startswith(message), run.stderr


# -- the work folder's cap --------------------------------------------------------------------


def test_the_cap_removes_what_was_used_longest_ago_first(tmp_path):
    from audioviz.serve.store import DONE, RUNNING, Store, parse_bytes

    assert parse_bytes("500M", "x") == 500_000_000 and parse_bytes("1.5g", "x") == 1_500_000_000
    store = Store(tmp_path, cap=10_000)
    song = tmp_path / "incoming.ogg"
    song.write_bytes(b"a" * 2000)
    upload = store.add_upload(song, "a.ogg", ".ogg", {"duration": 1.0, "tags": {}})
    made = []
    for i in range(5):
        r = store.add("render", {"upload": upload["id"], "name": "a.ogg"} if i == 4 else {"music": "x", "name": "x"},
                      {}, {}, "audioviz render x", "x.mp4")
        (store.folder(r.id) / "video.mp4").write_bytes(b"v" * 2500)
        store.update(r.id, status=DONE if i else RUNNING, finished=1000.0 + i, files={"video": "video.mp4"})
        made.append(r.id)
    # 5 x 2500 bytes of video and a 2000-byte upload: over the cap of 10000
    removed = store.trim()
    kept = {r.id for r in store.results()}
    assert made[0] in kept  # running: never removed, however old
    assert removed[0] == f"result {made[1]}" and made[1] not in kept  # the oldest finished one goes first
    assert store.size() <= 10_000 and made[4] in kept and store.uploads()  # the newest stay, with the song they use
    assert not (tmp_path / "results" / made[1]).exists()
    # a restart reads the same list back; the job that was running is marked as stopped
    again = Store(tmp_path, cap=10_000)
    assert {r.id for r in again.results()} == kept
    assert again.get(made[0]).status == "cancelled" and again.get(made[0]).files == {}
    assert not (tmp_path / "results" / made[0] / "video.mp4").exists()


def test_cli_has_the_serve_command():
    run = subprocess.run([sys.executable, "-m", "audioviz", "serve", "--help"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0
    for option in ("--music", "--workdir", "--host", "--port", "--max-upload", "--max-workdir", "--jobs", "--model",
                   "--allow-host"):
        assert option in run.stdout
