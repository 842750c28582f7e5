"""What a ``@pipeline`` function builds when it runs: channels between tasks,
tasks, and the groups ``If``, ``ParallelFor`` and ``ExitHandler`` make."""

import contextlib
import inspect
import json

from .. import errors
from .artifacts import _json_type


class Channel:
    """A value known only when the pipeline runs: a pipeline input, a task's
    output, or a loop's item. Pass it to components; compare it in ``If``."""

    def __init__(self, name, ptype=None, schema=None, task=None, loop=None):
        self.name, self.ptype, self.schema, self.task, self.loop = name, ptype, schema, task, loop

    @property
    def is_artifact(self):
        return self.schema is not None

    def key(self):
        """Its name as an input of a sub-DAG (KFP's pipeline channel names)."""
        if self.loop is not None:
            return self.loop.item_key
        if self.task is not None:
            return f"pipelinechannel--{self.task.name}-{self.name}"
        return f"pipelinechannel--{self.name}"

    def _compare(self, op, other):
        if self.is_artifact:
            raise errors.InvalidArgument(f"artifact {self.name} cannot be compared; compare a parameter")
        return _Comparison(self, op, other)

    def __eq__(self, other):
        return self._compare("==", other)

    def __ne__(self, other):
        return self._compare("!=", other)

    def __lt__(self, other):
        return self._compare("<", other)

    def __le__(self, other):
        return self._compare("<=", other)

    def __gt__(self, other):
        return self._compare(">", other)

    def __ge__(self, other):
        return self._compare(">=", other)

    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError(f"{self.name} has no value while the pipeline is built; use dsl.If(...) to branch on it")

    def __str__(self):
        raise TypeError(f"{self.name} has no value while the pipeline is built; pass it to a component")


class _Comparison:
    """``channel OP value``, made by comparing a Channel; ``dsl.If`` takes one."""

    def __init__(self, left, op, right):
        self.left, self.op, self.right = left, op, right

    def channels(self):
        return [c for c in (self.left, self.right) if isinstance(c, Channel)]

    def __bool__(self):
        raise TypeError("a comparison of a pipeline value is decided when the pipeline runs; use dsl.If(...)")

    def expression(self):
        def side(v):
            if isinstance(v, Channel):
                return f"inputs.parameter_values['{v.key()}']"
            if isinstance(v, str):
                return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
            return json.dumps(v)

        return f"{side(self.left)} {self.op} {side(self.right)}"


class Collected:
    """``Collected(task.output)`` for a task inside a ``ParallelFor``: the list of
    its values, one per iteration, for a task after the loop."""

    def __init__(self, channel):
        if not isinstance(channel, Channel) or channel.task is None or channel.is_artifact:
            raise errors.InvalidArgument("Collected takes a task's output parameter")
        self.channel = channel


class Task:
    def __init__(self, component_, name, group, arguments):
        self.component, self.name, self.group = component_, name, group
        self.arguments = arguments  # input name -> Channel, Collected or constant
        self.after_tasks = []
        self.caching = True
        self.retry = None
        self.exit_of = None  # the ExitHandler group this task runs after

    @property
    def outputs(self):
        return {n: Channel(n, s.ptype, s.schema, task=self) for n, s in self.component.outputs.items()}

    @property
    def output(self):
        outs = self.component.outputs
        if len(outs) != 1:
            raise errors.InvalidArgument(
                f"task {self.name} has {len(outs)} outputs ({', '.join(outs) or 'none'}): use .outputs['NAME']")
        return self.outputs[next(iter(outs))]

    def after(self, *tasks):
        self.after_tasks.extend(tasks)
        return self

    def set_caching_options(self, enable_caching):
        self.caching = bool(enable_caching)
        return self

    def set_retry(self, num_retries, backoff_duration=None, backoff_factor=None, backoff_max_duration=None):
        self.retry = {"maxRetryCount": int(num_retries)}
        if backoff_duration is not None:
            self.retry["backoffDuration"] = str(backoff_duration)
        if backoff_factor is not None:
            self.retry["backoffFactor"] = float(backoff_factor)
        if backoff_max_duration is not None:
            self.retry["backoffMaxDuration"] = str(backoff_max_duration)
        return self


class _Group:
    def __init__(self, kind, number, parent):
        self.kind, self.parent = kind, parent
        self.name = "root" if kind == "root" else f"{kind}-{number}"
        self.children = []
        self.inputs = {}  # key -> Channel this sub-DAG takes from outside
        self.collected = {}  # key -> Channel a task inside exposes as a list (Collected)
        self.condition = None
        self.items = None  # a loop's list (raw) or Channel
        self.parallelism = 0
        self.item_key = None
        self.after = set()  # tasks beside it this sub-DAG waits for (task.after inside it)

    def ancestors(self):
        group = self
        while group is not None:
            yield group
            group = group.parent

    def contains(self, other):
        return self in list(other.ancestors())

    def child_toward(self, inner):
        """The direct child of this group that holds ``inner`` (a group below it)."""
        for group in inner.ancestors():
            if group.parent is self:
                return group
        raise AssertionError("not below")


class _Context:
    current = None

    def __init__(self):
        self.root = _Group("root", 0, None)
        self.group = self.root
        self.groups = 0
        self.tasks = {}

    def add_task(self, component_, kwargs):
        unknown = sorted(set(kwargs) - set(component_.inputs))
        if unknown:
            raise errors.InvalidArgument(
                f"{component_.name}: no input {', '.join(unknown)} (inputs: {', '.join(component_.inputs) or 'none'})")
        for name, s in component_.inputs.items():
            if name not in kwargs and s.default is inspect.Parameter.empty:
                raise errors.InvalidArgument(f"{component_.name}: input {name} is required")
            value = kwargs.get(name)
            if s.is_artifact and name in kwargs and not (isinstance(value, Channel) and value.is_artifact):
                raise errors.InvalidArgument(f"{component_.name}: input {name} is an artifact; pass a task's "
                                             "Output[...] (task.outputs['NAME'])")
            if not s.is_artifact and isinstance(value, Channel) and value.is_artifact:
                raise errors.InvalidArgument(f"{component_.name}: input {name} is a parameter, got artifact "
                                             f"{value.name}")
        name = component_.name
        n = 1
        while name in self.tasks:
            n += 1
            name = f"{component_.name}-{n}"
        task = Task(component_, name, self.group, dict(kwargs))
        self.tasks[name] = task
        self.group.children.append(task)
        return task

    @contextlib.contextmanager
    def open_group(self, kind):
        self.groups += 1
        group = _Group(kind, self.groups, self.group)
        self.group.children.append(group)
        self.group = group
        try:
            yield group
        finally:
            self.group = group.parent


def _context():
    if _Context.current is None:
        raise errors.FailedPrecondition("dsl.If, dsl.ParallelFor and dsl.ExitHandler belong in a @pipeline function")
    return _Context.current


@contextlib.contextmanager
def If(condition, name=None):  # noqa: N802 - KFP's name
    """Runs the tasks inside only when ``condition`` (``channel OP value``) holds."""
    if not isinstance(condition, _Comparison):
        raise errors.InvalidArgument("dsl.If takes a comparison of a pipeline value (task.output > 0.5)")
    with _context().open_group("condition") as group:
        group.condition = condition
        yield


Condition = If  # KFP 2.0's name for dsl.If


@contextlib.contextmanager
def ParallelFor(items, parallelism=0):  # noqa: N802 - KFP's name
    """Runs the tasks inside once per item (a list, or a task's LIST output),
    at most ``parallelism`` at once (0: all); yields the item."""
    context = _context()
    if not isinstance(items, (list, tuple, Channel)):
        raise errors.InvalidArgument("ParallelFor takes a list or a task's LIST output")
    if isinstance(items, Channel) and items.ptype not in ("LIST", None):
        raise errors.InvalidArgument(f"ParallelFor over {items.name}: it is {items.ptype}, not a LIST")
    with context.open_group("for-loop") as group:
        group.items = list(items) if isinstance(items, (list, tuple)) else items
        group.parallelism = int(parallelism)
        if isinstance(items, Channel):
            group.item_key = items.key() + "-loop-item"
            item_type = "STRING"
        else:
            group.item_key = f"pipelinechannel--loop-item-param-{context.groups}"
            item_type = _json_type(group.items[0]) if group.items else "STRING"
        yield Channel(group.item_key, item_type, loop=group)


@contextlib.contextmanager
def ExitHandler(exit_task, name=None):  # noqa: N802 - KFP's name
    """Runs ``exit_task`` (made just before) once the tasks inside have finished,
    whether they succeeded or not."""
    context = _context()
    if not isinstance(exit_task, Task) or exit_task.group is not context.group:
        raise errors.InvalidArgument("ExitHandler takes a task made in the same scope just before it")
    with context.open_group("exit-handler") as group:
        exit_task.exit_of = group
        yield
