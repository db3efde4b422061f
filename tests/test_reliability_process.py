"""Issue 8, the process and output side: Ctrl-C and SIGTERM, ffmpeg dying, a full disk or an
unusable output folder, faults that stop a batch (exit 3), resuming over broken videos, memory
on long input, and the output's contract as players see it.

Interruptions and faults are real: `audioviz` runs as a subprocess, the test signals it or
kills its ffmpeg, and looks at /proc and the output folder afterwards."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from media import (
    audio_seconds,
    frames,
    info,
    music_like,
    one_error_line,
    top_level_boxes,
    video_stream,
    write_audio,
)
from typer.testing import CliRunner

from audioviz import ffmpeg
from audioviz.batch import mp4_complete, read_report
from audioviz.cli import app

runner = CliRunner()
SMALL = ["--size", "160x96", "--fps", "10", "--quiet"]
TINY = ["--size", "64x36", "--fps", "10", "--quiet"]
QUICK_EXIT = 2.0  # seconds from the signal to the exit status


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def start(*args, **kwargs) -> subprocess.Popen:
    """`audioviz ARGS` as a subprocess in its own process group (as a shell runs a job); its
    stderr goes to a file (a pipe nobody reads could stall it)."""
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "audioviz", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=err, start_new_session=True, **kwargs)
    proc.errfile = err
    return proc


def stderr_of(proc: subprocess.Popen) -> str:
    proc.errfile.seek(0)
    return proc.errfile.read()


def wait_for(condition, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"audioviz ended (status {proc.returncode}) too early: {stderr_of(proc)}")
        if time.monotonic() > deadline:
            tree = [p for p in processes() if p["ppid"] == proc.pid or p["pid"] == proc.pid]
            pytest.fail(f"timed out waiting for the render to get going: {tree} {stderr_of(proc)}")
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, float, str]:
    """(exit status, seconds it took, stderr) of a process we just signalled."""
    t0 = time.monotonic()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"audioviz still running {timeout} s after the signal")
    return code, time.monotonic() - t0, stderr_of(proc)


def processes() -> list[dict]:
    """Every process on the machine: pid, parent, state and command line (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out.append({"pid": int(entry), "state": fields[0], "ppid": int(fields[1]), "cmdline": cmdline})
    return out


def ffmpegs(parent: int | None = None, mentioning: Path | None = None) -> list[dict]:
    """ffmpeg processes (zombies included) that are children of `parent` or name `mentioning`
    on their command line."""
    exe = os.path.basename(ffmpeg.executable())
    return [p for p in processes() if exe in p["cmdline"].split(" ", 1)[0] or p["state"] == "Z"
            if (parent is not None and p["ppid"] == parent) or (mentioning is not None and str(mentioning) in p["cmdline"])]


def temporaries(folder: Path) -> list[Path]:
    return list(folder.rglob(".*.tmp.mp4"))


@pytest.fixture(scope="module")
def long_song(tmp_path_factory) -> Path:
    """30 s of audio: at 160x96 and 10 fps the frame loop runs for a few seconds."""
    return write_audio(tmp_path_factory.mktemp("long") / "long song.ogg", music_like(30.0, 5))


@pytest.fixture(scope="module")
def short_song(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("short") / "short.flac", music_like(3.0, 6))


# -- 3. Ctrl-C and SIGTERM during a render --------------------------------------------------------


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_render_stops_at_once_and_leaves_nothing(tmp_path, long_song, tiny_model, how):
    out = tmp_path / "out"
    target = out / "video.mp4"
    proc = start("render", long_song, "-o", target, "--model", tiny_model, *SMALL)
    try:
        wait_for(lambda: temporaries(out), proc)  # ffmpeg is writing: frames are flowing
        encoders = ffmpegs(parent=proc.pid)
        assert encoders, "no ffmpeg child while the video is being written"
        if how == "ctrl-c":  # a terminal sends SIGINT to the whole foreground group, ffmpeg included
            os.killpg(proc.pid, signal.SIGINT)
        else:  # `kill PID`, a supervisor: SIGTERM to audioviz alone
            proc.send_signal(signal.SIGTERM)
        code, seconds, stderr = finish(proc, timeout=30)
    finally:
        proc.kill()
    assert code == 130, stderr  # 130 for both: stopped cleanly on request
    assert seconds < QUICK_EXIT, f"took {seconds:.2f} s to stop"
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    time.sleep(0.2)
    assert not ffmpegs(mentioning=out), "an ffmpeg outlived audioviz"
    assert not {p["pid"] for p in encoders} & {p["pid"] for p in processes()}
    assert list(out.iterdir()) == [], "a temporary or partial file was left"


def test_an_interrupt_in_the_frame_loop_reaps_ffmpeg(tmp_path, rng):
    """In-process: the KeyboardInterrupt that Ctrl-C raises stops ffmpeg and waits for it, so no
    zombie child is left behind, and the temporary file is gone."""
    from media import render_scene

    from audioviz.config import VideoConfig
    from audioviz.scenes.registry import load_scene

    scene = load_scene("bar")
    draw = scene.draw

    def interrupted(t, dt, values):
        if t > 0.5:
            raise KeyboardInterrupt
        draw(t, dt, values)

    scene.draw = interrupted
    before = {p["pid"] for p in processes() if p["ppid"] == os.getpid()}
    with pytest.raises(KeyboardInterrupt):
        render_scene(scene, rng.random((60, 10), dtype=np.float32), tmp_path / "v.mp4", VideoConfig(160, 96, 30))
    children = [p for p in processes() if p["ppid"] == os.getpid() and p["pid"] not in before]
    assert children == [], children  # neither running nor a zombie
    assert list(tmp_path.iterdir()) == []


# -- 4. ffmpeg dying mid-render -------------------------------------------------------------------


def test_ffmpeg_killed_mid_render_is_reported_and_leaves_nothing(tmp_path, long_song, tiny_model):
    out = tmp_path / "out"
    proc = start("render", long_song, "-o", out / "video.mp4", "--model", tiny_model, *SMALL)
    try:
        wait_for(lambda: temporaries(out), proc)
        encoder = [p for p in ffmpegs(parent=proc.pid) if ".tmp.mp4" in p["cmdline"]]
        assert len(encoder) == 1, encoder
        os.kill(encoder[0]["pid"], signal.SIGKILL)
        code, _, stderr = finish(proc, timeout=30)
    finally:
        proc.kill()
    assert code == 1, stderr
    line = one_error_line(stderr, alone=False)
    assert line == "error: ffmpeg stopped while frames were still coming: killed by signal 9 (SIGKILL)", line
    assert list(out.iterdir()) == []


# -- 5. a full disk, an output folder that cannot be written --------------------------------------


def _limit_file_size(limit: int):
    def set_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


def _tmpfs_possible(folder: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", str(folder)],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("disk", ["file-size-limit", "full-tmpfs"])
def test_a_full_disk_is_one_clear_line_and_leaves_nothing(tmp_path, long_song, tiny_model, disk):
    """The video stops fitting mid-render: an RLIMIT_FSIZE of 32 KB (works anywhere, as root
    too: ffmpeg gets SIGXFSZ), or a real 256 KB tmpfs in a user namespace (ENOSPC; skipped
    where unprivileged namespaces are not allowed)."""
    out = tmp_path / "disk"
    out.mkdir()
    args = ["render", long_song, "-o", out / "video.mp4", "--model", tiny_model, *SMALL]
    if disk == "file-size-limit":
        proc = subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                              preexec_fn=_limit_file_size(32 * 1024), timeout=120)
        code, stderr, left = proc.returncode, proc.stderr, [p.name for p in out.iterdir()]
        why = r"the video outgrew the largest file allowed there \(file size limit, ulimit -f; ffmpeg .*SIGXFSZ"
    else:
        if not _tmpfs_possible(out):
            pytest.skip("cannot mount a small tmpfs here (unprivileged user namespaces are not allowed)")
        script = ('d="$1"; shift; mount -t tmpfs -o size=256k tmpfs "$d" && "$@"; code=$?; '
                  'echo "left: $(ls -A "$d" | tr "\\n" " ")" >&2; exit $code')
        proc = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(out), sys.executable, "-m", "audioviz",
                               *map(str, args)], capture_output=True, text=True, timeout=120)
        code, stderr = proc.returncode, proc.stderr
        left = stderr.rsplit("left:", 1)[1].split()
        stderr = stderr.rsplit("left:", 1)[0]
        why = r"no space left on its disk \(ffmpeg .*No space left on device"
    assert code == 1, stderr
    line = one_error_line(stderr, alone=False)
    assert re.match(rf"error: {re.escape(str(out / 'video.mp4'))}: {why}", line), line
    assert left == [], "a temporary or partial file was left"


def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(tmp_path, short_song, tiny_model):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    r = cli("render", short_song, "-o", blocker / "videos" / "v.mp4", "--model", tiny_model, *SMALL)
    assert r.exit_code == 1
    assert r.stderr == f"error: {blocker / 'videos' / 'v.mp4'}: cannot write there ({blocker} is a file, not a folder)\n"
    (tmp_path / "folder").mkdir()
    r = cli("render", short_song, "-o", tmp_path / "folder", "--model", tiny_model, *SMALL)
    assert r.exit_code == 1 and "is a folder; give the video's file name" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "folder"] and not any((tmp_path / "folder").iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway: "
                    "the path-through-a-file and disk-full tests cover root")
def test_a_read_only_output_folder_is_refused_before_any_work(tmp_path, short_song, tiny_model):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        r = cli("render", short_song, "-o", folder / "v.mp4", "--model", tiny_model, *SMALL)
        assert r.exit_code == 1 and r.stderr == f"error: {folder / 'v.mp4'}: cannot write there (permission denied)\n"
        r = cli("batch", short_song.parent, "-o", folder / "videos", "--model", tiny_model, *TINY)
        assert r.exit_code == 3 and "cannot write there" in r.stderr, r.stderr
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


# -- 5 and 12 in batch: go on past one file's output problem, stop on the machine's -----------------


@pytest.fixture
def three_tracks(tmp_path) -> Path:
    root = tmp_path / "in"
    for i, rel in enumerate(("000/a.ogg", "001/b.ogg", "001/c.ogg")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_audio(root / rel, music_like(3.0, i))
    return root


def rows_of(path: Path) -> dict[str, dict]:
    return {row["input"]: row for row in read_report(path)}


def test_batch_goes_on_when_one_output_folder_is_blocked(tmp_path, three_tracks, tiny_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "000").write_text("a file where a folder of videos should go")
    r = cli("batch", three_tracks, "-o", out, "--model", tiny_model, "--jobs", 1, *TINY)
    assert r.exit_code == 1, r.stderr  # some failed
    rows = rows_of(out / "report.csv")
    assert rows["000/a.ogg"]["status"] == "failed"
    assert rows["000/a.ogg"]["reason"] == f"{out / '000' / 'a.mp4'}: cannot write there ({out / '000'} is a file, not a folder)"
    assert [rows[k]["status"] for k in ("001/b.ogg", "001/c.ogg")] == ["done", "done"]
    assert mp4_complete(out / "001" / "b.mp4") and not temporaries(out)


def test_batch_stops_when_its_output_folder_is_unusable(tmp_path, three_tracks, tiny_model):
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    r = cli("batch", three_tracks, "-o", blocker / "videos", "--model", tiny_model, *TINY)
    assert r.exit_code == 3, r.output
    assert r.stderr == (f"error: {blocker / 'videos'}: cannot write there ({blocker} is a file, not a folder); "
                        "nothing was rendered\n")


def test_batch_stops_on_a_full_disk_with_one_message(tmp_path, three_tracks, tiny_model):
    """Two workers; the first video that outgrows the disk (a 32 KB file size limit) stops the
    batch: the rest are left undone, the report says so, nothing partial is left."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "audioviz", "batch", str(three_tracks), "-o", str(out), "--model",
                           str(tiny_model), "--jobs", "2", "--size", "160x96", "--fps", "10"],
                          capture_output=True, text=True, preexec_fn=_limit_file_size(32 * 1024), timeout=180)
    assert proc.returncode == 3, proc.stderr
    line = one_error_line(proc.stderr, alone=False)
    assert re.match(r"error: batch stopped at 00[01]/[abc]\.ogg: .*\.mp4: the video outgrew the largest file allowed "
                    r"there .*; \d more track\(s\) left undone\. Fix that and run the same command again "
                    r"to resume \(report: .*report\.csv\)$", line), line
    assert "failed " not in proc.stderr  # not one line per track
    rows = rows_of(out / "report.csv")
    statuses = sorted(r["status"] for r in rows.values())
    assert statuses.count("failed") >= 1 and "done" not in statuses, rows
    assert all(r["reason"].startswith("not rendered: the batch stopped at") or r["status"] != "interrupted"
               for r in rows.values()), rows
    assert not temporaries(out) and not list(out.rglob("*.mp4"))
    assert not ffmpegs(mentioning=out)


def test_batch_stops_on_a_fatal_error_of_one_track_in_one_job(tmp_path, three_tracks, tiny_model, monkeypatch):
    """The same with one job, in-process: the disk fills up on the first track."""
    from audioviz.errors import DiskFullError
    from audioviz.session import Renderer

    def full(self, source, output, **options):
        raise DiskFullError(f"{output}: no space left on its disk (ffmpeg failed: No space left on device)")

    monkeypatch.setattr(Renderer, "render", full)
    out = tmp_path / "out"
    r = cli("batch", three_tracks, "-o", out, "--model", tiny_model, "--jobs", 1, "--json", *TINY)
    assert r.exit_code == 3
    assert one_error_line(r.stderr, alone=False).startswith(f"error: batch stopped at 000/a.ogg: {out / '000' / 'a.mp4'}: no space left")
    summary = json.loads(r.stdout)["summary"]
    assert summary == {"done": 0, "skipped": 0, "failed": 1, "interrupted": 2}
    assert [row["status"] for row in read_report(out / "report.csv")] == ["failed", "interrupted", "interrupted"]


@pytest.fixture
def fake_ffmpeg(tmp_path, monkeypatch):
    """Point audioviz at another ffmpeg for one test (the probe's answer is per process: reset)."""
    from audioviz.render import encoder

    def use(exe: str) -> None:
        monkeypatch.setattr(ffmpeg, "executable", lambda: exe)
        encoder.encoder_unavailable.cache_clear()

    yield use
    encoder.encoder_unavailable.cache_clear()


@pytest.mark.parametrize("which", ["missing", "without-x264"])
def test_no_ffmpeg_that_encodes_h264_stops_before_any_work(tmp_path, three_tracks, short_song, tiny_model, fake_ffmpeg,
                                                           which):
    if which == "missing":
        fake_ffmpeg(str(tmp_path / "no-ffmpeg-here"))
        why = f"ffmpeg does not start ({tmp_path / 'no-ffmpeg-here'}: No such file or directory)"
    else:  # a build without libx264: the real ffmpeg, but asking for libx264 fails as such a build does
        script = tmp_path / "ffmpeg-without-x264"
        script.write_text(f'#!/bin/sh\ncase "$*" in *libx264*) echo "Unknown encoder \'libx264\'" >&2; exit 8;; esac\n'
                          f'exec "{ffmpeg.executable()}" "$@"\n')
        script.chmod(0o755)
        fake_ffmpeg(str(script))
        why = f"ffmpeg ({script}) cannot encode H.264 with libx264 (Unknown encoder 'libx264')"
    out = tmp_path / "out"
    r = cli("batch", three_tracks, "-o", out, "--model", tiny_model, *TINY)
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith(f"error: {why}; reinstall imageio-ffmpeg") and r.stderr.endswith("; nothing was rendered\n")
    assert r.stderr.count("\n") == 1 and not out.exists()
    r = cli("render", short_song, "-o", tmp_path / "v.mp4", "--model", tiny_model, *TINY)
    assert r.exit_code == 1 and r.stderr.startswith(f"error: {why}"), r.stderr
    assert not (tmp_path / "v.mp4").exists()


def test_no_gl_stops_a_batch_before_any_work(tmp_path, three_tracks, tiny_model):
    env = {**os.environ, "AUDIOVIZ_LIBEGL": str(tmp_path / "missing" / "libEGL.so.1")}
    proc = subprocess.run([sys.executable, "-m", "audioviz", "batch", str(three_tracks), "-o", str(tmp_path / "out"),
                           "--model", str(tiny_model), *TINY], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    line = one_error_line(proc.stderr, alone=False)
    assert "OpenGL" in line and "apt install" in line and line.endswith("; nothing was rendered"), line
    assert not (tmp_path / "out").exists()


# -- 3 and 12 in batch: Ctrl-C with workers, the summary so far, resuming over broken videos ---------


def cut_frames_keep_boxes(path: Path) -> None:
    """Cut the second half of the media out of an MP4 and mend mdat's size, so its boxes tile
    the file again but its index points past the frames that are left."""
    data = bytearray(path.read_bytes())
    pos = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"mdat":
            keep = (n - 8) // 2
            data[pos : pos + 4] = struct.pack(">I", 8 + keep)
            del data[pos + 8 + keep : pos + n]
            break
        pos += n
    path.write_bytes(bytes(data))
    assert top_level_boxes(path)[-1] == "mdat" and path.stat().st_size == pos + 8 + keep


def test_ctrl_c_stops_a_batch_with_workers_which_resumes_over_broken_videos(tmp_path, tiny_model):
    root, out = tmp_path / "in", tmp_path / "out"
    root.mkdir()
    # b and c long enough that neither can finish between the check below and the signal
    for name, seconds in (("a1", 2.0), ("a2", 2.0), ("b", 120.0), ("c", 120.0)):
        write_audio(root / f"{name}.ogg", music_like(seconds, len(name)))
    args = ["batch", root, "-o", out, "--model", tiny_model, "--size", "160x96", "--fps", "10", "--quiet"]
    proc = start(*args, "--jobs", 2)
    try:
        wait_for(lambda: (out / "a1.mp4").exists() and (out / "a2.mp4").exists() and len(temporaries(out)) == 2, proc)
        children = {p["pid"] for p in processes() if p["ppid"] == proc.pid}  # the workers (and helpers)
        assert len(children) >= 2
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the batch, its workers and their ffmpegs
        code, seconds, stderr = finish(proc, timeout=30)
    finally:
        proc.kill()
    assert code == 130, stderr
    assert seconds < QUICK_EXIT, f"took {seconds:.2f} s to stop"
    assert ("interrupted with 2 rendered, 0 already complete, 0 failed and 2 not done; complete videos are kept, "
            "run the same command again to resume") in stderr, stderr
    deadline = time.monotonic() + 2
    while children & {p["pid"] for p in processes()} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not children & {p["pid"] for p in processes()}, "a worker outlived the batch"
    assert not ffmpegs(mentioning=out), "an ffmpeg outlived the batch"
    assert not temporaries(out)
    # and nothing else, even from the helpers that went last: no worker's traceback, no
    # "Signal 15 ignored due to race condition", no resource tracker's "leaked semaphore objects"
    assert len(stderr_of(proc).strip().splitlines()) == 1, stderr_of(proc)
    rows = rows_of(out / "report.csv")
    assert {k: v["status"] for k, v in rows.items()} == {
        "a1.ogg": "done", "a2.ogg": "done", "b.ogg": "interrupted", "c.ogg": "interrupted"}

    # a2's video gets its frames cut (its boxes whole): not complete, rendered again
    mtime = (out / "a1.mp4").stat().st_mtime_ns
    cut_frames_keep_boxes(out / "a2.mp4")
    assert not mp4_complete(out / "a2.mp4")
    r = cli(*args, "--jobs", 1)
    assert r.exit_code == 0, r.stderr
    rows = rows_of(out / "report.csv")
    assert {k: v["status"] for k, v in rows.items()} == {
        "a1.ogg": "skipped", "a2.ogg": "done", "b.ogg": "done", "c.ogg": "done"}
    assert (out / "a1.mp4").stat().st_mtime_ns == mtime
    assert len(frames(out / "a2.mp4")) == 20 and len(frames(out / "c.mp4")) == 1200


def test_complete_means_every_frame_is_there(tmp_path):
    """What resuming trusts, from the file's structure alone, fast enough for thousands."""
    full = tmp_path / "full.mp4"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10",
                    "-f", "lavfi", "-i", "sine=r=44100", "-t", "3", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-movflags", "+faststart", str(full)], check=True)
    assert mp4_complete(full)
    cut = tmp_path / "cut.mp4"
    shutil.copy(full, cut)
    cut_frames_keep_boxes(cut)
    assert not mp4_complete(cut)
    # a whole file whose video stops before its audio: frames missing at the end (a writer that died)
    short = tmp_path / "short.mp4"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:d=1",
                    "-f", "lavfi", "-i", "sine=r=44100:d=3", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-movflags", "+faststart", str(short)], check=True)
    assert not mp4_complete(short)
    # moov at the end (no faststart) is just as whole; an index that points nowhere is not
    tail = tmp_path / "tail.mp4"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-i", str(full), "-c", "copy", str(tail)], check=True)
    assert top_level_boxes(tail).index("moov") > top_level_boxes(tail).index("mdat") and mp4_complete(tail)
    garbled = bytearray(full.read_bytes())
    at = garbled.index(b"stco") + 12  # the first chunk's offset
    garbled[at : at + 4] = struct.pack(">I", len(garbled) + 1000)
    (tmp_path / "garbled.mp4").write_bytes(bytes(garbled))
    assert not mp4_complete(tmp_path / "garbled.mp4")
    # structural, so quick: a full decode would take tens of milliseconds a file
    t0 = time.perf_counter()
    for _ in range(200):
        mp4_complete(full)
    assert time.perf_counter() - t0 < 1.0


# -- 10. what players and browsers see ----------------------------------------------------------


def h264_vui(path: Path) -> dict[str, int]:
    """The colour description in the H.264 stream's SPS, as ffmpeg's trace_headers reads it."""
    text = subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", "file:" + str(path), "-map", "0:v:0", "-c", "copy",
                           "-bsf:v", "trace_headers", "-frames:v", "1", "-f", "null", "-"],
                          capture_output=True, text=True).stderr
    keys = ("video_full_range_flag", "colour_primaries", "transfer_characteristics", "matrix_coefficients")
    return {k: int(re.search(rf"\b{k}\s+\d+ = (\d+)", text).group(1)) for k in keys}


def colr_box(path: Path) -> tuple[bytes, int, int, int, int]:
    """The MP4 'colr' box: (kind, primaries, transfer, matrix, full range flag)."""
    data = path.read_bytes()
    at = data.index(b"colr") + 4
    kind = data[at : at + 4]
    primaries, transfer, matrix = struct.unpack(">HHH", data[at + 4 : at + 10])
    return kind, primaries, transfer, matrix, data[at + 10] >> 7


def test_the_rendered_video_is_what_players_expect(tmp_path, tiny_model):
    song = write_audio(tmp_path / "song.flac", music_like(3.37, 7))  # flac: exact sample count
    out = tmp_path / "v.mp4"
    r = cli("render", song, "-o", out, "--model", tiny_model, "--size", "160x96", "--fps", "24", "--quiet")
    assert r.exit_code == 0, r.stderr
    v = video_stream(out)
    assert (v["codec"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 160, 96)
    assert v["color"] in ("tv, bt709", "tv, bt709, progressive")  # one name: matrix, primaries, transfer agree
    assert h264_vui(out) == {"video_full_range_flag": 0, "colour_primaries": 1, "transfer_characteristics": 1,
                             "matrix_coefficients": 1}  # limited range, BT.709 in the stream itself
    assert colr_box(out) == (b"nclx", 1, 1, 1, 0)  # ... and in the container
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), "not faststart"
    assert len(frames(out)) == round(3.37 * 24) == 81
    assert abs(audio_seconds(out) - 81 / 24) <= 1 / 24
    assert "Audio: aac" in info(out)


@pytest.mark.parametrize("size,which", [("161x96", "width"), ("160x95", "height")])
def test_an_odd_size_is_refused_with_the_reason(tmp_path, short_song, size, which):
    r = cli("render", short_song, "-o", tmp_path / "v.mp4", "--size", size)
    assert r.exit_code == 1
    assert r.stderr == f"error: video size {size} has an odd {which}; H.264 yuv420p needs even width and height\n"
    assert list(tmp_path.iterdir()) == []


# -- 9. memory stays flat on long input ------------------------------------------------------------


def peak_rss(args: list) -> tuple[int, float]:
    """(peak resident memory in bytes of `audioviz ARGS` run to the end, wall seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "audioviz", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, stderr.decode()
    return usage.ru_maxrss * 1024, time.monotonic() - t0


def test_memory_grows_with_the_audio_not_with_the_frames(tmp_path):
    """1 min against 6 min at 640x360 and 2 fps: the longer render has 600 frames more, 550 MB
    of RGBA were they kept, and 53 MB more of decoded audio (44.1 kHz float32 mono). The peak
    may grow by the audio and what is computed from it (the decoded samples, the analysis
    frontend's padded copy, MFCCs: about 2x the samples today), never by the frames.

    A full-size check (a 60 min track) is benchmarks/long_input_memory.py: too slow for CI, as
    ffmpeg's AAC encoder alone needs a minute or more for an hour of audio."""
    peaks = {}
    for minutes in (1, 6):
        song = tmp_path / f"{minutes}min.wav"
        # white noise: the content that ffmpeg's AAC encoder gets through fastest; 8-bit keeps it small
        subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i",
                        f"anoisesrc=r=44100:a=0.3:d={minutes * 60}", "-c:a", "pcm_u8", str(song)], check=True)
        peaks[minutes], _ = peak_rss(["render", song, "-o", tmp_path / f"{minutes}.mp4", "--model", "ae_shared",
                                      "--size", "640x360", "--fps", "2", "--quiet"])
    audio_growth = 5 * 60 * 44_100 * 4
    frames_growth = 5 * 60 * 2 * 640 * 360 * 4
    growth = peaks[6] - peaks[1]
    assert growth < 3 * audio_growth + 64 * 2**20 < frames_growth, (
        f"peak grew by {growth / 2**20:.0f} MB for {audio_growth / 2**20:.0f} MB more audio")
    assert len(frames(tmp_path / "6.mp4")) == 720
