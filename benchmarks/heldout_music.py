"""Fetch the held-out music that benchmarks/style_probe.py measures the bundled models on: Debian
packages of free game music, one folder per group, never committed (the audio stays in DEST).

    .venv/bin/python benchmarks/heldout_music.py DEST [GROUP ...]
    .venv/bin/python benchmarks/style_probe.py DEST --json style.json --markdown style.md

Every group is a collection no bundled model was trained on (style_probe.HEARD): twelve packages
outside every list of the project's corpus script, the two Frets on Fire song packages pooled as
one group (their songs come as stems, mixed here into one file a song), and the eleven
`music-corpus.sh --more` packages that hold at least five tracks of 30 s or more. Files are copied
as they are, the first of each name only; style_probe leaves out the short ones (sound effects).
Needs apt-get and dpkg-deb (Debian or Ubuntu); nothing is installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUTSIDE = ("flare-game", "openclonk-data", "scorched3d-data", "supertux-data", "warzone2100-music", "widelands-data",
           "holotz-castle-data", "lordsawar-data", "noiz2sa-data", "supertuxkart-data", "trackballs-data",
           "tumiki-fighters-data")
MORE = ("btanks-data", "extremetuxracer-data", "fillets-ng-data", "freedroidrpg-data", "hedgewars-data", "lugaru-data",
        "marsshooter-data", "megaglest-data", "naev-data", "warmux-data", "xmoto-data")
GROUPS: dict[str, tuple[str, ...]] = {
    **{p: (p,) for p in OUTSIDE + MORE},
    "fretsonfire-songs": ("fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid"),
}
# Frets on Fire keeps each song as its backing track and the parts a player plays, in one folder
STEMS = ("song", "guitar", "rhythm", "drums")


def mix(stems: list[Path], target: Path) -> None:
    """The stems summed sample by sample (no level normalisation), as FLAC."""
    from audioviz.ffmpeg import executable

    inputs = [a for s in stems for a in ("-i", str(s))]
    graph = f"amix=inputs={len(stems)}:normalize=0" if len(stems) > 1 else "anull"
    proc = subprocess.run([executable(), "-nostdin", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                           "-c:a", "flac", str(target)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{target.name}: ffmpeg could not mix {', '.join(s.name for s in stems)}: "
                         f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")


def collect(tree: Path, out: Path) -> int:
    """Copy the audio files under `tree` into `out`, one file a track: a folder of stems becomes
    one mix named after the folder. Of files that share a name, the first in path order is kept:
    in these packages they are one sound effect or ambience loop per level or tileset, never a
    piece of music. Returns how many files `out` gained."""
    from audioviz.extract.corpus import find_audio

    out.mkdir(parents=True, exist_ok=True)
    by_folder: dict[Path, list[Path]] = {}
    for f in find_audio(tree):
        by_folder.setdefault(f.parent, []).append(f)
    added = 0
    for folder, members in sorted(by_folder.items()):
        stems = [f for f in members if f.stem.lower() in STEMS]
        if any(f.stem.lower() == "song" for f in stems) and len(stems) > 1:
            target = out / (folder.name.replace(" ", "_") + ".flac")
            if not target.exists():
                mix(stems, target)
                added += 1
            members = [f for f in members if f not in stems]
        for f in members:
            if not (out / f.name).exists():
                shutil.copyfile(f, out / f.name)
                added += 1
    return added


def fetch(dest: Path, groups: list[str]) -> None:
    for group in groups:
        out = dest / group
        if out.is_dir() and any(out.iterdir()):
            print(f"have {group}")
            continue
        with tempfile.TemporaryDirectory() as work:
            work = Path(work)
            added = 0
            for package in GROUPS[group]:
                proc = subprocess.run(["apt-get", "download", "-qq", package], cwd=work, capture_output=True, text=True)
                debs = list(work.glob(f"{package}_*.deb"))
                if proc.returncode or not debs:
                    raise SystemExit(f"{package}: apt-get download failed: {proc.stderr.strip() or 'no .deb'}")
                tree = work / package
                subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tree)], check=True)
                added += collect(tree, out)
                notices = sorted(tree.glob("usr/share/doc/*/copyright"))
                with open(out / "COPYRIGHT", "a") as copyright:
                    for notice in notices:
                        copyright.write(f"# {package}\n{notice.read_text(errors='replace')}\n")
        print(f"{group}: {added} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="where each group gets its folder")
    parser.add_argument("groups", nargs="*", help=f"groups to fetch (default: all {len(GROUPS)})")
    args = parser.parse_args()
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        raise SystemExit(f"{', '.join(unknown)}: not a held-out group; the groups are {', '.join(sorted(GROUPS))}")
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise SystemExit("needs apt-get and dpkg-deb (Debian or Ubuntu) to fetch the packages")
    fetch(args.dest, args.groups or sorted(GROUPS))


if __name__ == "__main__":
    main()
