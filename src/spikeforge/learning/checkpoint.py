"""Checkpoints: tensors and plain data only, written atomically, loaded with ``weights_only=True``.

A checkpoint is a ``dict`` saved by ``torch.save`` whose leaves are tensors, numbers,
strings, booleans and ``None``, inside dicts, lists and tuples: no pickled classes or
functions, so :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``
and loading a file from elsewhere cannot run code. :func:`save_checkpoint` refuses
anything else, naming the offending entry.

Writing is atomic: the data goes to a temporary file in the target's folder, is
flushed to disk, and replaces the target with ``os.replace`` in one step. A run
killed while saving leaves the previous checkpoint as it was (and no temporary file
once the next save or the cleanup runs); a truncated or corrupt file is reported by
:func:`load_checkpoint` as a :class:`CheckpointError` that says so.
"""

from __future__ import annotations

import os
import pickle
import secrets
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

__all__ = ["CheckpointError", "FORMAT", "VERSION", "save_checkpoint", "load_checkpoint", "check_plain",
           "evaluation_weights"]

FORMAT = "spikeforge.checkpoint"
VERSION = 1

_PLAIN = (str, int, float, bool, type(None), bytes)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unreadable, truncated, or not a spikeforge checkpoint."""


def check_plain(obj: Any, where: str = "checkpoint") -> None:
    """Raise ``TypeError`` unless ``obj`` holds only tensors and plain data.

    Plain data: ``str``, ``int``, ``float``, ``bool``, ``None``, ``bytes``,
    ``torch.dtype``/``torch.Size``, and dicts (string or int keys), lists and tuples of them.
    """
    if isinstance(obj, (Tensor, torch.dtype, torch.Size) + _PLAIN):
        return
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key of type {type(key).__name__} ({key!r}); keys must be str or int")
            check_plain(value, f"{where}[{key!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            check_plain(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}; checkpoints hold only tensors and "
        "plain data (numbers, strings, None, lists, tuples, dicts), so they load with weights_only=True"
    )


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` (plus the format tag) to ``path`` atomically; returns the path.

    The folder is created if needed. Nothing is written unless ``state`` passes
    :func:`check_plain`; on any error the previous file at ``path`` is left untouched
    and the temporary file is removed.
    """
    payload = {"format": FORMAT, "version": VERSION, **state}
    check_plain(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with open(tmp, "xb") as f:  # a new file with the usual permissions (umask), unlike mkstemp's 0600
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def temporary_path(path: Path) -> Path:
    """A fresh hidden name next to ``path`` for writing before the rename (same folder, same file system)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def load_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated, corrupt, holds pickled code, or is not a
            spikeforge checkpoint (the message says which, and what was expected).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): truncated or corrupt")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut-off one lacks its directory
        raise CheckpointError(
            f"checkpoint {path} is not a complete torch.save archive: the file is truncated or corrupt. The trainer "
            "writes checkpoints atomically, so a file it wrote is complete; was this one copied or edited?"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"checkpoint {path} holds objects other than tensors and plain data, refused by "
            f"weights_only=True loading: {_first_line(exc)}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, IndexError) as exc:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {_first_line(exc)}); the file is truncated "
            "or corrupt. The trainer writes checkpoints atomically, so a file it wrote is complete; "
            "was this one copied or edited?"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = f"a {type(state).__name__}" if not isinstance(state, dict) else f"format {state.get('format')!r}"
        raise CheckpointError(f"{path} is not a spikeforge checkpoint: expected format {FORMAT!r}, found {found}")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {path} has version {state.get('version')!r}; this spikeforge reads version {VERSION}"
        )
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows opening folders (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def evaluation_weights(state: Mapping[str, Any]) -> dict[str, Any]:
    """The model weights a trainer checkpoint is evaluated with: the moving average when the
    run kept one (``train.weight_average``), else the last weights."""
    return state.get("averaged_model") or state["model"]
