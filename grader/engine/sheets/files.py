"""Which files are answer sheets, and their bytes read safely (no links, devices or huge files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SHEET_BYTES = 256 * 1024
SHEET_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


def sheet_format(path: str | os.PathLike) -> str | None:
    """``"toml"`` or ``"yaml"`` by the file's extension, else None."""
    return SHEET_FORMATS.get(Path(path).suffix.lower())


def is_answer_sheet(path: str | os.PathLike) -> bool:
    return sheet_format(path) is not None


def sheet_in_folder(folder: str | os.PathLike) -> Path | None:
    """The answer sheet of a submission folder that holds one sheet and no code, else None."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if any(p.suffix in (".py", ".ipynb") for p in files):
        return None
    sheets = [p for p in files if is_answer_sheet(p)]
    return sheets[0] if len(sheets) == 1 else None


def answer_sheet_of(submission: str | os.PathLike) -> Path | None:
    """The sheet to read when ``submission`` is answered on a sheet (a file or a folder with one), else None."""
    submission = Path(submission)
    return submission if is_answer_sheet(submission) else sheet_in_folder(submission)


class SheetRefused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _human_bytes(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; refuses links, non-regular files and files over ``max_bytes``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SheetRefused("missing", f"there is no answer sheet at {path.name}") from None
    except OSError as exc:
        if os.path.islink(path):
            raise SheetRefused("rejected", "your answer sheet is a link; submit the file itself") from None
        if os.path.isdir(path):
            raise SheetRefused("rejected", f"{path.name} is a folder, not an answer sheet") from None
        raise SheetRefused("rejected", f"your answer sheet cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise SheetRefused("rejected", f"{path.name} is {what}, not an answer sheet")
        if info.st_size > max_bytes:
            raise SheetRefused("rejected", f"your answer sheet is {_human_bytes(info.st_size)}; an answer sheet "
                                       f"may be at most {_human_bytes(max_bytes)}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we read it
                raise SheetRefused("rejected", f"your answer sheet is larger than {_human_bytes(max_bytes)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes, notes: list[str]) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SheetRefused("exception", "your answer sheet starts like UTF-16 text but cannot be read as it; "
                                        "save it as UTF-8 plain text") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:8192]
    if b"\0" in head or head.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"{\\rtf")):
        raise SheetRefused("rejected", "your answer sheet is not a plain text file (is it a Word, PDF or RTF "
                                   "document?): save it as plain text (.toml or .yaml)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        notes.append(f"your answer sheet is not valid UTF-8 text (byte {exc.start}); characters that could "
                     "not be read were replaced by \ufffd")
        return data.decode("utf-8", errors="replace")
