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

from .artifacts import (HTML, Artifact, ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output,
                        OutputPath)
from .compiler import Pipeline, compile, pipeline  # noqa: A004 - KFP's name
from .components import Component, ContainerSpec, Workload, component, container_component
from .tasks import Channel, Collected, Condition, ExitHandler, If, ParallelFor, Task

__all__ = ["Artifact", "Channel", "ClassificationMetrics", "Collected", "Component", "Condition", "ContainerSpec",
           "Dataset", "ExitHandler", "HTML", "If", "Input", "Markdown", "Metrics", "Model", "Output", "OutputPath",
           "ParallelFor", "Pipeline", "Task", "Workload", "compile", "component", "container_component", "pipeline"]
