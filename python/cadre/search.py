"""Search spaces for ``client.tune``, as Katib's ``feasibleSpace``:
``search.double(1e-4, 1e-2, log=True)``, ``search.int(1, 5)``,
``search.categorical(["sgd", "adam"])``, ``search.discrete([32, 64, 128])``."""

import builtins
import math

from . import errors


class Space:
    def __init__(self, parameter_type, feasible_space):
        self.parameter_type = parameter_type
        self.feasible_space = feasible_space

    def to_parameter(self, name):
        return {"name": name, "parameterType": self.parameter_type, "feasibleSpace": self.feasible_space}

    def __repr__(self):
        return f"Space({self.parameter_type}, {self.feasible_space})"


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (builtins.int, float)) or not math.isfinite(value):
        raise errors.InvalidArgument(f"{what}: expected a finite number, got {value!r}")
    return repr(value) if isinstance(value, float) else str(value)


def _range(kind, low, high, log, step, distribution):
    if low >= high:
        raise errors.InvalidArgument(f"{kind}: min {low!r} must be below max {high!r}")
    if log and low <= 0:
        raise errors.InvalidArgument(f"{kind}: a log scale needs min > 0, got {low!r}")
    space = {"min": _number(low, "min"), "max": _number(high, "max")}
    if step is not None:
        space["step"] = _number(step, "step")
    if distribution is None:
        distribution = "logUniform" if log else "uniform"
    elif log:
        raise errors.InvalidArgument(f"{kind}: give log=True or distribution, not both")
    space["distribution"] = distribution
    return space


def double(low, high, *, log=False, step=None, distribution=None):
    """A real number in [low, high]; ``log`` samples it log-uniformly."""
    return Space("double", _range("double", low, high, log, step, distribution))


def int(low, high, *, log=False, step=None, distribution=None):  # noqa: A001 - Katib's name
    """An integer in [low, high]."""
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, builtins.int):
            raise errors.InvalidArgument(f"int: bounds must be integers, got {v!r}")
    return Space("int", _range("int", low, high, log, step, distribution))


def categorical(values):
    """One of ``values`` (strings), unordered."""
    values = list(values)
    if not values:
        raise errors.InvalidArgument("categorical: the list is empty")
    return Space("categorical", {"list": [str(v) for v in values]})


def discrete(values):
    """One of ``values`` (numbers), ordered."""
    values = list(values)
    if not values:
        raise errors.InvalidArgument("discrete: the list is empty")
    return Space("discrete", {"list": [_number(v, "discrete") for v in values]})
