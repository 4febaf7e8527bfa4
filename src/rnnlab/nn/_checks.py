"""Argument checks shared by cells and layers: fail early and name what was
expected and what arrived (STYLE rule 10)."""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

from rnnlab.nn.autocast import autocast_dtype


def shape_str(shape) -> str:
    """(3, 5, 7) -> "(3, 5, 7)"; (4,) -> "(4,)"."""
    return str(tuple(shape))


def check_size(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise.

    ``bool`` and floats (even 2.0) are refused, as ``torch.nn`` refuses them: a size that
    arrives as a float is usually a computation gone wrong upstream.

    Raises:
        TypeError: not an integer; ValueError: below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"expected {name} to be an integer >= {minimum}, got {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
    return int(value)


def check_probability(name: str, value, *, inclusive_one: bool = True) -> float:
    """Return ``value`` as a float if it is a real number in [0, 1] (or [0, 1)), else raise.

    Raises:
        TypeError: not a real number (``bool`` and strings included); ValueError: NaN,
        infinite or outside the interval.
    """
    interval = "[0, 1]" if inclusive_one else "[0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"expected {name} to be a number in {interval}, got {type(value).__name__} {value!r}"
        )
    p = float(value)
    if not (0.0 <= p <= 1.0) or (p == 1.0 and not inclusive_one):
        raise ValueError(f"expected {name} in {interval}, got {value!r}")
    return p


def check_finite(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite real number, else raise.

    Raises:
        TypeError: not a real number; ValueError: NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"expected {name} to be a finite number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"expected {name} to be a finite number, got {value!r}")
    return float(value)


def check_time_steps(T: int, shape) -> None:
    """Raise if an input (of ``shape``, as it arrived) has T = 0 time steps.

    ``torch.nn``'s layers refuse an empty sequence too ("Expected sequence length to be
    larger than 0"); rnnlab refuses it before either execution path runs, so both agree.
    """
    if T == 0:
        raise ValueError(
            f"expected input with at least one time step (T >= 1), got T = 0 "
            f"(input of shape {shape_str(shape)})"
        )


def check_tensor_like(name: str, tensor: Tensor, reference: Tensor) -> None:
    """Raise if ``tensor``'s dtype or device differs from ``reference`` (a parameter).

    Under ``torch.autocast`` any floating dtype is accepted (``rnnlab.nn.autocast``): the
    output of an autocast layer (bf16) may feed an fp32 layer, as with torch.nn.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected {name} to be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype != reference.dtype and not _autocast_accepts(tensor):
        raise TypeError(
            f"expected {name} of dtype {reference.dtype} (the module's parameters), "
            f"got {tensor.dtype}"
        )
    if tensor.device != reference.device:
        raise RuntimeError(
            f"expected {name} on device {reference.device} (the module's parameters), "
            f"got {tensor.device}"
        )


def _autocast_accepts(tensor: Tensor) -> bool:
    return tensor.is_floating_point() and autocast_dtype(tensor.device.type) is not None


def check_state(name: str, state: Tensor, expected: tuple[int, ...], reference: Tensor) -> None:
    """Raise if a state tensor's shape, dtype or device is not the expected one."""
    check_tensor_like(name, state, reference)
    if tuple(state.shape) != tuple(expected):
        raise ValueError(
            f"expected {name} of shape {shape_str(expected)}, got {shape_str(state.shape)}"
        )


def check_input_features(
    input: Tensor, input_size: int, layouts: dict[int, str], reference: Tensor
) -> None:
    """Check an input's type, dtype, device, rank and last dimension.

    Args:
        input: the tensor that arrived.
        input_size: the expected last dimension.
        layouts: accepted rank -> that layout in words, ``{D}`` standing for
            ``input_size``, e.g. {3: "(B, T, {D}) with batch_first=True", 2: "(T, {D})"}.
            The message quotes the layout of the rank that arrived (else the largest).
        reference: a parameter of the module (its dtype and device are expected).
    """
    check_tensor_like("input", input, reference)
    if input.dim() not in layouts or input.shape[-1] != input_size:
        layout = layouts.get(input.dim(), layouts[max(layouts)]).format(D=input_size)
        raise ValueError(f"expected input of shape {layout}, got {shape_str(input.shape)}")


def zeros_state(shape: tuple[int, ...], reference: Tensor) -> Tensor:
    """A zero state of ``shape`` with the dtype and device of ``reference``."""
    return torch.zeros(shape, dtype=reference.dtype, device=reference.device)
