r"""A multi-layer IF network trained with BP-STDP (Tavanaei & Maida 2019).

The rule and its equations: :mod:`spikeforge.functional.bp_stdp`. Network: Poisson input
(pixel byte ``b`` fires at ``b / 255 * input_rate`` Hz, ``p = 1 - exp(-rate dt)`` per step),
fully connected layers of non-leaky IF neurons (threshold ``hidden_threshold``; the output
layer's is ``output_threshold`` times the size of the layer below, 0.025 as in n3ml's
reimplementation of the paper), spikes reaching the next layer in the same step. Each
training image is shown for ``num_steps`` steps from rest; the label's output neuron has a
desired spike every ``1 / (target_rate dt)`` steps (250 Hz: every 4 ms); at each of those
steps the weights change by the rule with windows of ``epsilon + 1`` steps and learning rate
``lr``. Online: the weights change within an image, as in the paper. The prediction is the
output neuron with most spikes.

Settings: ``epsilon`` = 4 ms, ``lr`` = 5e-4 (the paper's best range for MNIST, 0.0005-0.001),
``target_rate`` = 250 Hz, hidden threshold 0.9 and output threshold 0.025 per input neuron
follow the paper and n3ml's test script (``test/test_bpstdp.py`` of
github.com/neurom-iot/n3ml); initial weights are normal with standard deviation
``init_std / sqrt(fan_in)`` (the paper draws from a normal distribution).

Examples:
    >>> net = BPSTDPNet(hidden_sizes=[500, 150])
    >>> net.train_images(train.data, train.targets)                    # one epoch, online
    >>> accuracy = (net.predict(test.data) == test.targets).float().mean()
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ._config import ZooModel, check_int_list, check_positive_int
from .diehl_cook import as_pixels

__all__ = ["BPSTDPNet"]


class BPSTDPNet(ZooModel):
    """IF multi-layer network with BP-STDP training (see the module docstring).

    Buffers ``weight0, weight1, ...``: ``[n_out, n_in]`` per layer (``nn.Linear`` layout).
    ``forward(x, state=None)`` runs the frozen network on input spikes ``[T, B, n_input]``
    in plain torch (the reference of the kernel) and returns ``(output spikes [T, B, C], state)``.
    """

    model_name = "bp_stdp_mlp"
    PRESETS = {"mnist-2layer": {"hidden_sizes": [500]}, "mnist-3layer": {"hidden_sizes": [500, 150]}}
    self_training = True

    def __init__(self, n_input: int = 784, num_classes: int = 10, *, hidden_sizes: list[int] = [500, 150],  # noqa: B006
                 num_steps: int = 50, dt: float = 1e-3, input_rate: float = 250.0, target_rate: float = 250.0,
                 epsilon: int = 4, lr: float = 5e-4, hidden_threshold: float = 0.9, output_threshold: float = 0.025,
                 init_std: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        self._record_config(locals())
        check_positive_int(n_input, "n_input")
        check_positive_int(num_classes, "num_classes")
        sizes = check_int_list(hidden_sizes, "hidden_sizes")
        check_positive_int(num_steps, "num_steps")
        check_positive_int(epsilon + 1, "epsilon + 1")
        for name in ("dt", "input_rate", "target_rate", "lr", "hidden_threshold", "output_threshold", "init_std"):
            v = self.config[name]
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if round(1.0 / (target_rate * dt)) < 1:
            raise ValueError(f"target_rate * dt must be at most 1, got {target_rate * dt:g}")
        self.sizes = [n_input, *sizes, num_classes]
        self.num_classes = num_classes
        g = torch.Generator().manual_seed(seed)
        for k, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            w = torch.randn(n_out, n_in, generator=g) * (init_std / math.sqrt(n_in))
            self.register_buffer(f"weight{k}", w.to(torch.float32))

    @property
    def weights(self) -> list[Tensor]:
        return [getattr(self, f"weight{k}") for k in range(len(self.sizes) - 1)]

    @property
    def thresholds(self) -> list[float]:
        c = self.config
        return [c["hidden_threshold"]] * (len(self.sizes) - 2) + [c["output_threshold"] * self.sizes[-2]]

    @property
    def period(self) -> int:
        """Steps between desired spikes of the label's neuron."""
        return int(round(1.0 / (self.config["target_rate"] * self.config["dt"])))

    def kernel_parameters(self, *, learn: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from ..kernels.cpu import stdp_bp as K

        c = self.config
        prm = np.zeros(3, np.float64)
        prm[K.DT], prm[K.RATE], prm[K.LR] = c["dt"], c["input_rate"], c["lr"]
        iprm = np.zeros(5, np.int64)
        iprm[K.T_STEPS], iprm[K.EPSILON], iprm[K.PERIOD] = c["num_steps"], c["epsilon"], self.period
        iprm[K.SEED], iprm[K.LEARN] = c["seed"], int(learn)
        return prm, iprm, np.asarray(self.thresholds, np.float64)

    def _pre_major(self) -> list[np.ndarray]:
        return [w.t().contiguous().numpy() for w in self.weights]

    def train_images(self, images: Tensor, labels: Tensor, *, epoch: int = 0, indices: Tensor | None = None,
                     chunk: int = 1000, callback: Callable[[int, Tensor], None] | None = None,
                     events: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Train online on ``images`` in the given order; returns the output spike counts
        ``[N, C]`` seen during training. ``events``: given input spikes as CSR
        ``(ptr [N, T + 1], idx)`` instead of Poisson draws (for tests)."""
        from ..kernels.cpu import available
        from ..kernels.cpu import stdp_bp as K

        if not available():
            raise ImportError("BP-STDP training needs numba: pip install 'spikeforge[cpu-kernels]'")
        pixels = as_pixels(images, self.sizes[0]).numpy()
        labels_np = labels.reshape(-1).long().numpy()
        n = pixels.shape[0]
        if labels_np.shape[0] != n:
            raise ValueError(f"need one label per image, got {labels_np.shape[0]} labels for {n} images")
        if n and (labels_np.min() < 0 or labels_np.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}), got {labels_np.min()}..{labels_np.max()}")
        seed_index = (torch.arange(n) if indices is None else indices.reshape(-1).long()).numpy()
        prm, iprm, theta = self.kernel_parameters(learn=True)
        W = K.typed_list(self._pre_major())
        counts = np.zeros((n, self.num_classes), np.int32)
        empty2, empty1 = np.zeros((0, 0), np.int64), np.zeros(0, np.int64)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            gp = events[0][lo:hi].numpy().astype(np.int64) if events is not None else empty2
            gi = events[1].numpy().astype(np.int64) if events is not None else empty1
            K.train(pixels[lo:hi], labels_np[lo:hi], W, theta, prm, iprm, epoch, seed_index[lo:hi], gp, gi,
                    counts[lo:hi])
            if callback is not None:
                callback(hi, torch.from_numpy(counts[lo:hi]))
        for w, wk in zip(self.weights, W):
            w.copy_(torch.from_numpy(wk).t())
        return torch.from_numpy(counts)

    @torch.no_grad()
    def respond(self, images: Tensor, *, epoch: int = 0, offset: int = 0) -> Tensor:
        """Output spike counts ``[N, C]`` of the frozen network, images in parallel."""
        from ..kernels.cpu import stdp_bp as K
        from ..kernels.cpu.threads import numba_parallel

        pixels = as_pixels(images, self.sizes[0]).numpy()
        prm, iprm, theta = self.kernel_parameters(learn=False)
        counts = np.zeros((pixels.shape[0], self.num_classes), np.int32)
        with numba_parallel() as n_threads:
            n_chunks = max(1, min(pixels.shape[0], 4 * n_threads))
            K.infer(pixels, K.typed_list(self._pre_major()), theta, prm, iprm, epoch, offset, counts, n_chunks)
        return torch.from_numpy(counts)

    def predict(self, images: Tensor, **kwargs: Any) -> Tensor:
        """The class of each image: the output neuron with most spikes (ties: the lowest index)."""
        return self.respond(images, **kwargs).argmax(1)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Frozen network on input spikes ``[T, B, n_input]``: ``(output spikes [T, B, C], state)``."""
        from ._bp_stdp_reference import simulate

        return simulate(self, x, state)

    def extra_repr(self) -> str:
        c = self.config
        return f"sizes={self.sizes}, num_steps={c['num_steps']}, lr={c['lr']:g}, epsilon={c['epsilon']}"
