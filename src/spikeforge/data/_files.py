"""Where data files live, how a missing or bad one is reported, and optional imports.

Every loader in :mod:`spikeforge.data` finds its files through :func:`find_file`, and
reports problems with the two exceptions defined here, so a user always reads the same
kind of message: which file, what is wrong, what was expected, and how to fix it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

__all__ = [
    "DataNotFoundError",
    "CorruptDataError",
    "default_data_dir",
    "resolve_root",
    "find_file",
    "sha256_hex",
    "import_optional",
]

#: Environment variable naming the default data folder.
DATA_ENV = "SPIKEFORGE_DATA"

_HOW_TO_POINT = (
    "pass root=<folder> (--data-dir on the command line) or set the SPIKEFORGE_DATA "
    "environment variable"
)


class DataNotFoundError(FileNotFoundError):
    """A data file is not where the loader looked (the message lists the places)."""


class CorruptDataError(ValueError):
    """A data file exists but its contents are not what the loader expects."""


def default_data_dir() -> Path:
    """The folder used when ``root=None``: ``$SPIKEFORGE_DATA``, else ``~/.cache/spikeforge``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "spikeforge"


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """``root`` as a ``Path`` (``~`` expanded), or :func:`default_data_dir` for ``None``."""
    if root is None:
        return default_data_dir()
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike) or None, got {type(root).__name__}")
    return Path(root).expanduser()


def candidate_dirs(root: Path, subfolders: Sequence[str]) -> list[Path]:
    """``root`` itself, then each of ``subfolders`` under it, in that order."""
    return [root, *(root / sub for sub in subfolders)]


def find_file(
    root: Path,
    names: Iterable[str],
    subfolders: Sequence[str],
    *,
    dataset: str,
    expected: str,
    alternative: str = "",
) -> Path:
    """The first existing ``folder/name`` over the candidate folders and the accepted names.

    Raises:
        DataNotFoundError: none exists; the message lists every place looked in, what
            the folder should contain (``expected``), how to point the loader to it, and
            any other fix (``alternative``, e.g. "or pass download=True").
    """
    names = list(names)
    dirs = candidate_dirs(root, subfolders)
    for folder in dirs:
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    looked = ", ".join(str(d) for d in dirs)
    raise DataNotFoundError(
        f"{dataset} file {names[0]!r} not found (looked for {' or '.join(map(repr, names))} in: "
        f"{looked}). Expected {expected}. To fix: {_HOW_TO_POINT}, pointing to the folder that "
        f"holds the files{alternative}."
    )


def sha256_hex(data: bytes) -> str:
    """Hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def import_optional(module: str, *, extra: str, needed_by: str) -> ModuleType:
    """Import ``module``, or raise ``ImportError`` naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(
            f"{needed_by} needs the optional package {top!r}, which is not installed: "
            f"pip install 'spikeforge[{extra}]'"
        ) from exc
