"""FMA's metadata: the two-row header of tracks.csv, malformed rows, subsets, and the labels and
splits a classifier trains with (also labels from folders)."""

import pytest

from audioviz.errors import InputError, TrainingError
from audioviz.fma import FMATrack, fma_track_id, in_subset, read_tracks
from audioviz.training.labels import fma_labels, folder_labels

# FMA's layout: column group, column name, then a row naming the index; free text with commas,
# quotes and line breaks; a few rows that are broken in ways a 250 MB file can be
TRACKS_CSV = (
    ",album,set,set,track,track,track\n"
    ",title,split,subset,genre_top,genres,title\n"
    "track_id,,,,,,\n"
    '2,"Hello, World",training,small,Hip-Hop,[21],Food\n'
    '3,"multi\nline, album",validation,medium,Pop,[10],Electric Ave\n'
    '5,Other,test,small,,[76],This World\n'
    '10,"Quoted ""title""",test,small,"Old-Time / Historic, Folk",[8],Freeway\n'
    "11,Cut short,training\n"  # ends before the genre column
    "oops,not,a,data,Rock,[12],row\n"  # no integer id
    "12,Odd split,holdout,large,Rock,[12],x\n"  # a split FMA does not have
    "13,Big,training,large,Rock,[12],y\n"
    "2,Repeated,test,large,Jazz,[4],z\n"  # a repeated id: the first row counts
    "\n"  # an empty line
)


@pytest.fixture
def metadata(tmp_path):
    folder = tmp_path / "fma_metadata"
    folder.mkdir()
    (folder / "tracks.csv").write_text(TRACKS_CSV, encoding="utf-8")
    return folder


def test_reads_genre_split_and_subset_and_counts_malformed_rows(metadata):
    meta = read_tracks(metadata)
    assert meta.has_split and meta.has_subset
    assert meta.tracks == {
        2: FMATrack(2, "Hip-Hop", "training", "small"),
        3: FMATrack(3, "Pop", "validation", "medium"),
        5: FMATrack(5, "", "test", "small"),
        10: FMATrack(10, "Old-Time / Historic, Folk", "test", "small"),
        12: FMATrack(12, "Rock", "", "large"),
        13: FMATrack(13, "Rock", "training", "large"),
    }
    assert meta.malformed == 3  # the short row, the one without an id, the empty line
    # only wanted rows are kept, and the file itself is as good as its folder
    assert set(read_tracks(metadata / "tracks.csv", {3, 13, 99}).tracks) == {3, 13}


def test_subsets_nest_like_fma_folders():
    small, medium, large = (FMATrack(1, "Rock", "training", s) for s in ("small", "medium", "large"))
    assert [in_subset(t, "small") for t in (small, medium, large)] == [True, False, False]
    assert [in_subset(t, "medium") for t in (small, medium, large)] == [True, True, False]
    assert all(in_subset(t, "large") and in_subset(t, None) for t in (small, medium, large))
    assert fma_track_id("fma_small/000/000002.mp3") == 2 and fma_track_id("mine/song.mp3") is None


def test_bad_metadata_is_explained(tmp_path):
    with pytest.raises(InputError, match="no such FMA metadata folder"):
        read_tracks(tmp_path / "absent")
    with pytest.raises(InputError, match="no tracks.csv"):
        read_tracks(tmp_path)
    (tmp_path / "tracks.csv").write_text("track_id,title\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match="genre_top"):
        read_tracks(tmp_path)


def touch(root, *paths):
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_bytes(b"")  # labels are decided from names; nothing is decoded here


def test_fma_labels_use_fmas_own_split_and_top_genre(tmp_path, metadata):
    audio = tmp_path / "fma_small"
    touch(audio, "000/000002.mp3", "000/000003.mp3", "000/000005.mp3", "000/000010.mp3", "000/000012.mp3",
          "000/000013.mp3", "000/000099.mp3", "extra/song.mp3")
    labels = fma_labels(audio, metadata)
    assert labels.labels == {"000/000002.mp3": "Hip-Hop", "000/000003.mp3": "Pop",
                             "000/000010.mp3": "Old-Time / Historic, Folk", "000/000013.mp3": "Rock"}
    assert labels.splits == {"000/000002.mp3": "train", "000/000003.mp3": "val", "000/000010.mp3": "test",
                             "000/000013.mp3": "train"}
    assert labels.skipped == {"without a top genre": 1, "without a training/validation/test split": 1,
                              "not in tracks.csv": 1, "not named by an FMA track id": 1}
    assert labels.notes == ["3 malformed rows of tracks.csv were ignored"]
    assert labels.classes == ["Hip-Hop", "Old-Time / Historic, Folk", "Pop", "Rock"]
    small = fma_labels(audio, metadata, "small")
    assert set(small.labels) == {"000/000002.mp3", "000/000010.mp3"} and small.skipped["not in the small subset"] == 3
    assert set(fma_labels(audio, metadata, "medium").labels) == {"000/000002.mp3", "000/000003.mp3", "000/000010.mp3"}


def test_fma_labels_need_the_split_column(tmp_path):
    (tmp_path / "tracks.csv").write_text(",track\n,genre_top\ntrack_id,\n2,Rock\n", encoding="utf-8")
    touch(tmp_path, "a/000002.mp3")
    with pytest.raises(TrainingError, match="no set/split column"):
        fma_labels(tmp_path / "a", tmp_path)


def test_folder_labels_hold_out_tracks_of_every_class(tmp_path):
    touch(tmp_path, "loose.mp3", *[f"rock/album/{i}.mp3" for i in range(20)], "jazz/1.ogg", "jazz/2.ogg",
          "jazz/3.ogg", "solo/only.mp3")
    labels = folder_labels(tmp_path, 0.2, seed=0)
    assert labels.classes == ["jazz", "rock", "solo"] and labels.labels["rock/album/7.mp3"] == "rock"
    assert labels.skipped == {f"directly in {tmp_path.name}/, so no folder names its class": 1}
    held = {c: sum(1 for r, s in labels.splits.items() if s == "val" and labels.labels[r] == c) for c in labels.classes}
    assert held["jazz"] >= 1 and 2 <= held["rock"] <= 8 and held["solo"] == 0  # a lone track stays in training
    assert labels.splits == folder_labels(tmp_path, 0.2, seed=0).splits  # stable
