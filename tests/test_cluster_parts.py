"""The parts of `audioviz batch --cluster` that need no Ray cluster, and the dry run's estimate.

- publish.py: a video published once when attempts race for it, by a hard link, by a claim
  (--overwrite, or a filesystem without hard links), across runs, and the claims cleaned up;
- cluster.py: ClusterConfig's checks, how many jobs a node holds, which address a batch
  connects to (RAY_ADDRESS, the note `ray start` leaves), settings made absolute for actors,
  and the one-line errors when Ray is missing or the cluster does not answer;
- estimate.py: the throughput a local batch stores and a dry run reads back (through the CLI,
  on real songs), the extrapolation from a sample, and the results that store nothing.

tests/test_cluster.py covers the same batch on a real Ray cluster.
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from media import music_like, one_error_line, write_audio
from typer.testing import CliRunner

from audioviz.batch import estimate
from audioviz.batch.cluster import (
    INSTALL_HINT,
    Cluster,
    ClusterConfig,
    Node,
    _local_cluster,
    _resolve,
    _unreachable,
    absolute_config,
)
from audioviz.batch.plan import Track
from audioviz.batch.publish import CLAIMS_NAME, Publisher, remove_stale_claims
from audioviz.batch.report import DONE, FAILED, SKIPPED, BatchResult, TrackResult
from audioviz.cli import app
from audioviz.config import MappingConfig, RenderConfig, VideoConfig
from audioviz.errors import (
    ConfigError,
    MissingDependencyError,
    OutputError,
    PublishedElsewhereError,
)
from audioviz.files import atomic_write

runner = CliRunner()
FAST = ["--size", "64x36", "--fps", "10"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def temporaries(folder: Path) -> list[Path]:
    """What files.temporary_path names beside a video and nothing removed."""
    return sorted(folder.glob(".*.tmp.*"))


def attempt(folder: Path, name: str, data: bytes) -> Path:
    """One attempt's finished copy, beside the video as a batch writes it."""
    p = folder / f".video.{name}.tmp.mp4"
    p.write_bytes(data)
    return p


# -- publishing once ----------------------------------------------------------------------------


def test_without_overwrite_the_first_hard_link_wins(tmp_path):
    pub = Publisher.for_run(tmp_path, overwrite=False)
    target = tmp_path / "video.mp4"
    pub(attempt(tmp_path, "a", b"first"), target)
    assert target.read_bytes() == b"first"
    with pytest.raises(PublishedElsewhereError, match="another attempt put its video there first"):
        pub(attempt(tmp_path, "b", b"second"), target)
    assert target.read_bytes() == b"first"
    # links work here: no claim is needed for that
    assert list(pub.claims.iterdir()) == []

    # an attempt of an earlier run counts too: a new run without --overwrite never replaces it
    with pytest.raises(PublishedElsewhereError):
        Publisher.for_run(tmp_path, overwrite=False)(attempt(tmp_path, "c", b"third"), target)
    assert target.read_bytes() == b"first"


def test_without_overwrite_through_atomic_write_the_loser_leaves_nothing(tmp_path):
    pub = Publisher.for_run(tmp_path, overwrite=False)
    target = tmp_path / "sub" / "video.mp4"
    with atomic_write(target, "video", pub) as tmp:
        tmp.write_bytes(b"first")
    assert target.read_bytes() == b"first"
    assert temporaries(target.parent) == []  # the winner's link name goes, its data stays

    with pytest.raises(PublishedElsewhereError):
        with atomic_write(target, "video", pub) as tmp:
            tmp.write_bytes(b"second")
    assert target.read_bytes() == b"first"
    assert temporaries(target.parent) == []
    assert sorted(p.name for p in target.parent.iterdir()) == ["video.mp4"]


def test_with_overwrite_one_claim_per_run_replaces_the_old_video(tmp_path, monkeypatch):
    target = tmp_path / "video.mp4"
    target.write_bytes(b"old run's video")
    first_run = Publisher.for_run(tmp_path, overwrite=True)
    first_run(attempt(tmp_path, "a", b"new"), target)
    assert target.read_bytes() == b"new"
    assert len(list(first_run.claims.iterdir())) == 1

    late = attempt(tmp_path, "b", b"late")
    with pytest.raises(PublishedElsewhereError):
        first_run(late, target)
    assert target.read_bytes() == b"new"
    # the claim is by the absolute path: another spelling of the same video is the same claim
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PublishedElsewhereError):
        first_run(late, Path("video.mp4"))
    assert target.read_bytes() == b"new"

    second_run = Publisher.for_run(tmp_path, overwrite=True)
    assert second_run.claims != first_run.claims
    second_run(attempt(tmp_path, "c", b"newer"), target)
    assert target.read_bytes() == b"newer"

    claims = tmp_path / CLAIMS_NAME
    first_run.close()
    assert not first_run.claims.exists() and claims.is_dir()  # the other run's claims stay
    second_run.close()
    assert not claims.exists()
    second_run.close()  # twice is harmless: a batch closes in its finally


def test_stale_claims_of_a_killed_run_are_removed(tmp_path):
    killed = Publisher.for_run(tmp_path, overwrite=True)
    killed(attempt(tmp_path, "a", b"x"), tmp_path / "video.mp4")
    assert (tmp_path / CLAIMS_NAME).is_dir()
    remove_stale_claims(tmp_path)
    assert not (tmp_path / CLAIMS_NAME).exists()
    assert (tmp_path / "video.mp4").read_bytes() == b"x"
    remove_stale_claims(tmp_path)  # none there: nothing to do, no error


def test_without_hard_links_a_claim_publishes_once(tmp_path, monkeypatch):
    calls = []

    def no_links(src, dst, *args, **kwargs):
        calls.append(dst)
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    pub = Publisher.for_run(tmp_path, overwrite=False)
    target = tmp_path / "video.mp4"
    with atomic_write(target, "video", pub) as tmp:
        tmp.write_bytes(b"first")
    assert calls == [target] and target.read_bytes() == b"first"
    assert len(list(pub.claims.iterdir())) == 1
    with pytest.raises(PublishedElsewhereError):
        with atomic_write(target, "video", pub) as tmp:
            tmp.write_bytes(b"second")
    assert len(calls) == 2 and target.read_bytes() == b"first"
    assert temporaries(tmp_path) == []
    pub.close()
    assert not (tmp_path / CLAIMS_NAME).exists()


def test_another_link_failure_is_the_outputs_error_not_a_claim(tmp_path, monkeypatch):
    def denied(src, dst, *args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "link", denied)
    pub = Publisher.for_run(tmp_path, overwrite=False)
    target = tmp_path / "video.mp4"
    with pytest.raises(OutputError, match="cannot put the finished video there \\(Permission denied\\)") as e:
        with atomic_write(target, "video", pub) as tmp:
            tmp.write_bytes(b"data")
    assert not isinstance(e.value, PublishedElsewhereError)
    assert not target.exists() and temporaries(tmp_path) == []
    assert list(pub.claims.iterdir()) == []


# -- the cluster's settings ---------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,message", [
    ({"cpus_per_job": 0}, "--cpus-per-job 0: give a number of CPUs above 0"),
    ({"cpus_per_job": -1}, "--cpus-per-job -1: give a number of CPUs above 0"),
    ({"cpus_per_job": math.nan}, "--cpus-per-job nan: give a number of CPUs above 0"),
    ({"cpus_per_job": math.inf}, "--cpus-per-job inf: give a number of CPUs above 0"),
    ({"gpus_per_job": -0.5}, "--gpus-per-job -0.5: give 0 or more GPUs"),
    ({"gpus_per_job": math.nan}, "--gpus-per-job nan: give 0 or more GPUs"),
    ({"gpus_per_job": 1.5}, "--gpus-per-job 1.5: above 1, give a whole number of GPUs"),
    ({"retries": -1}, "--retries -1: give 0 or more"),
    ({"address": ""}, "--cluster: give ray, auto, or the cluster's address"),
    ({"address": "   "}, "--cluster: give ray, auto, or the cluster's address"),
])
def test_cluster_config_refuses_what_cannot_work(kwargs, message):
    with pytest.raises(ConfigError) as e:
        ClusterConfig(**kwargs)
    assert str(e.value).startswith(message), str(e.value)


def test_cluster_config_takes_fractions_and_whole_gpus():
    c = ClusterConfig("ray://head:10001", cpus_per_job=0.5, gpus_per_job=2, retries=0)
    assert (c.address, c.cpus_per_job, c.gpus_per_job, c.retries) == ("ray://head:10001", 0.5, 2, 0)
    assert ClusterConfig(gpus_per_job=0.25).gpus_per_job == 0.25
    assert ClusterConfig(gpus_per_job=1).gpus_per_job == 1
    assert ClusterConfig() == ClusterConfig("ray", 2.0, 0.0, 2)


@pytest.mark.parametrize("node,job,room", [
    (Node("h", 16, 1), ClusterConfig(cpus_per_job=2, gpus_per_job=0.25), 4),  # GPUs limit
    (Node("h", 3, 4), ClusterConfig(cpus_per_job=2, gpus_per_job=1), 1),  # CPUs limit
    (Node("h", 8, 1), ClusterConfig(cpus_per_job=2, gpus_per_job=0.25), 4),  # both at once
    (Node("h", 8, 0), ClusterConfig(cpus_per_job=2, gpus_per_job=0), 4),  # no GPUs, none asked
    (Node("h", 8, 0), ClusterConfig(cpus_per_job=2, gpus_per_job=0.5), 0),  # GPUs asked, none there
    (Node("h", 1, 0), ClusterConfig(cpus_per_job=2), 0),
    (Node("h", 0.3, 0), ClusterConfig(cpus_per_job=0.1), 3),  # 0.3 / 0.1 is 2.999... in floats
    (Node("h", 4, 2), ClusterConfig(cpus_per_job=1, gpus_per_job=2), 1),
])
def test_room_on_a_node(node, job, room):
    assert node.room(job) == room


@pytest.fixture
def ray_env(tmp_path, monkeypatch):
    """RAY_ADDRESS unset, and Ray's temporary folder (where `ray start` leaves its note) a new one."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    note = tmp_path / "ray" / "ray_current_cluster"
    note.parent.mkdir()
    return note


def test_which_ray_a_batch_connects_to(ray_env, monkeypatch):
    note = ray_env
    assert _resolve("ray") == "local" and _resolve("auto") == "local"  # no note: a Ray for this batch

    with socket.create_server(("127.0.0.1", 0)) as head:
        address = f"127.0.0.1:{head.getsockname()[1]}"
        note.write_text(address + "\n", encoding="utf-8")
        assert _local_cluster() == address
        assert _resolve("ray") == address and _resolve("auto") == address

        monkeypatch.setenv("RAY_ADDRESS", " ray://elsewhere:10001 ")
        assert _resolve("auto") == "ray://elsewhere:10001"
        assert _resolve("ray") == address  # "ray" is this machine's, whatever RAY_ADDRESS says
        assert _resolve("10.0.0.1:6379") == "10.0.0.1:6379"
        assert _resolve("ray://head:10001") == "ray://head:10001"
        monkeypatch.setenv("RAY_ADDRESS", "   ")
        assert _resolve("auto") == address

    # the note outlives the Ray it names: nothing answers there any more
    assert _local_cluster() is None
    assert _resolve("ray") == "local" and _resolve("auto") == "local"
    note.write_text("", encoding="utf-8")
    assert _resolve("ray") == "local"
    note.write_bytes(b"\xff\xfe not text")
    assert _resolve("ray") == "local"


def test_why_nothing_answers_at_an_address():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert _unreachable(f"127.0.0.1:{port}") == ""
        assert _unreachable(f"ray://127.0.0.1:{port}/") == ""
    assert _unreachable(f"127.0.0.1:{port}", timeout=1) == "Connection refused"
    for bad in ("nonsense", "head:", ":6379", "ray://:10001", "127.0.0.1: 1"):
        assert _unreachable(bad) == "give it as HOST:PORT or ray://HOST:PORT", bad


def test_a_port_out_of_range_is_said_to_be_wrong():
    for bad in ("127.0.0.1:99999999999999999999", "127.0.0.1:70000", "127.0.0.1:0"):
        assert _unreachable(bad) == "give it as HOST:PORT or ray://HOST:PORT", bad


def test_files_named_in_the_settings_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    for name in ("models/mine.pt", "fitted.npz", "my_scene.py"):
        (tmp_path / name).write_bytes(b"x")
    config = RenderConfig(model="models/mine.pt", scene="my_scene.py", mapping=MappingConfig(fit="fitted.npz"),
                          video=VideoConfig(64, 36, 10), seed=7)
    got = absolute_config(config)
    here = Path.cwd()
    assert got.model == str(here / "models" / "mine.pt")
    assert got.scene == str(here / "my_scene.py")
    assert got.mapping.fit == str(here / "fitted.npz")
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in (got.model, got.scene, got.mapping.fit))
    assert replace(got, model=config.model, scene=config.scene, mapping=config.mapping) == config

    # names of what audioviz bundles are left as given
    plain = RenderConfig(model="ae_shared", scene="bar", mapping=MappingConfig(fit="model"))
    assert absolute_config(plain) == plain
    assert absolute_config(replace(plain, mapping=MappingConfig(fit="track"))).mapping.fit == "track"


def test_names_stay_names_when_a_file_of_that_name_is_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("ae_shared", "bar", "model"):
        (tmp_path / name).write_bytes(b"x")
    plain = RenderConfig(model="ae_shared", scene="bar", mapping=MappingConfig(fit="model"))
    assert absolute_config(plain) == plain


# -- Ray missing, the cluster unreachable, options that need another --------------------------


@pytest.fixture(scope="module")
def one_song(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_song")
    write_audio(root / "song.ogg", music_like(2.0, 5))
    return root


def test_without_ray_the_cluster_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(MissingDependencyError) as e:
        Cluster(ClusterConfig())
    assert INSTALL_HINT == "pip install 'audioviz[cluster]'"
    assert str(e.value) == f"--cluster needs Ray, which is not installed: {INSTALL_HINT}"


def test_batch_on_a_cluster_without_ray_is_one_line(one_song, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "out"
    r = run("batch", one_song, "-o", out, "--cluster", "ray", *FAST)
    assert r.exit_code != 0 and r.exit_code in (1, 2, 3), r.output
    line = one_error_line(r.stderr)
    assert "pip install 'audioviz[cluster]'" in line and line.startswith("error: --cluster needs Ray")
    assert r.stdout == "" and not out.exists()


@pytest.mark.parametrize("args,message", [
    (["--cpus-per-job", "1"], "--cpus-per-job applies to a batch on a cluster only; add --cluster"),
    (["--gpus-per-job", "0.5"], "--gpus-per-job applies to a batch on a cluster only; add --cluster"),
    (["--retries", "0"], "--retries applies to a batch on a cluster only; add --cluster"),
    (["--throughput", "2"], "--throughput is for the estimate of --dry-run; add --dry-run"),
])
def test_options_that_need_another_exit_2(one_song, tmp_path, args, message):
    out = tmp_path / "out"
    r = run("batch", one_song, "-o", out, *args, *FAST)
    assert r.exit_code == 2, r.output
    assert one_error_line(r.stderr) == f"error: {message}"
    assert not out.exists()


def test_an_unreachable_cluster_stops_before_any_work(one_song, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run("batch", one_song, "-o", out, "--cluster", "127.0.0.1:1", *FAST)
    assert r.exit_code == 3, r.output
    line = one_error_line(r.stderr)
    assert line.startswith("error: cannot reach the Ray cluster at 127.0.0.1:1 (")
    assert line.endswith("; nothing was rendered") and line.count("nothing was rendered") == 1
    assert not out.exists()
    assert time.monotonic() - t0 < 30  # said at once, not after Ray's own minute of retries


# -- throughput and the dry run -----------------------------------------------------------------


def store_entry(gl_renderer: str) -> dict:
    """The stored figure for `--size 64x36 --fps 10` and the default scene and encoder here."""
    from audioviz.render.encoder import resolve_codec

    config = RenderConfig(video=VideoConfig(64, 36, 10))
    config = replace(config, encoder=replace(config.encoder, codec=resolve_codec(config.encoder.codec)))
    data = json.loads(estimate._store().read_text(encoding="utf-8"))
    return data[estimate.machine_kind(gl_renderer)][estimate.settings_key(config)]


def this_gl_renderer() -> str:
    from audioviz.render.context import gl_context, renderer

    with gl_context() as ctx:
        return renderer(ctx)


def test_a_local_batch_stores_its_throughput_and_the_dry_run_uses_it(tmp_path):
    from audioviz.audio import probe

    songs, out = tmp_path / "in", tmp_path / "out"
    songs.mkdir()
    for i, name in enumerate(("a.ogg", "b.ogg")):
        write_audio(songs / name, music_like(3.0, i))
    r = run("batch", songs, "-o", out, "--jobs", 1, "--json", "--quiet", *FAST)
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["summary"]["done"] == 2 and result["jobs"] == 1
    audio = sum(t["audio_seconds"] for t in result["tracks"])
    assert audio == pytest.approx(6.0, abs=0.05)

    stored = store_entry(this_gl_renderer())
    assert stored == {"per_job": round(audio / result["seconds"] / 1, 4), "jobs": 1, "tracks": 2,
                      "measured": time.strftime("%Y-%m-%d")}
    per_job = stored["per_job"]
    assert per_job > 0

    # a third song and a file that only looks like audio; the two rendered ones are complete
    write_audio(songs / "c.wav", music_like(5.0, 2))
    (songs / "d.mp3").write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)
    third = probe(songs / "c.wav").duration
    assert third == pytest.approx(5.0, abs=0.01)
    store_before = estimate._store().read_bytes()
    out_before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    r = run("batch", songs, "-o", out, "--jobs", 2, "--dry-run", "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    plan = json.loads(r.stdout)
    assert (plan["tracks"], plan["todo"], plan["probed"], plan["unreadable"]) == (4, 2, 2, 1)
    assert [p["input"] for p in plan["plan"]] == ["c.wav", "d.mp3"]
    assert [p["output"] for p in plan["plan"]] == ["c.mp4", "d.mp4"]
    assert plan["audio_seconds"] == round(third, 2)  # the unreadable file counts nothing
    assert plan["jobs"] == 2 and plan["where"] == "this machine"
    assert plan["per_job"] == per_job
    assert plan["throughput_source"].startswith("measured by a batch of 2 track(s) with 1 job(s) on ")
    assert plan["wall_seconds"] == pytest.approx(plan["audio_seconds"] / (per_job * 2), abs=0.05)
    # it renders nothing, and writes nothing: no video, no report, no new throughput
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == out_before
    assert estimate._store().read_bytes() == store_before

    fresh = tmp_path / "fresh"
    r = run("batch", songs, "-o", fresh, "--jobs", 2, "--dry-run", "--throughput", 4, *FAST)
    assert r.exit_code == 0, r.stderr
    assert not fresh.exists()
    assert r.stdout.splitlines() == ["a.ogg -> a.mp4", "b.ogg -> b.mp4", "c.wav -> c.mp4", "d.mp3 -> d.mp4"]
    said = r.stderr.splitlines()
    assert said[0] == "4 track(s), 4 to render (0 complete already), 11 s of audio"
    assert said[1] == "2 job(s) at once on this machine"
    assert said[2] == "1 of the 4 probed file(s) cannot be read as audio; they will fail"
    assert said[3].startswith("estimated wall time 1 s at 4.00x real time per job (given with --throughput)")


def tracks(n: int, root: Path = Path("/music")) -> list[Track]:
    return [Track(f"{i:03d}.mp3", f"{i:03d}.mp4", root / f"{i:03d}.mp3", Path("/videos") / f"{i:03d}.mp4")
            for i in range(n)]


def test_a_large_batch_is_extrapolated_from_a_sample(monkeypatch):
    probed = []

    def seconds(track, config):
        probed.append(track.rel)
        return 30.0

    monkeypatch.setattr(estimate, "SAMPLE", 2)
    monkeypatch.setattr(estimate, "_seconds", seconds)
    todo = tracks(5)
    rate = estimate.Throughput(2.0, 1, 1, "2024-01-01", "given with --throughput")
    e = estimate.estimate(todo, 9, RenderConfig(), 3, "this machine", rate, seed=0)
    assert len(probed) == 2 and len(set(probed)) == 2 and set(probed) <= {t.rel for t in todo}
    assert (e.tracks, e.todo, e.probed, e.unreadable, e.jobs) == (9, 5, 2, 0, 3)
    assert e.audio_seconds == 60.0 * 5 / 2
    assert e.wall_seconds == 150.0 / (2.0 * 3)
    assert e.plan == [{"input": t.rel, "output": t.out_rel} for t in todo]
    lines = e.lines()
    assert lines[0] == "9 track(s), 5 to render (4 complete already), 2 min of audio (extrapolated from a sample of 2)"
    assert lines[-1].startswith("estimated wall time 25 s at 2.00x real time per job (given with --throughput)")

    # the same seed, the same sample; every track probed when there are few enough
    probed.clear()
    estimate.estimate(todo, 9, RenderConfig(), 3, "this machine", rate, seed=0)
    again = list(probed)
    probed.clear()
    estimate.estimate(todo, 9, RenderConfig(), 3, "this machine", rate, seed=0)
    assert probed == again
    probed.clear()
    small = estimate.estimate(todo[:2], 2, RenderConfig(), 3, "this machine", None)
    assert small.probed == 2 and small.jobs == 2 and small.audio_seconds == 60.0
    assert "extrapolated" not in small.lines()[0]

    unknown = estimate.estimate(todo, 5, RenderConfig(), 1, "this machine", None)
    assert unknown.wall_seconds is None and unknown.per_job is None
    assert unknown.lines()[-1].startswith("no estimate of the time: no batch with these settings has run")
    assert "extrapolated from a sample of 2" in unknown.lines()[0]


def test_a_sample_counts_its_unreadable_files(monkeypatch):
    probed = []

    def seconds(track, config):  # every other file is not audio
        probed.append(track.rel)
        return None if int(track.rel[:3]) % 2 else 10.0

    monkeypatch.setattr(estimate, "SAMPLE", 3)
    monkeypatch.setattr(estimate, "_seconds", seconds)
    e = estimate.estimate(tracks(12), 12, RenderConfig(), 1, "this machine", None, seed=3)
    bad = sum(int(rel[:3]) % 2 for rel in probed)
    assert 0 < bad < 3  # seed 3 samples both kinds
    assert len(probed) == 3 and (e.probed, e.unreadable) == (3, bad)
    assert e.audio_seconds == 10.0 * (3 - bad) * 12 / 3
    assert e.lines()[2] == f"{bad} of the 3 probed file(s) cannot be read as audio; they will fail"


@pytest.fixture
def own_store(tmp_path, monkeypatch):
    """A throughput store of this test's own, holding another machine's figure already."""
    store = tmp_path / "throughput.json"
    store.write_text(json.dumps({"another machine": {"some settings": {"per_job": 1.0}}}), encoding="utf-8")
    monkeypatch.setattr(estimate, "_store", lambda: store)
    return store


def batch_result(*tracks: TrackResult, interrupted: bool = False, seconds: float = 10.0) -> BatchResult:
    return BatchResult("in", "out", "out/report.csv", 1, seconds, list(tracks), found=len(tracks),
                       interrupted=interrupted)


@pytest.mark.parametrize("result", [
    batch_result(TrackResult("a.ogg", "a.mp4", DONE, "", 5.0, 20.0), interrupted=True),
    batch_result(TrackResult("a.ogg", "a.mp4", FAILED, "bad file", 1.0),
                 TrackResult("b.ogg", "b.mp4", SKIPPED, "complete video already there")),
    batch_result(TrackResult("a.ogg", "a.mp4", DONE, "another attempt at it finished first", 1.0, None)),
    batch_result(),
    batch_result(TrackResult("a.ogg", "a.mp4", DONE, "", 5.0, 20.0), seconds=0.0),
], ids=["interrupted", "none-done", "done-without-audio", "empty", "no-time"])
def test_a_batch_that_measured_nothing_stores_nothing(own_store, result):
    before = own_store.read_bytes()
    assert estimate.record_throughput(result, RenderConfig(), "test GL") is None
    assert own_store.read_bytes() == before


def test_a_finished_batch_stores_its_figure_beside_others(own_store):
    result = batch_result(TrackResult("a.ogg", "a.mp4", DONE, "", 5.0, 20.0),
                          TrackResult("b.ogg", "b.mp4", DONE, "", 5.0, 10.0),
                          TrackResult("c.ogg", "c.mp4", FAILED, "bad file", 1.0))
    result.jobs = 4  # more jobs than tracks done: only two ran at once
    t = estimate.record_throughput(result, RenderConfig(), "test GL")
    assert (t.per_job, t.jobs, t.tracks) == (1.5, 2, 2)
    data = json.loads(own_store.read_text(encoding="utf-8"))
    assert data["another machine"] == {"some settings": {"per_job": 1.0}}
    entry = data[estimate.machine_kind("test GL")][estimate.settings_key(RenderConfig())]
    assert (entry["per_job"], entry["jobs"], entry["tracks"]) == (1.5, 2, 2)
    back = estimate.stored_throughput(RenderConfig(), "test GL")
    assert (back.per_job, back.jobs, back.tracks) == (1.5, 2, 2)
    assert estimate.stored_throughput(RenderConfig(), "another GL") is None
