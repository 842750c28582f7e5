"""Pipeline runs from Python: store a pipeline (a ``@pipeline`` function, a
compiled spec, a YAML file) and start a run of it, as ``cadre run`` does."""

import json
import os

from . import dsl, errors, jobs, states


def _pipeline_name(client, pipeline):
    """Stores ``pipeline`` when it is a definition; returns its name."""
    if isinstance(pipeline, dsl.Pipeline):
        pipeline = dsl.compile(pipeline)
    if isinstance(pipeline, str) and "\n" not in pipeline and not pipeline.endswith((".yaml", ".yml", ".json")) \
            and not os.path.exists(pipeline):
        return pipeline  # the name of a stored pipeline
    replies = [r for r in client.apply(pipeline) if r["kind"] == "Pipeline"]
    if len(replies) != 1:
        raise errors.InvalidArgument(f"expected one pipeline, the manifest holds {len(replies)}")
    return replies[0]["name"]


def run_manifest(pipeline_name, arguments=None, *, name=None, namespace=None, experiment=None,
                 enable_caching=None, version=None):
    """The PipelineRun manifest ``cadre run`` would apply."""
    jobs.check_name(pipeline_name, "pipeline")
    if name is None:
        name = jobs.generated_name(pipeline_name[:54].rstrip("-"))
    spec = {"pipelineRef": {"name": pipeline_name}}
    if version is not None:
        spec["pipelineRef"]["version"] = int(version)
    if arguments:
        # Text, as the CLI sends -p: the coordinator types it by the pipeline's declaration.
        spec["parameters"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in arguments.items()}
    if experiment:
        spec["experiment"] = experiment
    if enable_caching is not None:
        spec["enableCaching"] = bool(enable_caching)
    metadata = {"name": jobs.check_name(name, "run name")}
    if namespace:
        metadata["namespace"] = jobs.check_name(namespace, "metadata.namespace")
    return {"apiVersion": "cadre/v1", "kind": "PipelineRun", "metadata": metadata, "spec": spec}


def run_pipeline(client, pipeline, arguments=None, **kwargs):
    """Starts a run; returns its RunHandle. ``kwargs``: name, namespace,
    experiment, enable_caching, version (see run_manifest)."""
    pipeline_name = _pipeline_name(client, pipeline)
    reply = client.apply(run_manifest(pipeline_name, arguments, **kwargs))[0]
    return RunHandle(client, reply["name"])


class RunHandle:
    """A pipeline run."""

    resource = "runs"

    def __init__(self, client, name):
        self.client, self.name = client, name

    def __repr__(self):
        return f"<{self}>"

    def __str__(self):
        return f"run/{self.name}"

    @property
    def status(self):
        return self.client._get_one("runs", self.name)

    @property
    def state(self):
        return self.status["state"]

    def wait(self, timeout=1800.0, *, poll_interval=0.5):
        """Waits until the run Succeeded and returns its status; WorkloadFailed
        (with the failed steps' messages) if it failed or was canceled."""
        from .client import wait_until

        def done(status):
            if status["state"] in (states.RUN_FAILED, states.RUN_CANCELED):
                failed = [f"{t['id']}: {t.get('message', '')}" for t in status.get("tasks", [])
                          if t.get("state") == states.RUN_FAILED]
                detail = status.get("message", "") + ("\n" + "\n".join(failed) if failed else "")
                raise errors.WorkloadFailed(f"run/{self.name} {status['state'].lower()}: {detail}", status)
            return status["state"] == states.RUN_SUCCEEDED

        return wait_until(lambda: self.status, done, timeout=timeout, poll_interval=poll_interval,
                          what=f"run/{self.name} has not finished")

    @property
    def outputs(self):
        """The run's outputs (root.dag.outputs) once it succeeded."""
        return json.loads(self.status.get("outputs") or "{}")

    def tasks(self):
        """Each task: id, state, inputs, outputs (JSON decoded), artifacts, job and
        workload_kind (what the job is: "Job", "TrainJob", "Experiment", ...)."""
        out = []
        for t in self.status.get("tasks", []):
            t = dict(t)
            for key in ("inputs", "outputs", "reported"):
                t[key] = json.loads(t.get(key) or "{}")
            out.append(t)
        return out

    def delete(self):
        return self.client.delete("runs", self.name)
