"""Components: ``@component`` (a Python function run by ``python3`` on an agent)
and ``@container_component`` (a command, or a Cadre workload)."""

import ast
import inspect
import json
import re
import textwrap

from .. import errors
from .artifacts import OutputPath, _ArtifactIO, _parameter_type
from .tasks import _Context


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
