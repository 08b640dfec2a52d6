"""What every zoo model shares: a plain-data ``config``, named presets, argument checks.

A zoo model is rebuilt from its ``config`` (``build_model(model.model_name,
**model.config)``), so its constructor takes plain data only (ints, floats, strings,
bools, lists and dicts of them) and :class:`ZooModel` records the arguments it was
called with. Presets are dictionaries of such arguments.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar, Mapping

from torch import nn

from ..functional.surrogate import Surrogate, surrogate_from_name

_PLAIN = (bool, int, float, str, type(None))


def plain(value: Any, name: str) -> Any:
    """``value`` as YAML-friendly plain data (tuples become lists), or ``TypeError``."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: plain(v, f"{name}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"{name} must be plain data (int, float, str, bool, or lists/dicts of them) so the model "
        f"can be rebuilt from its config, got {type(value).__name__}"
    )


class ZooModel(nn.Module):
    """Base class of the zoo models: records the constructor arguments as ``config``.

    Subclasses set ``model_name`` (the name :func:`spikeforge.models.build_model`
    knows them by) and ``PRESETS``, and call :meth:`_record_config` first thing in
    ``__init__`` with ``locals()``.
    """

    model_name: ClassVar[str]
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def _record_config(self, arguments: Mapping[str, Any]) -> None:
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        self.config: dict[str, Any] = {n: plain(arguments[n], n) for n in names}

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "ZooModel":
        """Build a named preset (see ``PRESETS``); keyword arguments override its values."""
        if name not in cls.PRESETS:
            raise ValueError(f"unknown {cls.__name__} preset {name!r}; known: {', '.join(sorted(cls.PRESETS))}")
        return cls(**{**cls.PRESETS[name], **overrides})


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_int_list(values: Any, name: str, *, allow_empty: bool = True) -> list[int]:
    if not isinstance(values, (list, tuple)) or (not values and not allow_empty):
        raise ValueError(f"{name} must be a {'' if allow_empty else 'non-empty '}list of positive ints, got {values!r}")
    return [check_positive_int(v, f"{name}[{i}]") for i, v in enumerate(values)]


def check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_non_negative_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def make_surrogate(name: str, kwargs: Mapping[str, float] | None) -> Surrogate:
    """The surrogate object for a recipe name such as ``"atan"`` and its parameters."""
    if not isinstance(name, str):
        raise TypeError(
            f"surrogate must be a name such as 'atan' (with surrogate_kwargs for its parameters), "
            f"got {type(name).__name__}"
        )
    return surrogate_from_name(name, **dict(kwargs or {}))
