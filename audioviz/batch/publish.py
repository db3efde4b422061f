"""Putting a finished video in place when several attempts may race for it.

On a cluster a track can be rendered twice: its actor's node stops answering, the batch
renders it again elsewhere, and the first node was only slow. Both attempts write their own
temporary file beside the video (files.temporary_path) on the filesystem every node mounts;
`Publisher` makes sure that only one of them becomes the video:

- without --overwrite, by a hard link to the final name, which fails when anything is there
  already (atomic on local filesystems and on NFS), even for an attempt of an earlier run;
- with --overwrite (the video of an earlier run must be replaced), or where the filesystem
  has no hard links, by a claim: a file per track created with O_EXCL in a folder of this
  run's, which only one attempt gets, and then a rename over the old video.

The loser's copy is dropped and its render reports PublishedElsewhereError.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import PublishedElsewhereError

CLAIMS_NAME = ".audioviz-claims"  # in OUT_DIR: one folder per run, removed when it ends
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS}


@dataclass(frozen=True)
class Publisher:
    """Picklable: the batch makes one per run and sends it with every track."""

    claims: Path  # this run's claim folder
    overwrite: bool

    @classmethod
    def for_run(cls, out_dir: Path, overwrite: bool) -> Publisher:
        claims = out_dir.absolute() / CLAIMS_NAME / secrets.token_hex(8)
        claims.mkdir(parents=True)
        return cls(claims, overwrite)

    def __call__(self, tmp: Path, target: Path) -> None:
        if not self.overwrite:
            try:
                os.link(tmp, target)
                return
            except FileExistsError:
                raise PublishedElsewhereError(f"{target}: another attempt put its video there first") from None
            except OSError as e:
                if e.errno not in _NO_LINKS:
                    raise
        self._claim(target)
        os.replace(tmp, target)

    def _claim(self, target: Path) -> None:
        name = hashlib.sha1(os.fsencode(target.absolute())).hexdigest()
        try:
            os.close(os.open(self.claims / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            raise PublishedElsewhereError(f"{target}: another attempt put its video there first") from None

    def close(self) -> None:
        """The run is over: its claims go (and the claims folder, when no other run's is left)."""
        shutil.rmtree(self.claims, ignore_errors=True)
        try:
            self.claims.parent.rmdir()
        except OSError:
            pass


def remove_stale_claims(out_dir: Path) -> None:
    """What runs that were killed left of their claims. Only safe while holding the folder's lock."""
    shutil.rmtree(out_dir / CLAIMS_NAME, ignore_errors=True)
