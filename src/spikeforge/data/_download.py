"""Fetching a file from a list of mirrors, checking it, and writing it atomically.

Nothing here runs unless a loader is asked to download (``download=True``). A file is
written only after its checksum matched, through a temporary file in the target folder
and ``os.replace``, so an interrupted download never leaves a half-written data file
behind under the real name.
"""

from __future__ import annotations

import logging
import os
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DownloadError", "fetch_url", "atomic_write", "download_first"]

logger = logging.getLogger(__name__)

_USER_AGENT = "spikeforge (python urllib)"


class DownloadError(RuntimeError):
    """No mirror delivered a file with the expected checksum (the message lists why)."""


def fetch_url(url: str, timeout: float = 30.0) -> bytes:
    """The bytes at ``url`` (tests replace this function; it is the only network access)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download_first(
    filename: str,
    mirrors: Sequence[str],
    target: Path,
    check: Callable[[bytes], None],
    *,
    dataset: str,
    manual_hint: str,
) -> Path:
    """Fetch ``mirror + filename`` from the first mirror whose bytes pass ``check``.

    ``check(data)`` raises ``ValueError`` for bytes that are not the expected file
    (wrong checksum, bad format); the next mirror is tried. The good bytes are written
    to ``target`` atomically.

    Raises:
        DownloadError: every mirror failed; the message gives each failure, says the
            network may be unreachable, and how to use files fetched by hand
            (``manual_hint``).
    """
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        logger.info("downloading %s", url)
        try:
            data = fetch_url(url)
        except OSError as exc:  # URLError, HTTPError, timeouts, refused connections
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        try:
            check(data)
        except ValueError as exc:
            failures.append(f"{url}: downloaded, but {exc}")
            continue
        atomic_write(target, data)
        logger.info("saved %s (%d bytes)", target, len(data))
        return target
    raise DownloadError(
        f"could not download {dataset} file {filename!r} from any mirror; the network may be "
        f"unreachable. Tried:\n  " + "\n  ".join(failures) + f"\nTo fix: {manual_hint}"
    )
