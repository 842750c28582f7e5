"""A pipeline DSL in the shape of the KFP v2 SDK, compiling to the KFP v2
pipeline spec (the "IR") that Cadre runs natively (docs/pipelines.md).

    from cadre import dsl

    @dsl.component
    def add(a: float, b: float) -> float:
        return a + b

    @dsl.pipeline(name="adder")
    def adder(x: float = 1.0):
        first = add(a=x, b=2.0)
        with dsl.If(first.output > 2):
            add(a=first.output, b=1.0)

    spec = dsl.compile(adder)          # a dict: the KFP v2 pipeline spec

A ``@component`` is a Python function run by ``python3`` on the agent (its body
imports what it needs, as KFP's lightweight components); ``@container_component``
returns a ``ContainerSpec`` (a command) or a ``Workload`` (a Cadre Job, TrainJob,
Experiment or InferenceService). Inside ``@pipeline`` a call makes a task; ``If``,
``Elif``/``Else`` are not supported, ``ParallelFor`` (with ``Collected``) and
``ExitHandler`` make sub-DAGs, as the KFP compiler does.
"""

import ast
import contextlib
import inspect
import json
import re
import textwrap
import typing

from . import errors

# ---------------------------------------------------------------------------
# Artifact types and I/O annotations
# ---------------------------------------------------------------------------


class Artifact:
    """An artifact: a file or folder at ``path`` (``uri`` is its file:// URI)
    with JSON ``metadata``."""

    schema_title = "system.Artifact"


class Dataset(Artifact):
    schema_title = "system.Dataset"


class Model(Artifact):
    schema_title = "system.Model"


class Metrics(Artifact):
    schema_title = "system.Metrics"


class ClassificationMetrics(Artifact):
    schema_title = "system.ClassificationMetrics"


class HTML(Artifact):
    schema_title = "system.HTML"


class Markdown(Artifact):
    schema_title = "system.Markdown"


_ARTIFACT_CLASSES = {c.__name__: c for c in (Artifact, Dataset, Model, Metrics, ClassificationMetrics, HTML, Markdown)}


class _ArtifactIO:
    def __init__(self, direction, artifact_class):
        self.direction, self.artifact_class = direction, artifact_class


class _IO:
    def __init__(self, direction):
        self.direction = direction

    def __getitem__(self, artifact_class):
        if not (isinstance(artifact_class, type) and issubclass(artifact_class, Artifact)):
            raise TypeError(f"{self.direction.capitalize()}[...] takes an artifact type (Dataset, Model, ...)")
        return _ArtifactIO(self.direction, artifact_class)


Input = _IO("input")
Output = _IO("output")


class OutputPath:
    """``out: OutputPath(str)``: the component writes an output parameter to the
    file at this path."""

    def __init__(self, type=str):  # noqa: A002 - KFP's name
        self.type = type


_PARAMETER_TYPES = {int: "NUMBER_INTEGER", float: "NUMBER_DOUBLE", str: "STRING", bool: "BOOLEAN",
                    list: "LIST", dict: "STRUCT"}


def _parameter_type(annotation, where):
    origin = typing.get_origin(annotation) or annotation
    if origin in _PARAMETER_TYPES:
        return _PARAMETER_TYPES[origin]
    raise errors.InvalidArgument(
        f"{where}: type {annotation!r} is not a pipeline parameter type (int, float, str, bool, list, dict)"
        " nor Input[...]/Output[...] of an artifact type")


def _json_type(value):
    for py, name in ((bool, "BOOLEAN"), (int, "NUMBER_INTEGER"), (float, "NUMBER_DOUBLE"), (str, "STRING"),
                     (list, "LIST"), (dict, "STRUCT")):
        if isinstance(value, py):
            return name
    raise errors.InvalidArgument(f"{value!r} is not a pipeline value (int, float, str, bool, list, dict)")


# ---------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------


class _Spec:
    """One input or output of a component."""

    def __init__(self, name, io, ptype=None, schema=None, default=inspect.Parameter.empty):
        self.name, self.io, self.ptype, self.schema, self.default = name, io, ptype, schema, default

    @property
    def is_artifact(self):
        return self.schema is not None


def _component_name(function_name):
    return re.sub(r"[^a-z0-9-]", "-", function_name.lower()).strip("-")


def _signature(func):
    """The inputs and outputs a function declares: parameters, Input[...] and
    Output[...] artifacts, OutputPath(...) parameters, and its return value."""
    hints = inspect.get_annotations(func, eval_str=True)
    inputs, outputs = {}, {}
    for name, p in inspect.signature(func).parameters.items():
        annotation = hints.get(name, inspect.Parameter.empty)
        where = f"{func.__name__}({name})"
        if isinstance(annotation, _ArtifactIO):
            target = inputs if annotation.direction == "input" else outputs
            target[name] = _Spec(name, annotation.direction, schema=annotation.artifact_class.schema_title)
        elif isinstance(annotation, OutputPath):
            outputs[name] = _Spec(name, "output_path", ptype=_parameter_type(annotation.type, where))
        elif annotation is inspect.Parameter.empty:
            raise errors.InvalidArgument(f"{where}: every argument needs a type annotation")
        else:
            inputs[name] = _Spec(name, "input", ptype=_parameter_type(annotation, where), default=p.default)
    returns = hints.get("return", None)
    if returns not in (None, type(None), inspect.Signature.empty):
        fields = getattr(returns, "__annotations__", None) if hasattr(returns, "_fields") else None
        if fields:
            for field, t in fields.items():
                outputs[field] = _Spec(field, "return", ptype=_parameter_type(t, f"{func.__name__} -> {field}"))
        else:
            outputs["Output"] = _Spec("Output", "return", ptype=_parameter_type(returns, f"{func.__name__} ->"))
    return inputs, outputs


def _resources(cpu, memory, gpus):
    out = {}
    if cpu is not None:
        out["resourceCpuLimit"] = str(cpu)
    if memory is not None:
        out["resourceMemoryLimit"] = str(memory)
    if gpus:
        out["accelerator"] = {"count": str(int(gpus))}
    return out


class Component:
    """A pipeline step definition; calling it inside a ``@pipeline`` makes a task."""

    def __init__(self, func, name, inputs, outputs, executor):
        self.python_func, self.name = func, name
        self.inputs, self.outputs, self.executor = inputs, outputs, executor
        self.description = inspect.getdoc(func) or ""

    def __call__(self, **kwargs):
        context = _Context.current
        if context is None:
            raise errors.FailedPrecondition(
                f"component {self.name} is called outside a @pipeline function "
                f"(call {self.name}.python_func(...) to run the function itself)")
        return context.add_task(self, kwargs)

    def spec(self):
        definition = {"executorLabel": "exec-" + self.name}
        ins = {"parameters": {}, "artifacts": {}}
        for s in self.inputs.values():
            if s.is_artifact:
                ins["artifacts"][s.name] = {"artifactType": {"schemaTitle": s.schema, "schemaVersion": "0.0.1"}}
            else:
                entry = {"parameterType": s.ptype}
                if s.default is not inspect.Parameter.empty:
                    entry["isOptional"] = True
                    if s.default is not None:
                        entry["defaultValue"] = s.default
                ins["parameters"][s.name] = entry
        outs = {"parameters": {}, "artifacts": {}}
        for s in self.outputs.values():
            if s.is_artifact:
                outs["artifacts"][s.name] = {"artifactType": {"schemaTitle": s.schema, "schemaVersion": "0.0.1"}}
            else:
                outs["parameters"][s.name] = {"parameterType": s.ptype}
        if any(ins.values()):
            definition["inputDefinitions"] = {k: v for k, v in ins.items() if v}
        if any(outs.values()):
            definition["outputDefinitions"] = {k: v for k, v in outs.items() if v}
        return definition


_RUNTIME = r'''
import json as _json, os as _os, sys as _sys


class Artifact:
    schema_title = "system.Artifact"

    def __init__(self, name="", uri="", metadata=None):
        self.name, self.uri, self.metadata = name, uri, dict(metadata or {})

    @property
    def path(self):
        return self.uri[len("file://"):] if self.uri.startswith("file://") else self.uri

    def log_metric(self, metric, value):
        self.metadata[metric] = value


def _cadre_run(func, io):
    ex = _json.loads(_sys.argv[1])
    inputs, outputs = ex.get("inputs", {}), ex.get("outputs", {})
    kwargs, produced = {}, {}
    values = inputs.get("parameterValues", {})
    for name in io["parameters"]:
        if name in values:
            kwargs[name] = values[name]
    for name in io["input_artifacts"]:
        a = inputs["artifacts"][name]["artifacts"][0]
        kwargs[name] = Artifact(name, a.get("uri", ""), a.get("metadata"))
    for name in io["output_artifacts"]:
        a = outputs["artifacts"][name]["artifacts"][0]
        kwargs[name] = produced[name] = Artifact(name, a.get("uri", ""), a.get("metadata"))
        _os.makedirs(_os.path.dirname(kwargs[name].path), exist_ok=True)
    for name in io["output_paths"]:
        kwargs[name] = outputs["parameters"][name]["outputFile"]
    result = func(**kwargs)
    returned = io["returns"]
    if returned == ["Output"]:
        result = {"Output": result}
    elif returned:
        result = dict(zip(returned, result))
    for name, value in (result or {}).items():
        with open(outputs["parameters"][name]["outputFile"], "w") as f:
            f.write(value if isinstance(value, str) else _json.dumps(value))
    executor_output = {"artifacts": {n: {"artifacts": [{"name": n, "uri": a.uri, "metadata": a.metadata}]}
                                     for n, a in produced.items() if a.metadata}}
    if executor_output["artifacts"] and outputs.get("outputFile"):
        with open(outputs["outputFile"], "w") as f:
            _json.dump(executor_output, f)
'''


def _function_source(func):
    """The function's own source without its decorators."""
    source = textwrap.dedent(inspect.getsource(func))
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return "\n".join(source.splitlines()[node.lineno - 1:]) + "\n"


def component(func=None, *, base_image="python:3", cpu=None, memory=None, gpus=0, packages_to_install=None):
    """A Python function as a step: run with ``python3`` on the agent, its
    arguments from the step's inputs, its return value (a parameter, or a
    NamedTuple of them) and its ``Output[...]`` artifacts as the step's outputs.
    The function must be self-contained: it imports what it uses in its body.
    ``base_image`` is recorded, not pulled; ``packages_to_install`` is refused
    (nothing is installed on the agent)."""
    if packages_to_install:
        raise errors.InvalidArgument(
            "packages_to_install: Cadre runs steps on the agent's own Python; install them on the nodes")

    def wrap(f):
        inputs, outputs = _signature(f)
        io = {
            "parameters": [n for n, s in inputs.items() if not s.is_artifact],
            "input_artifacts": [n for n, s in inputs.items() if s.is_artifact],
            "output_artifacts": [n for n, s in outputs.items() if s.io == "output"],
            "output_paths": [n for n, s in outputs.items() if s.io == "output_path"],
            "returns": [n for n, s in outputs.items() if s.io == "return"],
        }
        # Annotations are not evaluated in the step (they name SDK types the agent's
        # Python need not have); the runtime gives artifacts .path, .uri, .metadata.
        script = ("from __future__ import annotations\n" + _RUNTIME + "\n" + _function_source(f) +
                  f"\n_cadre_run({f.__name__}, {json.dumps(io)})\n")
        container = {"image": base_image, "command": ["python3", "-c", script], "args": ["{{$}}"]}
        resources = _resources(cpu, memory, gpus)
        if resources:
            container["resources"] = resources
        return Component(f, _component_name(f.__name__), inputs, outputs, {"container": container})

    return wrap(func) if func is not None else wrap


class ContainerSpec:
    """What a ``@container_component`` returns: a command with placeholders."""

    def __init__(self, image="debian:12", command=None, args=None, env=None):
        self.image, self.command, self.args, self.env = image, list(command or []), list(args or []), env


class Workload:
    """What a ``@container_component`` may return instead: a Cadre workload as the
    step (Job, TrainJob, Experiment or InferenceService), its spec with
    placeholders anywhere. A ``cadre.Job`` or ``cadre.TrainJob`` object works too."""

    def __init__(self, kind, spec, metadata=None):
        self.kind, self.spec, self.metadata = kind, spec, metadata


class _Placeholder(str):
    """A placeholder the launcher substitutes; a str, so f-strings keep it."""


class _ArtifactPlaceholder:
    def __init__(self, direction, name):
        base = f"{{{{$.{direction}.artifacts['{name}']"
        self.path = _Placeholder(base + ".path}}")
        self.uri = _Placeholder(base + ".uri}}")
        self.metadata = _Placeholder(base + ".metadata}}")

    def __str__(self):
        return self.path


def _strings(value):
    """Placeholder objects in a spec made plain strings."""
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strings(v) for v in value]
    if isinstance(value, _ArtifactPlaceholder):
        return str(value.path)
    if isinstance(value, str):
        return str(value)
    return value


def container_component(func=None, *, cpu=None, memory=None, gpus=0):
    """A step defined by what the function returns when called with placeholders:
    a ``ContainerSpec`` (a command) or a ``Workload`` (a Cadre workload)."""

    def wrap(f):
        inputs, outputs = _signature(f)
        for s in outputs.values():
            if s.io == "return":
                raise errors.InvalidArgument(
                    f"{f.__name__}: a container component returns its spec; declare outputs as "
                    "OutputPath(...) or Output[...] arguments")
        kwargs = {}
        for name, s in inputs.items():
            kwargs[name] = (_ArtifactPlaceholder("inputs", name) if s.is_artifact
                            else _Placeholder(f"{{{{$.inputs.parameters['{name}']}}}}"))
        for name, s in outputs.items():
            kwargs[name] = (_ArtifactPlaceholder("outputs", name) if s.is_artifact
                            else _Placeholder(f"{{{{$.outputs.parameters['{name}'].output_file}}}}"))
        made = f(**kwargs)
        if hasattr(made, "to_manifest"):
            manifest = made.to_manifest()
            made = Workload(manifest["kind"], manifest["spec"])
        if isinstance(made, ContainerSpec):
            if not made.command:
                raise errors.InvalidArgument(f"{f.__name__}: ContainerSpec needs a command")
            container = {"image": made.image, "command": _strings(made.command)}
            if made.args:
                container["args"] = _strings(made.args)
            if made.env:
                container["env"] = [{"name": k, "value": str(v)} for k, v in made.env.items()]
            resources = _resources(cpu, memory, gpus)
            if resources:
                container["resources"] = resources
            executor = {"container": container}
        elif isinstance(made, Workload):
            workload = {"kind": made.kind, "spec": _strings(made.spec)}
            if made.metadata:
                workload["metadata"] = _strings(made.metadata)
            executor = {"cadre": workload}
        else:
            raise errors.InvalidArgument(
                f"{f.__name__}: a container component returns ContainerSpec(...) or Workload(...), "
                f"not {type(made).__name__}")
        return Component(f, _component_name(f.__name__), inputs, outputs, executor)

    return wrap(func) if func is not None else wrap


# ---------------------------------------------------------------------------
# Channels, tasks and groups (what a @pipeline function builds)
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Pipelines and the compiler
# ---------------------------------------------------------------------------


class Pipeline:
    def __init__(self, func, name, description):
        self.python_func, self.name, self.description = func, name, description

    def __call__(self, *args, **kwargs):
        raise errors.FailedPrecondition(
            f"pipeline {self.name} is compiled, not called: dsl.compile({self.python_func.__name__}) or "
            "client.run_pipeline(...)")

    def compile(self):
        return compile(self)


def pipeline(func=None, *, name=None, description=None):
    """A pipeline: the function's arguments (annotated, with defaults) are its
    parameters; its body calls components."""

    def wrap(f):
        pname = name or _component_name(f.__name__)
        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", pname):
            raise errors.InvalidArgument(f"pipeline name {pname!r} is not a DNS label")
        return Pipeline(f, pname, description if description is not None else (inspect.getdoc(f) or ""))

    return wrap(func) if func is not None else wrap


def compile(pipeline_, package_path=None):  # noqa: A001 - KFP's name
    """The KFP v2 pipeline spec of ``pipeline_`` as a dict; with
    ``package_path`` also written there (as JSON, which is YAML)."""
    if not isinstance(pipeline_, Pipeline):
        raise errors.InvalidArgument("compile takes a @pipeline function")
    spec = _Compiler(pipeline_).run()
    if package_path:
        with open(package_path, "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=2)
            f.write("\n")
    return spec


class _Compiler:
    def __init__(self, pipeline_):
        self.pipeline = pipeline_
        self.components = {}  # comp name -> spec
        self.executors = {}
        self.names = {}  # Component -> its comp-/exec- name

    def run(self):
        func = self.pipeline.python_func
        context = _Context()
        parameters = {}
        for pname, p in inspect.signature(func).parameters.items():
            if p.annotation is inspect.Parameter.empty:
                raise errors.InvalidArgument(f"pipeline {self.pipeline.name}: parameter {pname} needs a type annotation")
            ptype = _parameter_type(p.annotation, f"pipeline {self.pipeline.name}({pname})")
            parameters[pname] = (ptype, p.default)
        channels = {n: Channel(n, t) for n, (t, _) in parameters.items()}
        previous, _Context.current = _Context.current, context
        try:
            returned = func(**channels)
        finally:
            _Context.current = previous
        # A loop exposes what Collected takes from it before any DAG is written.
        for task in context.tasks.values():
            for value in task.arguments.values():
                if isinstance(value, Collected):
                    loop = value.channel.task.group
                    if loop.kind != "for-loop":
                        raise errors.InvalidArgument(
                            f"Collected({value.channel.task.name}.{value.channel.name}): the task must be "
                            "directly inside a ParallelFor")
                    loop.collected[value.channel.key()] = value.channel
        root_dag = self.dag(context.root)
        root = {"dag": root_dag}
        if parameters:
            definitions = {}
            for n, (t, default) in parameters.items():
                entry = {"parameterType": t}
                if default is not inspect.Parameter.empty:
                    entry["isOptional"] = True
                    if default is not None:
                        entry["defaultValue"] = default
                definitions[n] = entry
            root["inputDefinitions"] = {"parameters": definitions}
        if returned is not None:
            outputs = returned if isinstance(returned, dict) else {"Output": returned}
            dag_outputs, definitions = {}, {}
            for out_name, ch in outputs.items():
                if not isinstance(ch, Channel) or ch.task is None or ch.task.group is not context.root or ch.is_artifact:
                    raise errors.InvalidArgument(
                        f"pipeline {self.pipeline.name}: output {out_name} must be an output parameter of a task "
                        "at the pipeline's top level")
                dag_outputs[out_name] = {"valueFromParameter": {"producerSubtask": ch.task.name,
                                                                "outputParameterKey": ch.name}}
                definitions[out_name] = {"parameterType": ch.ptype}
            root_dag["outputs"] = {"parameters": dag_outputs}
            root["outputDefinitions"] = {"parameters": definitions}
        info = {"name": self.pipeline.name}
        if self.pipeline.description:
            info["description"] = self.pipeline.description
        return {"components": dict(sorted(self.components.items())),
                "deploymentSpec": {"executors": dict(sorted(self.executors.items()))},
                "pipelineInfo": info, "root": root, "schemaVersion": "2.1.0", "sdkVersion": "cadre-python"}

    def component_name(self, component_):
        if component_ not in self.names:
            base, n = component_.name, 1
            name = base
            while "comp-" + name in self.components:
                n += 1
                name = f"{base}-{n}"
            self.names[component_] = name
            definition = component_.spec()
            definition["executorLabel"] = "exec-" + name
            self.components["comp-" + name] = definition
            self.executors["exec-" + name] = component_.executor
        return self.names[component_]

    # -- how a DAG refers to a channel --

    def reference(self, group, ch, entry, input_name, dependencies):
        """Fills ``entry`` (a task's input) with how ``group``'s DAG reads ``ch``."""
        if isinstance(ch, Collected):
            loop = ch.channel.task.group
            if loop.parent is not group:
                raise errors.InvalidArgument(
                    f"Collected({ch.channel.task.name}.{ch.channel.name}) is used outside the scope that holds "
                    f"its ParallelFor ({loop.name})")
            entry["taskOutputParameter"] = {"producerTask": loop.name, "outputParameterKey": ch.channel.key()}
            dependencies.add(loop.name)
            return
        kind = "Artifact" if ch.is_artifact else "Parameter"
        if ch.loop is not None:
            if not ch.loop.contains(group):
                raise errors.InvalidArgument(f"a loop item is used outside its ParallelFor ({ch.loop.name})")
            if group is not ch.loop:
                self.need(group, ch)
            entry["componentInputParameter"] = ch.key()
            return
        if ch.task is None:  # a pipeline input
            if group.kind == "root":
                entry["componentInputParameter"] = ch.name
            else:
                self.need(group, ch)
                entry["componentInput" + kind] = ch.key()
            return
        producer_group = ch.task.group
        if producer_group is group:
            entry["taskOutput" + kind] = {"producerTask": ch.task.name, f"output{kind}Key": ch.name}
            dependencies.add(ch.task.name)
            return
        if group.contains(producer_group):
            raise errors.InvalidArgument(
                f"{ch.task.name}.{ch.name} is made inside {group.child_toward(producer_group).name} and used outside "
                "it (a ParallelFor's outputs reach later tasks only through dsl.Collected)")
        self.need(group, ch)
        entry["componentInput" + kind] = ch.key()

    def need(self, group, ch):
        group.inputs[ch.key()] = ch

    # -- a DAG and the sub-DAG components below it --

    def dag(self, group):
        tasks = {}
        for child in group.children:
            if isinstance(child, Task):
                tasks[child.name] = self.task_entry(group, child)
            else:
                tasks[child.name] = self.group_entry(group, child)
        for task in (c for c in group.children if isinstance(c, Task) and c.exit_of is not None):
            entry = tasks[task.name]
            entry.setdefault("dependentTasks", [])
            entry["dependentTasks"] = sorted(set(entry["dependentTasks"]) | {task.exit_of.name})
            entry["triggerPolicy"] = {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
        return {"tasks": tasks}

    def task_entry(self, group, task):
        dependencies = set()
        parameters, artifacts = {}, {}
        for name, value in task.arguments.items():
            entry = {}
            if isinstance(value, (Channel, Collected)):
                self.reference(group, value, entry, name, dependencies)
                (artifacts if isinstance(value, Channel) and value.is_artifact else parameters)[name] = entry
            elif isinstance(value, _Comparison):
                raise errors.InvalidArgument(f"{task.name}({name}): a comparison is not a value; use dsl.If")
            else:
                _json_type(value)
                parameters[name] = {"runtimeValue": {"constant": value}}
        for other in task.after_tasks:
            self.after(group, task, other, dependencies)
        entry = {"componentRef": {"name": "comp-" + self.component_name(task.component)},
                 "taskInfo": {"name": task.name},
                 "cachingOptions": {"enableCache": True} if task.caching else {}}
        if parameters or artifacts:
            entry["inputs"] = {k: v for k, v in (("parameters", parameters), ("artifacts", artifacts)) if v}
        if dependencies:
            entry["dependentTasks"] = sorted(dependencies)
        if task.retry:
            entry["retryPolicy"] = task.retry
        return entry

    def after(self, group, task, other, dependencies):
        """``task.after(other)`` as a dependency at the level both share."""
        if other.group is group:
            dependencies.add(other.name)
        elif other.group.contains(group):  # other is above: the sub-DAG holding task waits
            other.group.child_toward(group).after.add(other.name)
        elif group.contains(other.group):  # other is below: wait for the sub-DAG holding it
            dependencies.add(group.child_toward(other.group).name)
        else:
            raise errors.InvalidArgument(f"{task.name}.after({other.name}): {other.name} is in another branch "
                                         "of the pipeline; make the dependency at a level both share")

    def group_entry(self, parent, group):
        inner = self.dag(group)  # fills group.inputs and group.after
        dependencies = set(group.after)
        parameters, artifacts = {}, {}
        entry = {"componentRef": {"name": "comp-" + group.name}, "taskInfo": {"name": group.name}}
        if group.condition is not None:
            for ch in group.condition.channels():
                self.need(group, ch)
            entry["triggerPolicy"] = {"condition": group.condition.expression()}
        if group.kind == "for-loop":
            if isinstance(group.items, Channel):
                self.need(group, group.items)
                items = {"inputParameter": group.items.key()}
            else:
                items = {"raw": json.dumps(group.items)}
            entry["parameterIterator"] = {"itemInput": group.item_key, "items": items}
            if group.parallelism:
                entry["iteratorPolicy"] = {"parallelismLimit": group.parallelism}
        definitions = {"parameters": {}, "artifacts": {}}
        for key, ch in sorted(group.inputs.items()):
            input_entry = {}
            self.reference(parent, ch, input_entry, key, dependencies)
            if ch.is_artifact:
                artifacts[key] = input_entry
                definitions["artifacts"][key] = {"artifactType": {"schemaTitle": ch.schema, "schemaVersion": "0.0.1"}}
            else:
                parameters[key] = input_entry
                definitions["parameters"][key] = {"parameterType": ch.ptype or "STRING"}
        if group.kind == "for-loop":
            item_type = "STRING" if isinstance(group.items, Channel) else (
                _json_type(group.items[0]) if group.items else "STRING")
            definitions["parameters"][group.item_key] = {"parameterType": item_type}
        if parameters or artifacts:
            entry["inputs"] = {k: v for k, v in (("parameters", parameters), ("artifacts", artifacts)) if v}
        if dependencies:
            entry["dependentTasks"] = sorted(dependencies)
        component_spec = {"dag": inner}
        if any(definitions.values()):
            component_spec["inputDefinitions"] = {k: v for k, v in definitions.items() if v}
        if group.collected:
            inner["outputs"] = {"parameters": {
                key: {"valueFromParameter": {"producerSubtask": ch.task.name, "outputParameterKey": ch.name}}
                for key, ch in sorted(group.collected.items())}}
            component_spec["outputDefinitions"] = {"parameters": {
                key: {"parameterType": "LIST"} for key in sorted(group.collected)}}
        self.components["comp-" + group.name] = component_spec
        return entry


__all__ = ["Artifact", "ClassificationMetrics", "Collected", "ContainerSpec", "Dataset", "ExitHandler", "HTML",
           "If", "Input", "Markdown", "Metrics", "Model", "Output", "OutputPath", "ParallelFor", "Workload",
           "compile", "component", "container_component", "pipeline"]
