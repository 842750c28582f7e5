"""The SDK's pieces that need no cluster: config, manifests, workload builders,
search spaces, V2 tensors and the exceptions."""

import contextlib
import json
import os
import tempfile
import unittest

import cadre
from cadre import config, errors, manifests, search, serving, tune
from cadre.pipelines import run_manifest


class ConfigTest(unittest.TestCase):
    def test_reads_the_cli_config_with_key_paths_relative_to_its_folder(self):
        c = config.parse("# comment\ncoordinator: tcp://127.0.0.1:7\nserver_key: keys/server.pub\n"
                         "key: \"keys/client.key\"\ntimeout_seconds: 2.5\n", "/etc/cadre", "cfg")
        self.assertEqual(c.coordinator, "tcp://127.0.0.1:7")
        self.assertEqual(c.server_key, "/etc/cadre/keys/server.pub")
        self.assertEqual(c.key, "/etc/cadre/keys/client.key")
        self.assertEqual(c.timeout_seconds, 2.5)

    def test_refuses_what_the_cli_refuses(self):
        for text, message in [("colour: red\n", "unknown setting 'colour'"),
                              ("insecure: maybe\n", "insecure: expected true or false"),
                              ("coordinator: tcp://x:1\n", "server_key and key are required"),
                              ("insecure: true\ntimeout_seconds: 0\n", "timeout_seconds: must be > 0"),
                              ("  nested: 1\n", "expected `key: value`")]:
            with self.assertRaisesRegex(errors.InvalidArgument, message):
                config.parse(text, "", "cfg")

    def test_an_explicit_config_must_exist_and_the_search_says_where_it_looked(self):
        with self.assertRaisesRegex(errors.NotFound, "does not exist"):
            config.resolve(environ={"CADRE_CONFIG": "/nonexistent/config"})
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(errors.NotFound, "cadre local up"):
                config.resolve(environ={}, cwd=d, home=d)
            os.makedirs(os.path.join(d, ".cadre"))
            open(os.path.join(d, ".cadre", "config"), "w").close()
            self.assertEqual(config.resolve(environ={}, cwd=d, home="/nonexistent"),
                             os.path.join(d, ".cadre", "config"))

    def test_key_files_are_read_and_checked(self):
        with tempfile.NamedTemporaryFile("w", suffix=".key", delete=False) as f:
            f.write("public = " + "a" * 40 + "\nsecret = " + "b" * 40 + "\n")
        self.assertEqual(config.read_keypair(f.name), ("a" * 40, "b" * 40))
        with open(f.name, "w") as g:
            g.write("public = short\n")
        with self.assertRaisesRegex(errors.InvalidArgument, "not 40 Z85"):
            config.read_public_key(f.name)


class ManifestsTest(unittest.TestCase):
    def test_splits_documents_as_the_cli_and_keeps_a_platform_spec_with_its_pipeline(self):
        text = "# c\n---\na: 1\n---  \n# only a comment\n---\npipelineInfo: {name: p}\n---\nplatforms:\n  k: {}\n"
        self.assertEqual(manifests.split_documents(text), ["a: 1\n", "pipelineInfo: {name: p}\n---\nplatforms:\n  k: {}\n"])

    def test_a_dict_goes_as_json_and_a_workload_as_its_manifest(self):
        self.assertEqual(json.loads(manifests.documents({"kind": "Job"})[0]), {"kind": "Job"})
        doc = json.loads(manifests.documents(cadre.Job(["true"], name="j"))[0])
        self.assertEqual(doc["metadata"]["name"], "j")

    def test_a_missing_file_and_empty_text_are_errors(self):
        with self.assertRaises(errors.NotFound):
            manifests.documents("/nonexistent/job.yaml")
        with self.assertRaises(errors.InvalidArgument):
            manifests.documents("# nothing\n---\n")
        with self.assertRaises(TypeError):
            manifests.documents(42)


class WorkloadTest(unittest.TestCase):
    def test_a_trainjob_has_workers_and_parameter_servers_with_their_resources(self):
        m = cadre.TrainJob(["cadre-train"], name="t", workers=2, ps=1, cpu=0.5, memory="1Gi", gpus=1,
                           env={"LR": 0.1}).to_manifest()
        worker = m["spec"]["replicaSpecs"]["Worker"]
        self.assertEqual(worker["replicas"], 2)
        self.assertEqual(worker["template"]["resources"], {"cpu": "500m", "memory": "1Gi", "gpu": 1})
        self.assertEqual(worker["template"]["env"], [{"name": "LR", "value": "0.1"}])
        self.assertEqual(m["spec"]["replicaSpecs"]["PS"]["template"]["resources"]["cpu"], "500m")
        self.assertNotIn("gpu", m["spec"]["replicaSpecs"]["PS"]["template"]["resources"])

    def test_bad_values_name_the_field(self):
        with self.assertRaisesRegex(errors.InvalidArgument, "metadata.name: 'Bad_Name'"):
            cadre.Job(["true"], name="Bad_Name")
        with self.assertRaisesRegex(errors.InvalidArgument, "workers: must be >= 1"):
            cadre.TrainJob(["true"], workers=0)

    def test_a_shell_line_runs_under_sh(self):
        self.assertEqual(cadre.Job("echo hi", name="j").to_manifest()["spec"]["template"]["command"],
                         ["sh", "-c", "echo hi"])


class TuneTest(unittest.TestCase):
    def test_builds_katibs_experiment_with_placeholders_for_the_searched_names(self):
        m = tune.experiment_manifest(
            name="t", command="cadre-train --lr {lr} --batch-size {batch-size} --out ${CADRE_CHECKPOINT_DIR}/{x}",
            parameters={"lr": search.double(1e-4, 1e-1, log=True), "batch-size": search.discrete([32, 64])},
            objective="accuracy", algorithm="tpe", algorithm_settings={"n_startup_trials": 3}, max_trials=6,
            parallel_trials=2, early_stopping="medianstop")
        spec = m["spec"]
        self.assertEqual(spec["parameters"][0], {"name": "lr", "parameterType": "double", "feasibleSpace": {
            "min": "0.0001", "max": "0.1", "distribution": "logUniform"}})
        self.assertEqual(spec["parameters"][1]["feasibleSpace"], {"list": ["32", "64"]})
        self.assertEqual(spec["trialTemplate"]["trialParameters"],
                         [{"name": "lr", "reference": "lr"}, {"name": "batchSize", "reference": "batch-size"}])
        line = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["command"][2]
        self.assertEqual(line, "cadre-train --lr ${trialParameters.lr} --batch-size ${trialParameters.batchSize}"
                               " --out ${CADRE_CHECKPOINT_DIR}/{x}")
        self.assertEqual(spec["algorithm"]["algorithmSettings"], [{"name": "n_startup_trials", "value": "3"}])
        self.assertEqual(spec["earlyStopping"], {"algorithmName": "medianstop"})

    def test_refuses_a_bad_space_or_algorithm(self):
        with self.assertRaisesRegex(errors.InvalidArgument, "min 2 must be below max 1"):
            search.double(2, 1)
        with self.assertRaisesRegex(errors.InvalidArgument, "log scale needs min > 0"):
            search.int(0, 5, log=True)
        with self.assertRaisesRegex(errors.InvalidArgument, "algorithm: 'bayes'"):
            tune.experiment_manifest(command="x", parameters={"a": search.int(1, 2)}, objective="m",
                                     algorithm="bayes")
        with self.assertRaisesRegex(errors.InvalidArgument, "parameters.a: expected a search space"):
            tune.experiment_manifest(command="x", parameters={"a": [1, 2]}, objective="m")


class RunManifestTest(unittest.TestCase):
    def test_parameters_go_as_text_the_coordinator_types(self):
        m = run_manifest("p", {"epochs": 3, "model": "mlp", "flags": [1]}, name="r", enable_caching=False)
        self.assertEqual(m["spec"]["parameters"], {"epochs": "3", "model": "mlp", "flags": "[1]"})
        self.assertFalse(m["spec"]["enableCaching"])
        self.assertTrue(run_manifest("fmnist-pipeline")["metadata"]["name"].startswith("fmnist-pipeline-"))


class TensorTest(unittest.TestCase):
    def test_an_image_is_shaped_as_the_models_input_batch_first(self):
        t = serving._as_tensor("image", [[0.5] * 28] * 28, {"datatype": "FP32", "shape": [-1, 1, 28, 28]})
        self.assertEqual(t["shape"], [1, 1, 28, 28])
        self.assertEqual(len(t["data"]), 784)

    def test_values_that_do_not_fill_whole_items_are_refused(self):
        with self.assertRaisesRegex(errors.InvalidArgument, "5 values do not make whole items"):
            serving._as_tensor("x", [1, 2, 3, 4, 5], {"datatype": "FP32", "shape": [-1, 2]})


class BatchingTest(unittest.TestCase):
    def test_a_batch_larger_than_the_models_goes_in_parts_that_join_back(self):
        t = serving._as_tensor("x", [[i, i] for i in range(5)], {"datatype": "FP32", "shape": [-1, 2]})
        parts = list(serving._chunks([t], 2))
        self.assertEqual([p[0]["shape"] for p in parts], [[2, 2], [2, 2], [1, 2]])
        self.assertEqual(parts[2][0]["data"], [4.0, 4.0])
        answers = [{"outputs": [{"name": "y", "datatype": "FP32", "shape": [p[0]["shape"][0], 1],
                                 "data": p[0]["data"][::2]}]} for p in parts]
        joined = serving._join(answers)
        self.assertEqual(joined[0]["shape"], [5, 1])
        self.assertEqual(joined[0]["data"], [0.0, 1.0, 2.0, 3.0, 4.0])
        self.assertEqual(len(list(serving._chunks([t], 0))), 1)


class ResourceRefTest(unittest.TestCase):
    def test_a_handle_names_its_own_kind_wherever_a_name_is_taken(self):
        from cadre import resources
        from cadre.jobs import JobHandle
        from cadre.pipelines import RunHandle

        job = JobHandle(None, "trainjobs", "train-1")
        self.assertEqual(str(job), "trainjob/train-1")
        self.assertEqual(resources.parse_named(job, "jobs"), ("trainjobs", "train-1"))
        self.assertEqual(resources.parse_ref(job), ("trainjobs", "train-1"))
        self.assertEqual(resources.parse_named(str(job), "jobs"), ("trainjobs", "train-1"))
        self.assertEqual(resources.parse_ref(tune.ExperimentHandle(None, "lr")), ("experiments", "lr"))
        self.assertEqual(resources.parse_ref(RunHandle(None, "r-1")), ("runs", "r-1"))
        self.assertEqual(resources.parse_named("hello", "jobs"), ("jobs", "hello"))

    def test_queues_are_read_as_the_cli_names_them(self):
        from cadre import resources

        self.assertEqual(resources.parse_ref("queue/research"), ("queues", "research"))
        self.assertEqual(resources.parse_ref("queues"), ("queues", None))
        client = ScriptedClient([[{"name": "research", "pending": 2}]])
        self.assertEqual(client.get("queue", "research")["pending"], 2)
        self.assertEqual(client.asked, [("queues", "research")])


class ScriptedClient(cadre.Client):
    """A client whose listings come from a script instead of a coordinator; past
    its end, the coordinator is gone."""

    def __init__(self, listings):
        self.listings = list(listings)
        self.asked = []

    def _get(self, resource, name):
        self.asked.append((resource, name))
        if not self.listings:
            raise errors.Unavailable("gone")
        return self.listings.pop(0)


def watched(client, *args, **kwargs):
    events = []
    with contextlib.suppress(errors.Unavailable):  # the script's end
        for event in client.watch(*args, poll_interval=0.001, **kwargs):
            events.append((event["type"], event["object"]["name"], event["object"].get("phase")))
    return events


class WatchTest(unittest.TestCase):
    def test_each_object_is_added_then_modified_only_when_it_changes_then_deleted(self):
        a, b = {"name": "a", "phase": "Running"}, {"name": "b", "phase": "Queued"}
        client = ScriptedClient([[a, b], [a, b], [dict(a, phase="Succeeded"), b], [b]])
        self.assertEqual(watched(client, "jobs"),
                         [("ADDED", "a", "Running"), ("ADDED", "b", "Queued"),
                          ("MODIFIED", "a", "Succeeded"), ("DELETED", "a", "Succeeded")])
        self.assertEqual(client.asked[0], ("jobs", ""))

    def test_a_nodes_heartbeat_alone_is_no_change(self):
        node = {"name": "n", "state": "Ready", "last_heartbeat_ms": 1}
        client = ScriptedClient([[node], [dict(node, last_heartbeat_ms=2)],
                                 [dict(node, state="Lost", last_heartbeat_ms=3)]])
        self.assertEqual([e[0] for e in watched(client, "nodes")], ["ADDED", "MODIFIED"])

    def test_a_name_that_matches_nothing_at_the_start_is_not_found_but_later_is_deleted(self):
        with self.assertRaisesRegex(errors.NotFound, "job/nope not found"):
            next(ScriptedClient([[]]).watch("job/nope"))
        hello = {"name": "hello", "phase": "Running"}
        client = ScriptedClient([[hello], [], [hello]])
        self.assertEqual([e[0] for e in watched(client, "job/hello")], ["ADDED", "DELETED", "ADDED"])
        self.assertEqual(client.asked[0], ("jobs", "hello"))

    def test_a_timeout_ends_the_watch_and_a_poll_interval_must_be_positive(self):
        client = ScriptedClient([[{"name": "a"}]] * 1000)
        events = list(client.watch("jobs", timeout=0.05, poll_interval=0.01))
        self.assertEqual(len(events), 1)
        with self.assertRaisesRegex(errors.InvalidArgument, "poll_interval"):
            next(client.watch("jobs", poll_interval=0))


class CordonTest(unittest.TestCase):
    class Recording(cadre.Client):
        def __init__(self):
            self.calls = []

        def _call(self, kind, body, reply_kind, timeout=None):
            self.calls.append((kind, body, reply_kind))
            return {"node": body["node"], "cordoned": body["cordon"], "changed": True}

    def test_a_node_is_named_bare_or_as_node_slash_name_and_nothing_else(self):
        client = self.Recording()
        self.assertTrue(client.cordon("local-1"))
        self.assertTrue(client.uncordon("node/local-2"))
        self.assertEqual([(k, b["node"], b["cordon"]) for k, b, _ in client.calls],
                         [("Cordon", "local-1", True), ("Cordon", "local-2", False)])
        with self.assertRaisesRegex(errors.InvalidArgument, "is not a node"):
            client.cordon("job/hello")
        self.assertEqual(len(client.calls), 2)


class DrainTest(unittest.TestCase):
    class Draining(CordonTest.Recording):
        """Each look at the node: what its agent reports, and where the job's replica is."""

        def __init__(self, looks):
            super().__init__()
            self.looks = list(looks)

        def _get(self, resource, name):
            reported, node, state = self.looks[0]
            if resource == "nodes":
                return [{"name": name, "replicas": reported}]
            if resource == "trainjobs":
                if len(self.looks) > 1:
                    self.looks.pop(0)
                return []
            return [{"name": "hello", "owner": "", "replicas": [
                {"name": "main-0", "uid": "u1", "node": node, "state": state}]}]

    def test_cordons_with_the_drain_flag_and_waits_until_nothing_runs_there(self):
        client = self.Draining([(["u1", "stray"], "a", "Running"), (["u1"], "b", "Starting"), ([], "b", "Running")])
        self.assertEqual(client.drain("a", poll_interval=0.001),
                         ["job/hello main-0", "replica stray"])
        self.assertEqual(client.calls[0][1]["drain"], True)

    def test_says_what_still_runs_when_time_runs_out(self):
        client = self.Draining([(["u1"], "a", "Running")])
        with self.assertRaisesRegex(errors.DeadlineExceeded, "still running: job/hello main-0"):
            client.drain("a", timeout=0)


class SuspendTest(unittest.TestCase):
    class Recording(cadre.Client):
        def __init__(self):
            self.calls = []

        def _call(self, kind, body, reply_kind, timeout=None):
            self.calls.append((kind, body["resource"], body["name"], body["suspend"]))
            return {"name": body["name"], "phase": "Suspended", "changed": len(self.calls) == 1}

    def test_suspends_and_resumes_a_job_named_by_kind_ref_or_handle(self):
        client = self.Recording()
        self.assertTrue(client.suspend("trainjob/ring"))
        self.assertFalse(client.suspend("hello"))
        handle = cadre.JobHandle(client, "trainjobs", "ring")
        handle.resume()
        self.assertEqual(client.calls, [("Suspend", "trainjobs", "ring", True),
                                        ("Suspend", "jobs", "hello", True),
                                        ("Suspend", "trainjobs", "ring", False)])

    def test_only_jobs_and_trainjobs_can_be_suspended(self):
        client = self.Recording()
        with self.assertRaisesRegex(errors.InvalidArgument, "not experiments"):
            client.suspend("experiment/tune")
        self.assertEqual(client.calls, [])

    def test_a_job_carries_its_priority_queue_and_preemption_policy(self):
        spec = cadre.Job("echo hi", name="j", priority=3, preemption_policy="Never",
                         queue="research").to_manifest()["spec"]
        self.assertEqual(spec["schedulingPolicy"],
                         {"priority": 3, "preemptionPolicy": "Never", "queue": "research"})
        self.assertNotIn("schedulingPolicy", cadre.Job("echo hi", name="j").to_manifest()["spec"])
        with self.assertRaises(cadre.InvalidArgument):
            cadre.Job("echo hi", name="j", queue="Research")

    def test_a_trainjob_carries_its_priority_and_preemption_policy(self):
        policy = cadre.TrainJob("train", name="t", priority=5, preemption_policy="Never",
                                queue="research").to_manifest()["spec"]["runPolicy"]
        self.assertEqual(policy["schedulingPolicy"],
                         {"priority": 5, "preemptionPolicy": "Never", "queue": "research"})
        self.assertNotIn("schedulingPolicy",
                         cadre.TrainJob("train", name="t").to_manifest()["spec"]["runPolicy"])
        with self.assertRaises(cadre.errors.InvalidArgument) as raised:
            cadre.TrainJob("train", name="t", preemption_policy="Sometimes")
        self.assertIn("preemption_policy", str(raised.exception))

    def test_a_job_can_be_created_suspended(self):
        self.assertTrue(cadre.Job("echo hi", name="j", suspend=True).to_manifest()["spec"]["suspend"])
        self.assertNotIn("suspend", cadre.Job("echo hi", name="j").to_manifest()["spec"])
        manifest = cadre.TrainJob("train", name="t", suspend=True).to_manifest()
        self.assertTrue(manifest["spec"]["runPolicy"]["suspend"])


class AllLogsTest(unittest.TestCase):
    class Logs(cadre.Client):
        """A job of two workers; each Logs call answers from that replica's script."""

        def __init__(self, scripts, phase="Running"):
            self.scripts = {r: list(s) for r, s in scripts.items()}
            self.phase = phase

        def _get(self, resource, name):
            return [{"name": name, "phase": self.phase,
                     "replicas": [{"name": "worker-0"}, {"name": "worker-1"}]}]

        def _call(self, kind, body, reply_kind, timeout=None):
            script = self.scripts[body["replica"]]
            answer = script.pop(0) if len(script) > 1 else script[0]
            if isinstance(answer, Exception):
                raise answer
            data, finished = answer
            return {"data": data, "next_offset": body["offset"] + len(data), "finished": finished}

    def test_without_follow_each_replica_to_its_end_in_rank_order(self):
        client = self.Logs({"worker-0": [("a\nb", False), ("", False)],
                            "worker-1": [errors.FailedPrecondition("no log yet")]})
        self.assertEqual(list(client.all_logs("trainjob/t")), ["[worker-0] a\n", "[worker-0] b\n"])

    def test_following_whole_lines_only_until_every_replica_ended(self):
        client = self.Logs({"worker-0": [("epoch=1 lo", False), ("ss=2\n", False), ("", True)],
                            "worker-1": [("x\n", False), ("y", True)]})
        lines = list(client.all_logs("trainjob/t", follow=True, poll_interval=0.001))
        self.assertEqual(sorted(lines), ["[worker-0] epoch=1 loss=2\n", "[worker-1] x\n", "[worker-1] y\n"])

    def test_a_replica_that_never_started_is_not_waited_for_once_its_job_ended(self):
        client = self.Logs({"worker-0": [("done\n", True)],
                            "worker-1": [errors.FailedPrecondition("not placed")]}, phase="Failed")
        self.assertEqual(list(client.all_logs("trainjob/t", follow=True, poll_interval=0.001)),
                         ["[worker-0] done\n"])


class ErrorsTest(unittest.TestCase):
    def test_a_coordinator_error_becomes_its_exception_and_keeps_an_unknown_code(self):
        e = errors.from_code("NotFound", "job/x not found")
        self.assertIsInstance(e, cadre.NotFound)
        self.assertIsInstance(e, LookupError)
        self.assertEqual(str(e), "job/x not found")
        odd = errors.from_code("Strange", "m")
        self.assertEqual((type(odd), odd.code), (cadre.CadreError, "Strange"))

    def test_a_failed_workload_carries_its_log_tail(self):
        e = errors.WorkloadFailed("job/x ended Failed", {"phase": "Failed"}, "line 1\nboom\n")
        self.assertIn("boom", str(e))
        self.assertEqual(e.status["phase"], "Failed")


if __name__ == "__main__":
    unittest.main()
