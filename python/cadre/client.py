"""``cadre.Client``: the coordinator's client wire from Python (docs/python.md)."""

import time

from . import config as config_module
from . import errors, manifests, resources, states, wire

class Client:
    """A connection to a Cadre coordinator.

    ``Client()`` reads the client config the CLI reads (``$CADRE_CONFIG``,
    ``./.cadre/config``, ``~/.cadre/config``); ``Client(config=PATH)`` names one.
    ``timeout`` (seconds) bounds every request; waits take their own timeouts.
    """

    def __init__(self, config=None, *, timeout=None):
        if isinstance(config, config_module.ClientConfig):
            self.config = config
        else:
            self.config = config_module.load(config)
        if timeout is not None:
            if timeout <= 0:
                raise errors.InvalidArgument(f"timeout: must be > 0, got {timeout}")
            self.config.timeout_seconds = float(timeout)
        self._connection = wire.connect(self.config)

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the wire's requests ----

    def _call(self, kind, body, reply_kind, timeout=None):
        return self._connection.request(kind, body, reply_kind, timeout)

    def apply(self, manifest):
        """Applies a manifest: a dict, a list of dicts, a workload object
        (``TrainJob(...)``), a path to a YAML file or YAML text. Returns one
        ``{kind, name, action}`` per document, ``action`` "created", "configured"
        or "unchanged"."""
        replies = []
        for document in manifests.documents(manifest):
            replies.append(self._call("Apply", wire.message("ApplyRequest", manifest=document), "ApplyReply"))
        return replies

    def get(self, kind, name=None):
        """One object's status as a dict (the wire's field names): ``get("job",
        "hello")`` or ``get("job/hello")``. Raises NotFound when there is none."""
        resource, name = resources.parse_ref(kind, name)
        if not name:
            raise errors.InvalidArgument("get needs a name; list() lists them all")
        items = self._get(resource, name)
        if not items:
            raise errors.NotFound(f"{resources.TYPES[resource][0]}/{name} not found")
        return items[0]

    def list(self, kind):
        """Every object of a kind, as dicts: ``list("trainjobs")``."""
        resource, name = resources.parse_ref(kind)
        if name:
            raise errors.InvalidArgument(f"list takes a kind, not {kind!r}; get() reads one")
        return self._get(resource, "")

    def watch(self, kind, name=None, *, timeout=None, poll_interval=1.0):
        """Events as objects of a kind (or the one named) change, as the
        Kubernetes client's ``watch.stream`` gives them: ``{"type": "ADDED",
        "object": {...}}`` for each object at the start and each that appears
        later, ``"MODIFIED"`` with the whole object when it changes (a node's
        heartbeat alone does not count), ``"DELETED"`` with its last state. The
        objects are what ``get`` and ``list`` return. Runs until ``timeout``
        seconds passed (then it simply ends), or forever; a name that matches
        nothing at the start raises NotFound. Objects are fetched every
        ``poll_interval`` seconds: a state briefer than that may not show."""
        resource, name = resources.parse_ref(kind, name)
        if poll_interval <= 0:
            raise errors.InvalidArgument(f"poll_interval: must be > 0, got {poll_interval}")
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = {}  # key -> (object, what a change is judged by)
        first = True
        while True:
            items = self._get(resource, name or "")
            if first and name and not items:
                raise errors.NotFound(f"{resources.TYPES[resource][0]}/{name} not found")
            first = False
            now = {}
            for item in items:
                key = item.get("name") or item.get("id")
                signature = {k: v for k, v in item.items() if k != "last_heartbeat_ms"}
                before = seen.get(key)
                if before is None:
                    yield {"type": "ADDED", "object": item}
                elif before[1] != signature:
                    yield {"type": "MODIFIED", "object": item}
                now[key] = (item, signature)
            for key, (item, _) in seen.items():
                if key not in now:
                    yield {"type": "DELETED", "object": item}
            seen = now
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                time.sleep(min(poll_interval, left))
            else:
                time.sleep(poll_interval)

    def _get(self, resource, name):
        reply = self._call("Get", wire.message("GetRequest", resource=resource, name=name), "GetReply")
        items = reply.get(resources.TYPES[resource][1]) or []
        if resource in ("jobs", "trainjobs"):
            kind = "Job" if resource == "jobs" else "TrainJob"
            items = [i for i in items if i.get("kind") == kind]
        return items

    def delete(self, kind, name=None, *, purge=False):
        """Deletes one object; its replicas are stopped. Returns its name. A
        notebook's workspace is kept unless ``purge`` (only a folder Cadre made)."""
        resource, name = resources.parse_ref(kind, name)
        if not name:
            raise errors.InvalidArgument("delete needs a name")
        if purge and resource != "notebooks":
            raise errors.InvalidArgument(f"purge removes a notebook's workspace; {kind} has none")
        body = wire.message("DeleteRequest", resource=resource, name=name, purge=purge)
        # A purge runs a job on the workspace's node.
        reply = self._call("Delete", body, "DeleteReply", timeout=300 if purge else None)
        return reply.get("name", name)

    def logs(self, name, replica=None, *, follow=False, kind="jobs", timeout=None, poll_interval=0.25):
        """A job's log, line by line (an iterator of str, newline kept). With
        ``follow`` it waits for more until the replica ends (or ``timeout``
        seconds pass: DeadlineExceeded)."""
        resource, name = resources.parse_named(name, kind)
        deadline = None if timeout is None else time.monotonic() + timeout
        offset, pending = 0, ""
        while True:
            body = wire.message("LogsRequest", resource=resource, name=name, replica=replica or "",
                                offset=offset, max_bytes=1 << 20)
            try:
                reply = self._call("Logs", body, "LogsReply")
            except (errors.FailedPrecondition, errors.Unavailable):
                if not follow:
                    raise
                reply = None  # not placed yet, or its node is away: more will come
            if reply is not None:
                pending += reply.get("data", "")
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield line + "\n"
                offset = reply.get("next_offset", offset)
                if reply.get("finished") or (not follow and not reply.get("data")):
                    if pending:
                        yield pending
                    return
                if reply.get("data"):
                    continue
            if deadline is not None and time.monotonic() > deadline:
                raise errors.DeadlineExceeded(f"{name}: still running after {timeout:g}s of logs")
            time.sleep(poll_interval)

    def all_logs(self, name, *, follow=False, kind="jobs", timeout=None, poll_interval=0.25):
        """Every replica's log, as ``cadre logs --all-replicas``: an iterator of
        lines each led by its replica ("[worker-1] epoch=1 ..."). Without
        ``follow``, each replica's log to its current end, in rank order; with it,
        whole lines as they come from any replica until every replica ended (or
        ``timeout`` seconds pass: DeadlineExceeded). A replica with no log yet is
        skipped, or, following, waited for until its job ends."""
        resource, name = resources.parse_named(name, kind)
        replicas = [r["name"] for r in self._get_one(resource, name).get("replicas") or []]
        deadline = None if timeout is None else time.monotonic() + timeout
        logs = [_ReplicaLog(replica) for replica in replicas]
        while True:
            printed = False
            for log in logs:
                # Without follow, one replica at a time: its whole log before the next's.
                while not log.done:
                    lines, more = self._read_replica_log(resource, name, log, follow)
                    yield from lines
                    printed = printed or more
                    if follow or not more:
                        break
            if all(log.done for log in logs):
                return
            if printed:
                continue
            if any(log.waiting for log in logs):
                # A replica that never started has no log to wait for once its job ended.
                if states.is_terminal_job(self._get_one(resource, name).get("phase")):
                    for log in logs:
                        log.done = log.done or log.waiting
                    continue
            if deadline is not None and time.monotonic() > deadline:
                raise errors.DeadlineExceeded(f"{name}: still running after {timeout:g}s of logs")
            time.sleep(poll_interval)

    def _read_replica_log(self, resource, name, log, follow):
        """The next chunk of one replica's log for all_logs: its whole lines, led by
        the replica, and whether it held anything new."""
        body = wire.message("LogsRequest", resource=resource, name=name, replica=log.replica,
                            offset=log.offset, max_bytes=1 << 20)
        try:
            reply = self._call("Logs", body, "LogsReply")
        except (errors.FailedPrecondition, errors.Unavailable):
            log.done, log.waiting = not follow, follow  # no log yet
            return [], False
        log.waiting = False
        data = reply.get("data", "")
        log.offset = reply.get("next_offset", log.offset)
        log.done = bool(reply.get("finished")) or (not follow and not data)
        *lines, log.partial = (log.partial + data).split("\n")
        if log.done and log.partial:
            lines.append(log.partial)
            log.partial = ""
        return [f"[{log.replica}] {line}\n" for line in lines], bool(data)

    def log_tail(self, name, replica=None, *, kind="jobs", max_bytes=4096):
        """The last ``max_bytes`` of a job's log, as text ("" when it has none)."""
        resource, name = resources.parse_named(name, kind)
        body = wire.message("LogsRequest", resource=resource, name=name, replica=replica or "",
                            offset=-max_bytes, max_bytes=max_bytes)
        try:
            reply = self._call("Logs", body, "LogsReply")
        except errors.CadreError:
            return ""
        data = reply.get("data", "")
        if reply.get("offset", 0) > 0 and "\n" in data:
            data = data.split("\n", 1)[1]  # the first line may be cut
        return data

    def metrics_history(self, name, *, kind="jobs", metric=None, max_points=10000):
        """Every stored metric point of a job, oldest first: dicts with
        ``replica, name, value, step, time_ms``."""
        resource, name = resources.parse_named(name, kind)
        body = wire.message("MetricsHistoryRequest", resource=resource, name=name, metric=metric or "",
                            max_points=max_points)
        return self._call("MetricsHistory", body, "MetricsHistoryReply").get("points", [])

    def cordon(self, node):
        """Places nothing new on a node (``cadre cordon``); what runs there keeps
        running. Returns whether this changed anything (False: already cordoned)."""
        return self._cordon(node, True)[1]

    def uncordon(self, node):
        """Lets the scheduler place replicas on a cordoned node again. Returns
        whether this changed anything."""
        return self._cordon(node, False)[1]

    def drain(self, node, *, timeout=300.0, poll_interval=1.0):
        """``cadre drain``: cordons the node, has every job with a replica running
        there restart its gang on the other nodes (reason Evicted, not counted
        against its backoffLimit), and waits until nothing runs there. Returns
        what it waited for ("trainjob/fmnist worker-1", ...); DeadlineExceeded,
        naming what still runs, after ``timeout`` seconds."""
        name = self._cordon(node, True, drain=True)[0]
        deadline = time.monotonic() + timeout
        waited = []
        while True:
            running = self._running_on(name)
            waited += [item for item in running if item not in waited]
            if not running:
                return waited
            if time.monotonic() >= deadline:
                raise errors.DeadlineExceeded(
                    f"node/{name} not drained in time; still running: {', '.join(running)}")
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def _running_on(self, node):
        """What runs on a node, as ``cadre drain`` names it: each job's replica
        placed there and not ended, then each uid its agent still reports."""
        reported = self.get("node", node).get("replicas") or []
        out, by_uid = [], {}
        for resource in ("jobs", "trainjobs"):
            for job in self._get(resource, ""):
                owner = f" ({job['owner']})" if job.get("owner") else ""
                for replica in job.get("replicas") or []:
                    text = f"{resources.TYPES[resource][0]}/{job['name']} {replica['name']}{owner}"
                    by_uid[replica.get("uid")] = text
                    if replica.get("node") == node and replica.get("state") in states.REPLICA_ALIVE:
                        out.append(text)
        for uid in reported:
            text = by_uid.get(uid, f"replica {uid}")
            if text not in out:
                out.append(text)
        return out

    def _cordon(self, node, cordon, drain=False):
        kind, name = (node, None) if "/" in str(node) else ("node", node)
        resource, name = resources.parse_ref(kind, name)
        if resource != "nodes" or not name:
            raise errors.InvalidArgument(f"{node!r} is not a node (NAME or node/NAME)")
        body = wire.message("CordonRequest", node=name, cordon=cordon, drain=drain)
        reply = self._call("Cordon", body, "CordonReply")
        return name, bool(reply.get("changed"))

    def suspend(self, name, *, kind="jobs"):
        """``cadre suspend``, as Kubeflow's ``runPolicy.suspend``: stops a Job's or
        TrainJob's replicas and frees its nodes until :meth:`resume`. ``name`` is
        "trainjob/NAME", a handle, or a name of ``kind``. Returns whether this
        changed anything (False: already suspended). A finished job, or one an
        experiment, run, service or notebook owns, raises FailedPrecondition."""
        return self._suspend(name, kind, True)

    def resume(self, name, *, kind="jobs"):
        """``cadre resume``: places a suspended job's whole gang again; it resumes
        from its checkpoints. Returns whether this changed anything (False: it was
        not suspended)."""
        return self._suspend(name, kind, False)

    def _suspend(self, name, kind, suspend):
        resource, name = resources.parse_named(name, kind)
        if resource not in ("jobs", "trainjobs"):
            raise errors.InvalidArgument(f"only jobs and trainjobs can be suspended or resumed, not {resource}")
        body = wire.message("SuspendRequest", resource=resource, name=name, suspend=suspend)
        return bool(self._call("Suspend", body, "SuspendReply").get("changed"))

    def create_token(self, namespace="default", description=""):
        """A new Cadre token for the ingress (shown once; only its hash is kept)."""
        body = wire.message("TokenCreateRequest", ns=namespace, description=description)
        return self._call("TokenCreate", body, "TokenCreateReply")["token"]

    def retry_run(self, name):
        """Runs a failed pipeline run again from its failed steps."""
        reply = self._call("Retry", wire.message("RetryRequest", resource="runs", name=name), "RetryReply")
        return reply.get("tasks_reset", 0)

    # ---- workloads ----

    def submit(self, workload):
        """Applies a workload (``Job``, ``TrainJob``, or a manifest dict of either)
        and returns its handle."""
        from .jobs import JobHandle

        manifest = workload.to_manifest() if hasattr(workload, "to_manifest") else workload
        reply = self.apply(manifest)[0]
        if reply["kind"] not in ("Job", "TrainJob"):
            raise errors.InvalidArgument(f"submit takes a Job or TrainJob, not a {reply['kind']}")
        return JobHandle(self, resources.KIND_RESOURCES[reply["kind"]], reply["name"])

    def job(self, name, kind="jobs"):
        """A handle on an existing job or TrainJob (``job("trainjob/fmnist")``)."""
        from .jobs import JobHandle

        resource, name = resources.parse_named(name, kind)
        self._get_one(resource, name)
        return JobHandle(self, resource, name)

    def _get_one(self, resource, name):
        items = self._get(resource, name)
        if not items:
            raise errors.NotFound(f"{resources.TYPES[resource][0]}/{name} not found")
        return items[0]

    def tune(self, **kwargs):
        """Starts an Experiment around a command template (Katib's ``tune()``);
        see :func:`cadre.tune.experiment_manifest` for the arguments."""
        from .tune import ExperimentHandle, experiment_manifest

        reply = self.apply(experiment_manifest(**kwargs))[0]
        return ExperimentHandle(self, reply["name"])

    def experiment(self, name):
        from .tune import ExperimentHandle

        self._get_one("experiments", name)
        return ExperimentHandle(self, name)

    def predict(self, service, inputs, *, timeout=60.0, outputs=None):
        """One V2 inference request to an InferenceService through the ingress;
        see :func:`cadre.serving.predict`."""
        from . import serving

        return serving.predict(self, service, inputs, timeout=timeout, outputs=outputs)

    def run_pipeline(self, pipeline, arguments=None, **kwargs):
        """Starts a run of a pipeline (a ``@pipeline`` function, a compiled spec
        dict, a YAML path, or the name of a stored pipeline); returns its handle.
        See :func:`cadre.pipelines.run_pipeline`."""
        from . import pipelines

        return pipelines.run_pipeline(self, pipeline, arguments, **kwargs)

    def run(self, name):
        from .pipelines import RunHandle

        self._get_one("runs", name)
        return RunHandle(self, name)

class _ReplicaLog:
    """One replica's log as all_logs reads it."""

    def __init__(self, replica):
        self.replica = replica
        self.offset = 0
        self.partial = ""     # a line begun but not yet ended
        self.done = False
        self.waiting = False  # following a replica that has no log yet


def wait_until(read, done, *, timeout, poll_interval, what):
    """Polls ``read()`` until ``done(value)``; DeadlineExceeded after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise errors.DeadlineExceeded(f"{what} after {timeout:g}s")
        time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))
