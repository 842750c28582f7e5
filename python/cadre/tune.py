"""Hyperparameter tuning from Python, as Katib's ``tune()``: an Experiment built
around a command template whose ``{name}`` placeholders take each trial's values.
"""

import re

from . import errors, jobs, search, states

_ALGORITHMS = ("random", "grid", "tpe", "multivariate-tpe", "hyperband", "asha")


def _trial_parameter_name(name):
    """"batch-size" -> "batchSize": a Katib trialParameter name."""
    head, *rest = re.split(r"[^A-Za-z0-9]+", name)
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _substitute(text, names):
    """``{lr}`` -> ``${trialParameters.lr}`` for the searched names only; shell
    ``${VAR}`` and any other brace stay as written."""

    def replace(match):
        name = match.group(1)
        if name not in names:
            return match.group(0)
        return "${trialParameters." + names[name] + "}"

    return re.sub(r"(?<!\$)\{([A-Za-z][A-Za-z0-9_.-]*)\}", replace, text)


def experiment_manifest(*, command, parameters, objective, objective_type="maximize", goal=None,
                        additional_metrics=(), algorithm="random", algorithm_settings=None,
                        max_trials=12, parallel_trials=3, max_failed_trials=None, early_stopping=None,
                        name=None, namespace=None, workers=None, cpu=1, memory="1Gi", gpus=0, env=None,
                        working_dir=None, retain=False, active_deadline_seconds=None, metrics_format=None):
    """The Experiment manifest (a dict) for ``client.tune``.

    ``command``: a list of strings or one shell line, with ``{param}`` where a
    trial's value goes. ``parameters``: ``{name: search.double(...)}``.
    ``objective``: the metric name the trials print (``accuracy=0.88``).
    ``algorithm``: random, grid, tpe, multivariate-tpe, hyperband or asha, with
    ``algorithm_settings`` as Katib names them (``{"max_resource": 3}``).
    ``workers``: run each trial as a TrainJob of that many workers (default: a Job).
    ``early_stopping``: "medianstop", or ``{"min_trials_required": 3}`` for it.
    """
    if not parameters:
        raise errors.InvalidArgument("parameters: at least one is needed")
    if algorithm not in _ALGORITHMS:
        raise errors.InvalidArgument(f"algorithm: {algorithm!r} is not one of {', '.join(_ALGORITHMS)}")
    if objective_type not in ("maximize", "minimize"):
        raise errors.InvalidArgument(f"objective_type: maximize or minimize, not {objective_type!r}")
    names = {}
    for pname, space in parameters.items():
        if not isinstance(space, search.Space):
            raise errors.InvalidArgument(
                f"parameters.{pname}: expected a search space (search.double, search.int, "
                f"search.categorical, search.discrete), got {space!r}")
        names[pname] = _trial_parameter_name(pname)
    if isinstance(command, str):
        command = ["sh", "-c", command]
    command = [_substitute(str(c), names) for c in command]
    trial = jobs.TrainJob(command, name="trial", workers=workers, cpu=cpu, memory=memory, gpus=gpus,
                          env=env, working_dir=working_dir) if workers else \
        jobs.Job(command, name="trial", cpu=cpu, memory=memory, gpus=gpus, env=env, working_dir=working_dir,
                 active_deadline_seconds=active_deadline_seconds)
    trial_manifest = trial.to_manifest()
    trial_spec = {"apiVersion": "cadre/v1", "kind": trial_manifest["kind"], "spec": trial_manifest["spec"]}
    spec = {
        "objective": {"type": objective_type, "objectiveMetricName": objective},
        "algorithm": {"algorithmName": algorithm},
        "parameters": [space.to_parameter(pname) for pname, space in parameters.items()],
        "parallelTrialCount": int(parallel_trials),
        "maxTrialCount": int(max_trials),
        "trialTemplate": {
            "retain": bool(retain),
            "trialParameters": [{"name": names[p], "reference": p} for p in parameters],
            "trialSpec": trial_spec,
        },
    }
    if goal is not None:
        spec["objective"]["goal"] = float(goal)
    if additional_metrics:
        spec["objective"]["additionalMetricNames"] = list(additional_metrics)
    if algorithm_settings:
        spec["algorithm"]["algorithmSettings"] = [{"name": k, "value": str(v)} for k, v in algorithm_settings.items()]
    if max_failed_trials is not None:
        spec["maxFailedTrialCount"] = int(max_failed_trials)
    if early_stopping:
        settings = {} if early_stopping == "medianstop" else dict(early_stopping)
        es = {"algorithmName": "medianstop"}
        if settings:
            es["algorithmSettings"] = [{"name": k, "value": str(v)} for k, v in settings.items()]
        spec["earlyStopping"] = es
    if metrics_format:
        spec["metricsCollectorSpec"] = {"source": {"filter": {"metricsFormat": list(metrics_format)}}}
    metadata = {"name": jobs.check_name(name or jobs.generated_name("tune"))}
    if namespace:
        metadata["namespace"] = jobs.check_name(namespace, "metadata.namespace")
    return {"apiVersion": "cadre/v1", "kind": "Experiment", "metadata": metadata, "spec": spec}


class ExperimentHandle:
    """A started Experiment."""

    resource = "experiments"

    def __init__(self, client, name):
        self.client, self.name = client, name

    def __repr__(self):
        return f"<{self}>"

    def __str__(self):
        return f"experiment/{self.name}"

    @property
    def status(self):
        return self.client._get_one("experiments", self.name)

    def wait(self, timeout=1800.0, *, poll_interval=1.0):
        """Waits until it Succeeded and returns its status; WorkloadFailed if it
        Failed (the reason says why: too many failed trials, ...)."""
        from .client import wait_until

        def done(status):
            if status["phase"] == states.EXPERIMENT_FAILED:
                why = ": ".join(x for x in (status.get("reason"), status.get("message")) if x)
                raise errors.WorkloadFailed(f"experiment/{self.name} failed ({why})", status)
            return status["phase"] == states.EXPERIMENT_SUCCEEDED

        return wait_until(lambda: self.status, done, timeout=timeout, poll_interval=poll_interval,
                          what=f"experiment/{self.name} has not finished")

    def trials(self):
        """Every trial: name, parameters, phase, objective, metrics, ..."""
        return self.status.get("trials") or []

    def best(self):
        """The best trial so far, ``{"trial", "parameters", "metrics"}``; None
        while no trial has succeeded."""
        optimal = self.status.get("current_optimal_trial") or {}
        if not optimal.get("best_trial_name"):
            return None
        return {"trial": optimal["best_trial_name"], "parameters": optimal.get("parameter_assignments", {}),
                "metrics": optimal.get("observation", {})}

    def delete(self):
        return self.client.delete("experiments", self.name)
