"""``@pipeline`` and the compiler: a pipeline function to the KFP v2 pipeline
spec (the "IR")."""

import inspect
import json
import re

from .. import errors
from .artifacts import _json_type, _parameter_type
from .components import _component_name
from .tasks import Channel, Collected, Task, _Comparison, _Context


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
