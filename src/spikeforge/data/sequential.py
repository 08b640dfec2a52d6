"""Sequential and permuted sequential MNIST (Le, Jaitly & Hinton 2015).

The task: classify an MNIST digit seen one piece at a time, so the answer depends on
memory over the whole sequence (Le, Jaitly & Hinton 2015, "A simple way to initialize
recurrent networks of rectified linear units", arXiv:1504.00941):

- ``mode="row"``: 28 steps, one image row of 28 pixels each, ``x [28, 28]``;
- ``mode="pixel"``: 784 steps of one pixel, ``x [784, 1]`` (S-MNIST);
- ``permute=True`` (pixel mode): the 784 pixels in a fixed random order (PS-MNIST),
  the same order for every image, drawn from ``torch.Generator().manual_seed(permutation_seed)``,
  so training and test sets built with the same seed share it;
- ``window=k`` (pixel mode): step ``t`` sees the ``k`` pixels ``p[min(t, N-k) : min(t, N-k) + k]``
  of the (permuted) sequence of ``N`` pixels, a sliding window with stride 1 whose last
  ``k`` steps repeat the final window (Yin, Corradi & Bohté 2021 read (PS-)MNIST through a
  window of 4 pixels this way: ``x [784, 4]``);
- ``binarize=θ``: pixels above ``θ`` become 1, the others 0 (Yin et al.: ``θ = 0.1`` on [0, 1]).

:class:`SequentialMNIST` wraps any image dataset whose items are
``(image [C, H, W], label)`` (here usually :class:`~spikeforge.data.MNIST`; the 8x8
:class:`~spikeforge.data.Digits` works too): row mode gives ``[H, W*C]``, pixel mode
``[H*W, C]``, each step's features in channel-last order. The label is unchanged, one per
sequence. Items are time-first ``[T, F]``; batch them with
:func:`~spikeforge.data.collate_time_major` to get ``[T, B, F]``.

Errors: an unknown ``mode``, ``permute=True`` or ``window > 1`` with ``mode="row"``, a
window that is not an integer from 1 to the pixel count, or a wrapped item that is not a
``[C, H, W]`` tensor raise ``ValueError``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["SequentialMNIST", "SEQUENCE_MODES", "pixel_permutation"]

SEQUENCE_MODES = ("row", "pixel")


def pixel_permutation(n_pixels: int, seed: int) -> Tensor:
    """The fixed permutation of ``n_pixels`` used for permuted sequential MNIST (int64)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n_pixels, generator=generator)


class SequentialMNIST(Dataset):
    """An image dataset read as a sequence: rows (``[H, W]``) or pixels (``[H*W, 1]``).

    Args:
        images: a dataset of ``(image [C, H, W], label)``, e.g. ``MNIST(...)``.
        mode: ``"row"`` (one row per step) or ``"pixel"`` (one pixel per step).
        permute: shuffle the pixels with a fixed permutation (needs ``mode="pixel"``).
        permutation_seed: seed of that permutation; keep it equal for train and test.
        window: pixels seen per step (``mode="pixel"``), a sliding window of stride 1.
        binarize: threshold above which a pixel becomes 1 (``None``: keep the values).

    Examples:
        >>> psmnist = SequentialMNIST(MNIST(root), mode="pixel", permute=True)  # doctest: +SKIP
        >>> x, label = psmnist[0]  # x: [784, 1]  # doctest: +SKIP
    """

    is_sequence = True
    per_step_labels = False

    def __init__(
        self, images: Dataset, mode: str = "row", *, permute: bool = False, permutation_seed: int = 0,
        window: int = 1, binarize: float | None = None,
    ) -> None:
        if mode not in SEQUENCE_MODES:
            raise ValueError(f"mode must be one of {SEQUENCE_MODES}, got {mode!r}")
        if permute and mode != "pixel":
            raise ValueError(
                "permute=True needs mode='pixel' (permuted sequential MNIST feeds one pixel per step)"
            )
        if window != 1 and mode != "pixel":
            raise ValueError(f"window={window!r} needs mode='pixel' (a window of pixels per step)")
        self.images = images
        self.mode = mode
        self.permute = bool(permute)
        self.permutation_seed = int(permutation_seed)
        c, h, w = self._image_shape()
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= h * w:
            raise ValueError(f"window must be an integer from 1 to {h * w} (the pixels per image), got {window!r}")
        if binarize is not None and (isinstance(binarize, bool) or not isinstance(binarize, (int, float))):
            raise ValueError(f"binarize must be a number (the pixel threshold) or None, got {binarize!r}")
        self.window = window
        self.binarize = None if binarize is None else float(binarize)
        self.num_steps = h if mode == "row" else h * w
        self.input_shape = (w * c,) if mode == "row" else (c * window,)
        self.num_classes = getattr(images, "num_classes", None)
        self.permutation = pixel_permutation(h * w, self.permutation_seed) if self.permute else None
        self._window_index = None  # [N, k]: the pixels step t reads
        if window > 1:
            self._window_index = torch.arange(h * w).clamp(max=h * w - window)[:, None] + torch.arange(window)

    def _image_shape(self) -> tuple[int, int, int]:
        shape = getattr(self.images, "input_shape", None)
        if shape is None:
            shape = tuple(self.images[0][0].shape)
        if len(shape) != 3:
            raise ValueError(f"SequentialMNIST needs images of shape [C, H, W], got {tuple(shape)}")
        return tuple(int(s) for s in shape)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image, label = self.images[index]
        if not isinstance(image, Tensor) or image.dim() != 3:
            got = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
            raise ValueError(f"SequentialMNIST needs image tensors [C, H, W], got {got}")
        c, h, w = image.shape
        if self.binarize is not None:
            image = (image > self.binarize).to(image.dtype)
        pixels = image.permute(1, 2, 0)  # [H, W, C]: each step's features channel-last
        if self.mode == "row":
            return pixels.reshape(h, w * c), label
        x = pixels.reshape(h * w, c)
        if self.permutation is not None:
            x = x[self.permutation]
        if self._window_index is not None:
            x = x[self._window_index].reshape(h * w, self.window * c)  # [N, k, C] -> [N, k*C]
        return x, label

    def __repr__(self) -> str:
        return (
            f"SequentialMNIST(mode={self.mode!r}, permute={self.permute}, window={self.window}, "
            f"binarize={self.binarize}, T={self.num_steps}, n={len(self)})"
        )
