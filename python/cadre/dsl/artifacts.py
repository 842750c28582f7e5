"""Artifact types and the input/output annotations of a component's signature,
as KFP v2's ``dsl`` has them."""

import typing

from .. import errors


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
