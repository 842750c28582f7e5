"""The state names the SDK compares against, taken from the wire schema's enums
(protocol/states.h), so a renamed state fails at import instead of making a
wait hang."""

from ._wire_schema import ENUMS


def _name(enum, name):
    if name not in ENUMS[enum]:
        raise ImportError(f"{enum} has no state {name!r} ({', '.join(ENUMS[enum])}): SDK and wire disagree")
    return name


JOB_SUCCEEDED = _name("JobPhase", "Succeeded")
JOB_FAILED = _name("JobPhase", "Failed")
JOB_SUSPENDED = _name("JobPhase", "Suspended")
JOB_PHASES = tuple(ENUMS["JobPhase"])


def is_terminal_job(phase):
    return phase in (JOB_SUCCEEDED, JOB_FAILED)
EXPERIMENT_SUCCEEDED = _name("ExperimentPhase", "Succeeded")
EXPERIMENT_FAILED = _name("ExperimentPhase", "Failed")
# A replica whose process may still run (protocol::is_alive).
REPLICA_ALIVE = tuple(_name("ReplicaState", s) for s in ("Starting", "Running", "Terminating"))
RUN_SUCCEEDED = _name("PipelineState", "SUCCEEDED")
RUN_FAILED = _name("PipelineState", "FAILED")
RUN_CANCELED = _name("PipelineState", "CANCELED")
