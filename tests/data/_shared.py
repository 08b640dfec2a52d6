"""Where the shared test data lives, and small writers for hand-made data files."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

# CI keeps ../shared/ next to the checkout: <repo>/../shared/data
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
QTDB_DIR = SHARED_DATA / "qtdb"


def require(path: Path) -> Path:
    """``path``, or skip the test when the shared data folder is not there."""
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (expected ../shared/data next to the checkout)")
    return path


_TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
               np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` encoded as an IDX file (big-endian header and data)."""
    array = np.asarray(array)
    header = bytes([0, 0, _TYPE_CODES[array.dtype], array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
