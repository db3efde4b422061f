"""Nothing lost, nothing hung, never a traceback: a batch's videos each have a name of their own,
its workers run no code from the current folder, a closed stdout or stderr never stops it,
stray lines never reach stderr, a damaged or unusable feature cache is handled, and a second
batch into a busy folder stops with 3.

Processes are real: `audioviz` runs as a subprocess where it matters (pipes, signals, the
current folder), and the report and videos are read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from media import music_like, one_error_line, write_audio
from test_reliability_process import (
    _tmpfs_possible,
    finish,
    processes,
    start,
    stderr_of,
    temporaries,
    wait_for,
)
from typer.testing import CliRunner

from audioviz.batch import LOCK_NAME, FolderLock, mp4_complete, plan_tracks, read_report
from audioviz.cli import app
from audioviz.files import NAME_MAX, temporary_path, temporary_stem

runner = CliRunner()
TINY = ["--size", "64x36", "--fps", "10"]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def statuses(report: Path) -> dict[str, str]:
    return {row["input"]: row["status"] for row in read_report(report)}


def audioviz(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                          timeout=240, **kwargs)


def songs(root: Path, names, seconds: float = 1.5) -> Path:
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_audio(root / name, music_like(seconds, i))
    return root


# -- every input has a video of its own ----------------------------------------------------------


def _key(rel: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", rel).casefold()


def test_every_song_gets_a_video_name_of_its_own_the_same_in_every_sample(tmp_path):
    root = tmp_path / "in"
    long = "x" * 250
    names = ["a.mp3", "a.ogg", "a.mp3.ogg",  # a.mp3 would keep its extension, as a.mp3.ogg loses its own
             "b.ogg", "b.mp4/c.ogg",  # b's video would be the folder that c's video goes in
             "Song.flac", "song.flac",  # one file on a disk that ignores case
             f"{long}1.ogg", f"{long}2.ogg",  # one name once shortened to fit
             "d.ogg", "e/d.ogg"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    tracks, found = plan_tracks(root, tmp_path / "out")
    assert found == len(names) and not any(t.clash for t in tracks)
    out = {t.rel: t.out_rel for t in tracks}
    assert len({_key(o) for o in out.values()}) == len(names), out
    folders = {_key("/".join(o.split("/")[: i + 1])) for o in out.values() for i in range(o.count("/"))}
    assert not folders & {_key(o) for o in out.values()}, out
    assert {k: out[k] for k in ("a.mp3", "a.ogg", "a.mp3.ogg", "b.ogg", "b.mp4/c.ogg", "d.ogg", "e/d.ogg")} == {
        "a.mp3": "a.mp3.mp4", "a.ogg": "a.ogg.mp4", "a.mp3.ogg": "a.mp3.ogg.mp4",
        "b.ogg": "b.ogg.mp4", "b.mp4/c.ogg": "b.mp4/c.mp4", "d.ogg": "d.mp4", "e/d.ogg": "e/d.mp4"}
    for t in tracks:
        assert t.out_rel.endswith(".mp4") and t.output == tmp_path / "out" / t.out_rel
        # its temporary name fits unshortened, so no two videos' temporaries look alike
        assert len(os.fsencode(temporary_path(t.output).name)) <= NAME_MAX
        assert temporary_stem(t.output) == t.output.stem
    # a sample names each video as the whole folder does
    for rel in names:
        sample, _ = plan_tracks(root, tmp_path / "out", include=(rel.rsplit("/", 1)[-1],))
        assert [t.out_rel for t in sample if t.rel == rel] == [out[rel]]
    sample, _ = plan_tracks(root, tmp_path / "out", shuffle=True, seed=3, limit=4)
    assert all(t.out_rel == out[t.rel] for t in sample)


def test_videos_that_cannot_be_told_apart_fail_before_rendering_and_the_rest_render(tmp_path, tiny_model):
    root = songs(tmp_path / "in", ["a.mp3", "a.ogg", "a.mp3.ogg", "b.ogg", "b.mp4/c.ogg", "report.csv/r.ogg"])
    out = tmp_path / "out"
    r = cli("batch", root, "-o", out, "--model", tiny_model, "--jobs", 1, *TINY)
    assert r.exit_code == 1, r.stderr  # one failed
    rows = {row["input"]: row for row in read_report(out / "report.csv")}
    clash = rows.pop("report.csv/r.ogg")
    assert clash["status"] == "failed" and clash["seconds"] == "0.0", clash
    assert clash["reason"] == "its video would go inside report.csv (the batch's report); rename that folder"
    assert f"failed report.csv/r.ogg: {clash['reason']}" in r.stderr
    assert {k: (v["status"], v["output"]) for k, v in rows.items()} == {
        "a.mp3": ("done", "a.mp3.mp4"), "a.ogg": ("done", "a.ogg.mp4"), "a.mp3.ogg": ("done", "a.mp3.ogg.mp4"),
        "b.ogg": ("done", "b.ogg.mp4"), "b.mp4/c.ogg": ("done", "b.mp4/c.mp4")}
    assert all(mp4_complete(out / v["output"]) for v in rows.values())
    videos = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4") if p.is_file())
    assert videos == sorted(v["output"] for v in rows.values())
    # a sample finds the very videos the whole folder made
    r = cli("batch", root, "-o", out, "--model", tiny_model, "--include", "a.mp3", *TINY, "--json")
    assert r.exit_code == 0, r.stderr
    assert statuses(out / "report.csv") == {"a.mp3": "skipped"}


def test_a_fifo_or_a_folder_at_a_videos_path_fails_that_track_and_stays(tmp_path, tiny_model):
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg", "c.ogg"])
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "b.mp4")
    (out / "c.mp4").mkdir()
    r = cli("batch", root, "-o", out, "--model", tiny_model, "--jobs", 1, *TINY, "--quiet")
    assert r.exit_code == 1, r.stderr
    rows = {row["input"]: row for row in read_report(out / "report.csv")}
    assert rows["a.ogg"]["status"] == "done" and mp4_complete(out / "a.mp4")
    assert rows["b.ogg"]["status"] == "failed" and "is not a regular file" in rows["b.ogg"]["reason"], rows
    assert rows["c.ogg"]["status"] == "failed" and "is a folder" in rows["c.ogg"]["reason"], rows
    assert (out / "b.mp4").is_fifo() and (out / "c.mp4").is_dir() and not any((out / "c.mp4").iterdir())
    assert not temporaries(out)


# -- workers run only audioviz's code --------------------------------------------------------------


@pytest.mark.parametrize("how", ["python -m audioviz", "console script"])
def test_batch_workers_import_nothing_from_the_current_folder(tmp_path, tiny_model, how):
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg"])
    here = tmp_path / "here"
    here.mkdir()
    for module in ("signal", "multiprocessing", "numpy", "torch"):
        marker = tmp_path / f"{module}-ran"
        (here / f"{module}.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('{module}.py ran')\n")
    command = [sys.executable, "-m", "audioviz"] if how == "python -m audioviz" else [
        str(Path(sys.executable).parent / "audioviz")]
    if not Path(command[0]).exists():
        pytest.skip("no console script next to this interpreter")
    proc = subprocess.run([*command, "batch", str(root), "-o", str(tmp_path / "out"), "--model", str(tiny_model),
                           "--jobs", "2", *TINY, "--quiet"], capture_output=True, text=True, cwd=here, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*-ran")) and "ran" not in proc.stderr, proc.stderr
    assert statuses(tmp_path / "out" / "report.csv") == {"a.ogg": "done", "b.ogg": "done"}


# -- a closed stdout or stderr never stops the work ----------------------------------------------------


@pytest.mark.parametrize("output", ["read one line, then closed", "closed from the start"])
def test_a_batch_whose_output_is_gone_renders_everything(tmp_path, tiny_model, output):
    """`audioviz batch ... 2>&1 | head -1`, and `audioviz batch ... >&- 2>&-`: every track still
    renders in both workers, the report is right and the exit status is the run's (1: one bad file)."""
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg", "c.ogg"])
    (root / "d.mp3").write_bytes(b"")
    out = tmp_path / "out"
    args = ["batch", root, "-o", out, "--model", tiny_model, "--jobs", 2, *TINY]
    if output == "closed from the start":
        closed = ["sh", "-c", 'exec "$@" >&- 2>&-', "sh"]
        proc = subprocess.run([*closed, sys.executable, "-m", "audioviz", *map(str, args)], timeout=240)
        code = proc.returncode
    else:
        proc = subprocess.Popen([sys.executable, "-m", "audioviz", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            assert proc.stdout.readline()
            proc.stdout.close()
            code = proc.wait(timeout=240)
        finally:
            proc.kill()
    assert code == 1
    assert statuses(out / "report.csv") == {"a.ogg": "done", "b.ogg": "done", "c.ogg": "done", "d.mp3": "failed"}
    assert all(mp4_complete(out / f"{n}.mp4") for n in "abc")


# -- nothing on stderr but `warning:`, `error:` and the summary --------------------------------------


def test_python_warnings_are_one_warning_line_each_once(tmp_path):
    code = ("from audioviz.console import setup\nsetup()\nimport numpy as np, warnings\n"
            "for _ in range(3):\n    np.float32(1) / np.float32(0)\n    warnings.warn('two\\n  lines')\n"
            "np.log(np.float32(-1))\nwarnings.warn('two lines', DeprecationWarning)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ("warning: divide by zero encountered in scalar divide\nwarning: two lines\n"
                           "warning: invalid value encountered in log\n"), proc.stderr


def test_a_batch_killed_with_9_leaves_no_stray_line(tmp_path, tiny_model):
    """Workers die with the batch (PR_SET_PDEATHSIG); multiprocessing's resource tracker, the
    last to go, finds no named semaphore to call leaked."""
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg"], seconds=120.0)
    out = tmp_path / "out"
    proc = start("batch", root, "-o", out, "--model", tiny_model, "--jobs", 2, "--size", "160x96", "--fps", "10")
    try:
        wait_for(lambda: len(temporaries(out)) == 2, proc)
        children = {p["pid"] for p in processes() if p["ppid"] == proc.pid}  # workers and the resource tracker
        assert len(children) >= 3, children
        os.kill(proc.pid, signal.SIGKILL)
        finish(proc, timeout=10)
        deadline = time.monotonic() + 30
        while children & {p["pid"] for p in processes() if p["state"] != "Z"} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not children & {p["pid"] for p in processes() if p["state"] != "Z"}, "a worker outlived the batch"
    finally:
        proc.kill()
    stray = [ln for ln in stderr_of(proc).splitlines() if ln.strip() and not ln.startswith(("warning: ", "error: "))]
    assert stray == [], stderr_of(proc)


def test_a_worker_killed_with_9_fails_its_track_alone(tmp_path, tiny_model):
    """The batch sees the worker's pipe close and its process end: that track fails, a new
    worker takes the tracks left, and the batch ends as usual."""
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg", "c.ogg"])
    write_audio(root / "long.ogg", music_like(120.0, 9))
    out = tmp_path / "out"
    proc = start("batch", root, "-o", out, "--model", tiny_model, "--jobs", 2, "--size", "160x96", "--fps", "10")
    try:
        wait_for(lambda: any(p.name.startswith(".long.") for p in temporaries(out)), proc)
        encoder = [p for p in processes() if ".long." in p["cmdline"] and ".tmp.mp4" in p["cmdline"]]
        assert len(encoder) == 1, encoder
        os.kill(encoder[0]["ppid"], signal.SIGKILL)  # the worker, not its ffmpeg
        code, _, stderr = finish(proc, timeout=120)
    finally:
        proc.kill()
    assert code == 1, stderr
    rows = {row["input"]: row for row in read_report(out / "report.csv")}
    assert rows.pop("long.ogg")["reason"] == "the worker rendering it died (signal 9)"
    assert {k: v["status"] for k, v in rows.items()} == {"a.ogg": "done", "b.ogg": "done", "c.ogg": "done"}
    assert stderr.splitlines()[-1].startswith("batch of 4 tracks: 3 rendered, 0 already complete, 1 failed"), stderr
    assert all(ln.startswith(("rendered ", "failed long.ogg: ", "batch of ")) for ln in stderr.splitlines()), stderr


# -- a busy output folder --------------------------------------------------------------------------


def test_a_second_batch_into_a_busy_folder_stops_with_3_and_touches_nothing(tmp_path, tiny_model):
    root = songs(tmp_path / "in", ["a.ogg"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.csv").write_text("the running batch's\n")
    with FolderLock(out):
        r = cli("batch", root, "-o", out, "--model", tiny_model, *TINY)
    assert r.exit_code == 3, r.output
    assert r.stderr == f"error: {out}: another batch is writing into this folder right now; nothing was rendered\n"
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "report.csv"]
    assert (out / "report.csv").read_text() == "the running batch's\n"


# -- the feature cache -------------------------------------------------------------------------------


def cache_entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file() or p.is_fifo())


def test_damaged_cache_entries_are_extracted_again_with_a_warning(tmp_path, tiny_model):
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg", "c.ogg"], seconds=3.0)
    env = {**os.environ, "AUDIOVIZ_CACHE": str(tmp_path / "cache")}
    first = audioviz("fit", root, "--model", tiny_model, "-o", tmp_path / "m1", "--quiet", env=env)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    entries = cache_entries(tmp_path / "cache")
    assert len(entries) == 3
    good = [np.load(e) for e in entries]
    entries[0].write_bytes(b"")  # what a crash after the rename left, before the fsync existed
    entries[1].write_bytes(entries[1].read_bytes()[:100])  # cut short
    entries[2].unlink()
    os.mkfifo(entries[2])  # would be read forever
    again = audioviz("fit", root, "--model", tiny_model, "-o", tmp_path / "m2", "--quiet", env=env)
    assert again.returncode == 0, again.stderr
    lines = again.stderr.splitlines()
    assert len(lines) == 3 and all(ln.startswith("warning: feature cache ") and "extracting it again" in ln
                                   for ln in lines), again.stderr
    assert cache_entries(tmp_path / "cache") == entries  # rebuilt in place, no temporary left
    assert all(np.array_equal(np.load(e), g) for e, g in zip(entries, good))
    with np.load(tmp_path / "m1.npz") as m1, np.load(tmp_path / "m2.npz") as m2:
        assert sorted(m1.files) == sorted(m2.files) and all(np.array_equal(m1[k], m2[k]) for k in m1.files)


def test_a_batch_fitted_on_itself_rebuilds_a_damaged_entry(tmp_path, tiny_model):
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg"], seconds=6.0)
    env = {**os.environ, "AUDIOVIZ_CACHE": str(tmp_path / "cache")}
    assert audioviz("fit", root, "--model", tiny_model, "-o", tmp_path / "m", "--quiet", env=env).returncode == 0
    cache_entries(tmp_path / "cache")[0].write_bytes(b"")
    proc = audioviz("batch", root, "-o", tmp_path / "out", "--model", tiny_model, "--fit-on-batch", "--jobs", 1,
                    *TINY, "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("warning: feature cache ") and proc.stderr.count("\n") == 1, proc.stderr
    assert statuses(tmp_path / "out" / "report.csv") == {"a.ogg": "done", "b.ogg": "done"}


def run_with_cache(place: Path, full: bool, *args) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`audioviz ARGS` with its feature cache in `place`, and the files found there after it;
    `full`: `place` is a tmpfs filled up first (in a user namespace), as a disk with no room left."""
    env = {**os.environ, "AUDIOVIZ_CACHE": str(place / "cache" if full else place)}
    command = [sys.executable, "-m", "audioviz", *map(str, args)]
    if full:
        script = ('d="$1"; shift; mount -t tmpfs -o size=64k tmpfs "$d" && '
                  '{ cat /dev/zero 2>/dev/null > "$d/filler"; "$@"; }; code=$?; '
                  'echo "left: $(cd "$d" && find . -type f ! -name filler | tr "\\n" " ")" >&2; exit $code')
        command = ["unshare", "-rm", "sh", "-c", script, "sh", str(place), *command]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    if full:
        proc.stderr, left = proc.stderr.rsplit("left:", 1)
        return proc, left.split()
    return proc, sorted(str(p.relative_to(place)) for p in place.rglob("*") if p.is_file()) if place.is_dir() else []


@pytest.mark.parametrize("cache", ["a file", "read-only", "full"])
def test_an_unusable_cache_is_one_error_line_and_leaves_nothing(tmp_path, tiny_model, cache):
    """`fit` exits 1; a batch that fits on itself meets it before any track: it stops with 3."""
    root = songs(tmp_path / "in", ["a.ogg", "b.ogg"], seconds=6.0)
    place = tmp_path / "cache"
    if cache == "a file":
        place.write_text("not a folder")
        why = f"{place} is a file, not a folder"
    elif cache == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder anyway")
        place.mkdir(0o555)
        why = "permission denied"
    else:
        place.mkdir()
        if not _tmpfs_possible(place):
            pytest.skip("cannot mount a small tmpfs here (unprivileged user namespaces are not allowed)")
        why = "No space left on device"
    try:
        fit, fit_left = run_with_cache(place, cache == "full", "fit", root, "--model", tiny_model, "-o", tmp_path / "m",
                                       "--quiet")
        batch, batch_left = run_with_cache(place, cache == "full", "batch", root, "-o", tmp_path / "out", "--model",
                                           tiny_model, "--fit-on-batch", *TINY, "--quiet")
    finally:
        place.chmod(0o755)
    assert fit.returncode == 1, fit.stderr
    line = one_error_line(fit.stderr)
    assert line.startswith("error: feature cache ") and f"cannot write there ({why})" in line, line
    assert line.endswith("set AUDIOVIZ_CACHE to another folder, or pass --no-cache"), line
    assert not list(tmp_path.glob("m.*"))
    assert batch.returncode == 3, batch.stderr
    line = one_error_line(batch.stderr)
    assert f"cannot write there ({why})" in line and line.endswith("; nothing was rendered"), line
    assert statuses(tmp_path / "out" / "report.csv") == {"a.ogg": "interrupted", "b.ogg": "interrupted"}
    assert not list((tmp_path / "out").rglob("*.mp4")) and not list((tmp_path / "out").glob("mapping.*"))
    assert fit_left == batch_left == []  # no entry, no temporary file
