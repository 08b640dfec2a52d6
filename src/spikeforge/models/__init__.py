"""The model zoo: ready-made spiking networks with named presets.

- :class:`SCNN`: a spiking convolutional network for images and event frames;
- :class:`SRNN`: the adaptive spiking recurrent network of Yin, Corradi & Bohté (2021).

Every model follows the conventions of :mod:`spikeforge.nn`: ``forward(x, state=None)``
returns ``(out, state)`` with time-major ``out [T, B, num_classes]``, and passing
``state`` back continues the sequence (truncated BPTT). Constructors take plain data,
kept in ``model.config``, so a model is rebuilt from a recipe or a checkpoint with
:func:`build_model`. See docs/models.md.

Examples:
    >>> model = build_model("srnn", preset="ecg")
    >>> twin = build_model(model.model_name, **model.config)
    >>> twin.load_state_dict(model.state_dict())
    <All keys matched successfully>
"""

from __future__ import annotations

from typing import Any

from ._config import ZooModel
from .scnn import SCNN, SCNN_PRESETS
from .srnn import SRNN, SRNN_PRESETS, draw_time_constants
from .diehl_cook import DIEHL_COOK_PRESETS, DiehlCook, DiehlCookState  # STDP (Diehl & Cook 2015)
from .bp_stdp_mlp import BPSTDPNet  # BP-STDP (Tavanaei & Maida 2019)

MODELS: dict[str, type[ZooModel]] = {"scnn": SCNN, "srnn": SRNN}
MODELS.update({"diehl_cook": DiehlCook, "bp_stdp_mlp": BPSTDPNet})  # trained by their own plasticity runs


def build_model(name: str, *, preset: str | None = None, **kwargs: Any) -> ZooModel:
    """Build the zoo model ``name`` (a key of :data:`MODELS`) from plain keyword arguments.

    Args:
        name: ``"scnn"`` or ``"srnn"``.
        preset: optional preset name (``model.PRESETS``) whose arguments ``kwargs`` override.
        **kwargs: the constructor's arguments, e.g. ``**model.config``.

    Raises:
        ValueError: for an unknown model or preset name (the message lists the known ones).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    if preset is not None:
        return cls.preset(preset, **kwargs)
    return cls(**kwargs)


__all__ = ["MODELS", "build_model", "ZooModel", "SCNN", "SCNN_PRESETS", "SRNN", "SRNN_PRESETS",
           "draw_time_constants"]
__all__ += ["DiehlCook", "DiehlCookState", "DIEHL_COOK_PRESETS", "BPSTDPNet"]
