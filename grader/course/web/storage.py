"""Uploaded files, stored by the sha256 of their bytes and never opened as anything but bytes.

``BlobStore.put(stream, limit)`` copies a stream to a temporary file in the
store while hashing it, refuses it past ``limit`` bytes (without reading more
than ``limit + 1``), and renames it to ``blobs/ab/abcdef...``. The student's
file name never reaches a path: the store names files by hash only, and the
worker writes its copy under the assignment's module name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 16
_HASH = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(ValueError):
    """An upload over the size cap."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _HASH.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, stream: BinaryIO, limit: int) -> StoredBlob:
        """Store ``stream``'s bytes; raise :class:`TooLarge` past ``limit`` bytes (nothing is kept)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                while True:
                    chunk = stream.read(min(CHUNK, limit + 1 - size))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"the file is larger than the limit of {limit:,} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(exist_ok=True)
            os.replace(temp, target)   # same bytes, same name: replacing an existing copy is harmless
            os.chmod(target, 0o600)
            return StoredBlob(sha, size)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
