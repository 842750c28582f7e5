"""Resource names as the CLI accepts them (client/resource_ref.h): singular,
plural or short form, case-insensitively; ``"job/NAME"`` names one."""

from . import errors

# wire name -> (singular, the GetReply field its statuses come in)
TYPES = {
    "jobs": ("job", "jobs"),
    "trainjobs": ("trainjob", "jobs"),
    "nodes": ("node", "nodes"),
    "queues": ("queue", "queues"),
    "experiments": ("experiment", "experiments"),
    "inferenceservices": ("inferenceservice", "services"),
    "tokens": ("token", "tokens"),
    "pipelines": ("pipeline", "pipelines"),
    "runs": ("run", "runs"),
    "recurringruns": ("recurringrun", "recurring_runs"),
    "notebooks": ("notebook", "notebooks"),
}

_ALIASES = {"tj": "trainjobs", "no": "nodes", "exp": "experiments", "isvc": "inferenceservices",
            "pl": "pipelines", "pipelinerun": "runs", "pipelineruns": "runs", "rr": "recurringruns",
            "nb": "notebooks"}
for _wire, (_singular, _) in TYPES.items():
    _ALIASES[_wire] = _wire
    _ALIASES[_singular] = _wire

# The kind a manifest declares -> its resource.
KIND_RESOURCES = {"Job": "jobs", "TrainJob": "trainjobs", "Experiment": "experiments",
                  "InferenceService": "inferenceservices", "Pipeline": "pipelines",
                  "PipelineRun": "runs", "RecurringRun": "recurringruns", "Notebook": "notebooks"}


def resource(word):
    wire = _ALIASES.get(str(word).lower())
    if wire is None:
        raise errors.InvalidArgument(
            f"unknown resource type {word!r} (known: {', '.join(TYPES)})")
    return wire


def _handle(obj):
    """(resource, name) of a handle submit(), tune() or run_pipeline() returned; None otherwise."""
    if isinstance(getattr(obj, "resource", None), str) and isinstance(getattr(obj, "name", None), str):
        return obj.resource, obj.name
    return None


def parse_ref(kind, name=None):
    """("job/hello") or ("job", "hello") -> ("jobs", "hello"); name may be None. A
    handle (``client.submit(...)``'s) names itself."""
    if name is None and _handle(kind):
        return _handle(kind)
    if name is None and "/" in kind:
        kind, name = kind.split("/", 1)
        if not name:
            raise errors.InvalidArgument(f"{kind}/: the name is empty")
    return resource(kind), name


def parse_named(name, default_kind):
    """"trainjob/x" -> ("trainjobs", "x"); "x" -> (default_kind's resource, "x"); a
    handle -> its own kind and name, whatever default_kind says."""
    if _handle(name):
        return _handle(name)
    if "/" in name:
        return parse_ref(name)
    return parse_ref(default_kind, name)
