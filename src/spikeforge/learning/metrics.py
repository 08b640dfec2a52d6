"""Per-epoch metrics: a CSV file (rewritten atomically after each epoch) and, when installed, TensorBoard."""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .checkpoint import temporary_path

__all__ = ["COLUMNS", "write_metrics_csv", "read_metrics_csv", "TensorBoardLog", "tensorboard_available"]

log = logging.getLogger(__name__)

COLUMNS = ("epoch", "step", "lr", "train_loss", "train_accuracy", "train_rate", "train_rate_hz",
           "test_loss", "test_accuracy", "test_rate", "test_rate_hz", "epoch_time_s", "elapsed_s")
"""The metric columns in file order (a row may add more; they follow these)."""


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen = list(COLUMNS)
    for row in rows:
        seen.extend(k for k in row if k not in seen)
    return seen


def write_metrics_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write ``rows`` (one dict per epoch) to ``path`` atomically; missing values are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else _cell(v)) for k, v in row.items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _cell(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def read_metrics_csv(path: str | os.PathLike) -> list[dict[str, float | None]]:
    """The rows of a metrics CSV, numbers as floats (``epoch``/``step`` as ints), empty cells as ``None``."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = []
        for raw in csv.DictReader(f):
            row: dict[str, Any] = {}
            for k, v in raw.items():
                if v in ("", None):
                    row[k] = None
                elif k in ("epoch", "step"):
                    row[k] = int(v)
                else:
                    try:
                        row[k] = float(v)
                    except ValueError:
                        row[k] = v
            rows.append(row)
    return rows


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package is installed (``torch.utils.tensorboard`` needs it)."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """Scalars of each epoch row under ``train/...`` and ``test/...`` in ``folder`` (needs ``tensorboard``)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def log(self, row: Mapping[str, Any]) -> None:
        step = int(row.get("epoch", 0))
        for key, value in row.items():
            if key in ("epoch",) or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            split, _, name = key.partition("_")
            tag = f"{split}/{name}" if split in ("train", "test") else f"run/{key}"
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
