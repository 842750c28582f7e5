"""Jobs and TrainJobs from Python, in the spirit of Kubeflow's TrainerClient:
build one from keyword arguments, ``client.submit(...)`` it, and hold the handle.
"""

import re
import secrets

from . import errors, states

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_name(name, what="metadata.name"):
    if not isinstance(name, str) or not _DNS_LABEL.match(name):
        raise errors.InvalidArgument(
            f"{what}: {name!r} is not a DNS label (1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit)")
    return name


def generated_name(prefix):
    """PREFIX-xxxxx, as the CLI names a run it starts without --name."""
    return f"{prefix}-{secrets.token_hex(3)[:5]}"


def _template(command, args, env, working_dir, cpu, memory, gpus):
    if isinstance(command, str):
        command = ["sh", "-c", command]
    if not command or not all(isinstance(c, str) for c in command):
        raise errors.InvalidArgument("command: a non-empty list of strings (or one shell line)")
    template = {"command": list(command)}
    if args:
        template["args"] = [str(a) for a in args]
    if env:
        template["env"] = [{"name": str(k), "value": str(v)} for k, v in env.items()]
    if working_dir:
        template["workingDir"] = working_dir
    res = {}
    if cpu is not None:
        res["cpu"] = cpu if isinstance(cpu, str) else f"{int(round(float(cpu) * 1000))}m"
    if memory is not None:
        res["memory"] = str(memory)
    if gpus:
        res["gpu"] = int(gpus)
    if res:
        template["resources"] = res
    return template


def _metadata(name, namespace, labels):
    metadata = {"name": check_name(name)}
    if namespace:
        metadata["namespace"] = check_name(namespace, "metadata.namespace")
    if labels:
        metadata["labels"] = {str(k): str(v) for k, v in labels.items()}
    return metadata


def _scheduling(priority, preemption_policy, queue):
    """A schedulingPolicy map from the arguments given (None: left to the default)."""
    scheduling = {}
    if priority is not None:
        scheduling["priority"] = int(priority)  # higher is placed first, and may preempt
    if preemption_policy is not None:
        if preemption_policy not in ("PreemptLowerPriority", "Never"):
            raise errors.InvalidArgument(
                "preemption_policy: must be PreemptLowerPriority or Never, got "
                f"{preemption_policy!r}")
        scheduling["preemptionPolicy"] = preemption_policy
    if queue is not None:
        scheduling["queue"] = check_name(queue, "queue")  # counted against its quota, if any
    return scheduling


class Job:
    """One replica running ``command`` (a list, or one shell line)."""

    def __init__(self, command, *, name=None, args=None, env=None, working_dir=None, cpu=None,
                 memory=None, gpus=0, namespace=None, labels=None, active_deadline_seconds=None,
                 suspend=False, priority=None, preemption_policy=None, queue=None):
        self.name = check_name(name or generated_name("job"))
        self.namespace, self.labels = namespace, labels
        self.template = _template(command, args, env, working_dir, cpu, memory, gpus)
        self.active_deadline_seconds = active_deadline_seconds
        self.suspend = bool(suspend)
        self.scheduling = _scheduling(priority, preemption_policy, queue)

    def to_manifest(self):
        spec = {"template": self.template}
        if self.active_deadline_seconds is not None:
            spec["activeDeadlineSeconds"] = int(self.active_deadline_seconds)
        if self.suspend:
            spec["suspend"] = True
        if self.scheduling:
            spec["schedulingPolicy"] = self.scheduling
        return {"apiVersion": "cadre/v1", "kind": "Job",
                "metadata": _metadata(self.name, self.namespace, self.labels), "spec": spec}


class TrainJob:
    """Distributed training: ``workers`` replicas of ``command`` (and ``ps``
    parameter servers running ``ps_command``, default the same command). Every
    replica gets the environment contract (CADRE_RANK, WORLD_SIZE, MASTER_ADDR,
    TF_CONFIG, ...); an all-reduce gang restarts together."""

    def __init__(self, command, *, name=None, workers=1, args=None, env=None, working_dir=None,
                 cpu=1, memory="1Gi", gpus=0, ps=0, ps_command=None, restart_policy="OnFailure",
                 backoff_limit=3, namespace=None, labels=None, active_deadline_seconds=None,
                 suspend=False, priority=None, preemption_policy=None, queue=None):
        if int(workers) < 1:
            raise errors.InvalidArgument(f"workers: must be >= 1, got {workers}")
        if int(ps) < 0:
            raise errors.InvalidArgument(f"ps: must be >= 0, got {ps}")
        self.name = check_name(name or generated_name("train"))
        self.namespace, self.labels = namespace, labels
        template = _template(command, args, env, working_dir, cpu, memory, gpus)
        self.replica_specs = {"Worker": {"replicas": int(workers), "restartPolicy": restart_policy,
                                         "template": template}}
        if ps:
            ps_template = _template(ps_command or command, args, env, working_dir, cpu, memory, 0)
            self.replica_specs["PS"] = {"replicas": int(ps), "restartPolicy": restart_policy,
                                        "template": ps_template}
        self.run_policy = {"backoffLimit": int(backoff_limit)}
        if active_deadline_seconds is not None:
            self.run_policy["activeDeadlineSeconds"] = int(active_deadline_seconds)
        if suspend:
            self.run_policy["suspend"] = True  # created Suspended: resume() starts it
        scheduling = _scheduling(priority, preemption_policy, queue)
        if scheduling:
            self.run_policy["schedulingPolicy"] = scheduling

    def to_manifest(self):
        return {"apiVersion": "cadre/v1", "kind": "TrainJob",
                "metadata": _metadata(self.name, self.namespace, self.labels),
                "spec": {"runPolicy": self.run_policy, "replicaSpecs": self.replica_specs}}


class JobHandle:
    """A submitted Job or TrainJob."""

    def __init__(self, client, resource, name):
        self.client, self.resource, self.name = client, resource, name

    def __repr__(self):
        return f"<{self}>"

    def __str__(self):
        return f"{self.resource[:-1]}/{self.name}"

    @property
    def status(self):
        """Its status now: a dict with phase, reason, message, replicas, metrics, ..."""
        return self.client._get_one(self.resource, self.name)

    @property
    def phase(self):
        return self.status["phase"]

    def wait(self, timeout=600.0, *, phase=states.JOB_SUCCEEDED, poll_interval=0.5):
        """Waits until the job is in ``phase`` and returns its status. A job that
        ends in another phase raises WorkloadFailed with the reason and the tail
        of its log; DeadlineExceeded when ``timeout`` seconds pass first."""
        from .client import wait_until

        if phase not in states.JOB_PHASES:
            raise errors.InvalidArgument(f"phase: {phase!r} is not one of {', '.join(states.JOB_PHASES)}")

        def done(status):
            if status["phase"] == phase:
                return True
            if status["phase"] in (states.JOB_SUCCEEDED, states.JOB_FAILED):
                why = ": ".join(x for x in (status.get("reason"), status.get("message")) if x)
                raise errors.WorkloadFailed(
                    f"{self.resource[:-1]}/{self.name} ended {status['phase']}" + (f" ({why})" if why else ""),
                    status, self.client.log_tail(self.name, kind=self.resource))
            return False

        return wait_until(lambda: self.status, done, timeout=timeout, poll_interval=poll_interval,
                          what=f"{self.resource[:-1]}/{self.name} was not {phase}")

    def metrics(self, history=False, *, metric=None):
        """The last value of each metric (``{"accuracy": 0.88, ...}``); with
        ``history``, every stored point by metric name: ``{"loss": [{"step": 1,
        "value": 0.5, "replica": ..., "time_ms": ...}, ...]}``, oldest first."""
        if not history:
            latest = self.status.get("metrics") or {}
            return {k: v for k, v in latest.items() if metric is None or k == metric}
        by_name = {}
        for point in self.client.metrics_history(self.name, kind=self.resource, metric=metric):
            by_name.setdefault(point["name"], []).append(
                {"step": point["step"], "value": point["value"], "replica": point["replica"],
                 "time_ms": point["time_ms"]})
        return by_name

    def logs(self, replica=None, *, follow=False, timeout=None, all_replicas=False):
        if all_replicas:
            if replica is not None:
                raise errors.InvalidArgument("all_replicas reads every replica; replica names one")
            return self.client.all_logs(self.name, follow=follow, kind=self.resource, timeout=timeout)
        return self.client.logs(self.name, replica, follow=follow, kind=self.resource, timeout=timeout)

    def suspend(self):
        """Stops its replicas and frees its nodes until :meth:`resume`. Returns
        whether this changed anything."""
        return self.client.suspend(self)

    def resume(self):
        """Places its whole gang again; it resumes from its checkpoints."""
        return self.client.resume(self)

    def delete(self):
        return self.client.delete(self.resource, self.name)
