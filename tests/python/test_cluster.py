"""The Python SDK against a real local cluster (`cadre local up`): every call of
docs/python.md through the real coordinator, agents and ingress on 127.0.0.1."""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import urllib.request

import cadre
import v2_grpc
from cadre import dsl, search
from cadre.dsl import Dataset, Input, Metrics, Output

BIN = os.environ.get("CADRE_BIN_DIR", "")


def cadre_cli(*args, check=True):
    result = subprocess.run([os.path.join(BIN, "cadre"), *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"cadre {' '.join(args)}: {result.stdout}{result.stderr}")
    return result


@dsl.component
def make_rows(rows: int, data: Output[Dataset], stats: Output[Metrics]) -> int:
    with open(data.path, "w") as f:
        f.write("row\n" * rows)
    data.metadata["rows"] = rows
    stats.log_metric("rows_made", rows)
    return rows


@dsl.component
def count_rows(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.readlines())


@dsl.component
def double(x: int) -> int:
    return 2 * x


@dsl.component
def total(values: list) -> int:
    return sum(values)


@dsl.container_component
def announce(message: str):
    return dsl.ContainerSpec(command=["echo"], args=[message])


@dsl.pipeline(name="sdk-flow", description="rows -> count -> (if enough) doubled in parallel -> total")
def sdk_flow(rows: int = 3):
    done = announce(message="sdk-flow finished")
    with dsl.ExitHandler(done):
        made = make_rows(rows=rows)
        counted = count_rows(data=made.outputs["data"])
        with dsl.If(counted.output >= 3):
            with dsl.ParallelFor([1, 2, 3], parallelism=2) as item:
                doubled = double(x=item)
            total(values=dsl.Collected(doubled.output))


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BIN:
            raise unittest.SkipTest("CADRE_BIN_DIR is not set (ctest sets it)")
        cls.dir = tempfile.mkdtemp(prefix="cadre-sdk-")
        os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]  # replicas run cadre-train
        cadre_cli("local", "up", "--dir", cls.dir, "--agents", "2")
        cls.config = os.path.join(cls.dir, "config")
        cls.client = cadre.Client(config=cls.config)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cadre_cli("local", "down", "--dir", cls.dir, check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_a_job_is_submitted_waited_for_and_read_back(self):
        job = self.client.submit(cadre.Job(
            "for i in 1 2 3; do echo epoch=$i loss=0.$((9-i)) accuracy=0.$((5+i)); done", name="sdk-hello",
            cpu=0.25, memory="64Mi"))
        status = job.wait(timeout=60)
        self.assertEqual(status["phase"], "Succeeded")
        self.assertEqual(job.metrics(), {"epoch": 3, "loss": 0.6, "accuracy": 0.8})
        curve = job.metrics(history=True)["loss"]
        self.assertEqual([(p["step"], p["value"]) for p in curve], [(1, 0.8), (2, 0.7), (3, 0.6)])
        self.assertEqual(list(job.logs()), ["epoch=1 loss=0.8 accuracy=0.6\n", "epoch=2 loss=0.7 accuracy=0.7\n",
                                            "epoch=3 loss=0.6 accuracy=0.8\n"])
        self.assertIn("sdk-hello", [j["name"] for j in self.client.list("jobs")])
        self.assertEqual(self.client.get("job/sdk-hello")["phase"], "Succeeded")
        self.assertEqual(self.client.apply(job.client.get("job", "sdk-hello")["manifest"])[0]["action"], "unchanged")
        self.assertEqual(self.client.delete("job", "sdk-hello"), "sdk-hello")
        with self.assertRaises(cadre.NotFound):
            self.client.get("job", "sdk-hello")

    def test_following_a_log_streams_lines_until_the_job_ends(self):
        self.client.submit(cadre.Job("for i in 1 2 3; do echo line-$i; sleep 0.3; done", name="sdk-follow",
                                     cpu=0.25, memory="64Mi"))
        lines = list(self.client.logs("sdk-follow", follow=True, timeout=60))
        self.assertEqual(lines, ["line-1\n", "line-2\n", "line-3\n"])

    def test_a_failed_job_raises_with_its_reason_and_the_end_of_its_log(self):
        job = self.client.submit(cadre.Job("echo about to fail; echo boom >&2; exit 3", name="sdk-fails",
                                           cpu=0.25, memory="64Mi"))
        with self.assertRaises(cadre.WorkloadFailed) as caught:
            job.wait(timeout=60)
        self.assertIn("exited with code 3", str(caught.exception))
        self.assertIn("boom", caught.exception.log_tail)
        self.assertEqual(caught.exception.status["phase"], "Failed")

    def test_coordinator_errors_arrive_as_typed_exceptions_with_the_field_path(self):
        with self.assertRaisesRegex(cadre.InvalidArgument, "spec.template.command: required"):
            self.client.apply({"apiVersion": "cadre/v1", "kind": "Job", "metadata": {"name": "x"},
                               "spec": {"template": {}}})
        with self.assertRaisesRegex(cadre.NotFound, "job/nope not found"):
            self.client.job("nope")
        with self.assertRaises(cadre.InvalidArgument):
            self.client.metrics_history("nope", kind="widgets")

    def test_a_trainjob_runs_its_workers_and_reports_per_replica_metrics(self):
        # Rank 0 ends the job (Kubeflow's success policy): it waits for rank 1's line.
        handle = self.client.submit(cadre.TrainJob(
            'echo "rank=$CADRE_RANK world=$WORLD_SIZE"; echo accuracy=0.$((5 + CADRE_RANK)); '
            '[ "$CADRE_RANK" = 0 ] && sleep 2; true', name="sdk-train", workers=2, cpu=0.25, memory="64Mi"))
        status = handle.wait(timeout=60)
        self.assertEqual([r["name"] for r in status["replicas"]], ["worker-0", "worker-1"])
        # A sample names the replica instance (its uid) that reported it.
        name_of = {r["uid"]: r["name"] for r in status["replicas"]}
        accuracy = {name_of[p["replica"]]: p["value"]
                    for p in self.client.metrics_history("trainjob/sdk-train", metric="accuracy")}
        self.assertEqual(accuracy, {"worker-0": 0.5, "worker-1": 0.6})
        self.assertIn("world=2", "".join(handle.logs(replica="worker-1")))

    def test_tune_finds_the_best_learning_rate_of_an_experiment(self):
        experiment = self.client.tune(
            name="sdk-tune", command="echo accuracy=$(awk 'BEGIN{print 1 - ({lr} - 0.05)^2}')",
            parameters={"lr": search.double(0.01, 0.1)}, objective="accuracy", algorithm="random",
            algorithm_settings={"random_state": 7}, max_trials=4, parallel_trials=2, cpu=0.25, memory="64Mi")
        status = experiment.wait(timeout=120)
        self.assertEqual(status["reason"], "MaxTrialsReached")
        trials = experiment.trials()
        self.assertEqual(len(trials), 4)
        best = experiment.best()
        self.assertEqual(best["metrics"]["accuracy"], max(t["objective"] for t in trials))
        self.assertIn("lr", best["parameters"])

    def test_a_dsl_pipeline_runs_with_artifacts_conditions_loops_and_an_exit_handler(self):
        run = self.client.run_pipeline(sdk_flow, {"rows": 4}, name="sdk-flow-1")
        status = run.wait(timeout=180)
        self.assertEqual(status["state"], "SUCCEEDED")
        tasks = {t["name"]: t for t in run.tasks() if t["kind"] == "Container"}
        self.assertEqual(tasks["count-rows"]["outputs"], {"Output": 4})
        self.assertEqual(tasks["total"]["outputs"], {"Output": 12})
        self.assertEqual(tasks["announce"]["state"], "SUCCEEDED")
        made = tasks["make-rows"]["output_artifacts"][0]
        self.assertEqual((made["schema_title"], made["metadata"]), ("system.Dataset", '{"rows":4}'))
        # What the step logged into its Metrics artifact is its job's metric too.
        deadline = time.monotonic() + 10
        while self.client.get("job", tasks["make-rows"]["job"])["metrics"].get("rows_made") != 4:
            self.assertLess(time.monotonic(), deadline, "the logged metric never reached the step's job")
            time.sleep(0.1)
        # Too few rows: the condition skips the loop; the exit handler still runs.
        short = self.client.run_pipeline("sdk-flow", {"rows": 1}, name="sdk-flow-2").wait(timeout=120)
        states = {t["name"]: t["state"] for t in short["tasks"]}
        self.assertEqual(states["condition-2"], "SKIPPED")
        self.assertEqual(states["announce"], "SUCCEEDED")

    def test_a_model_is_trained_served_and_predicted_with_numpy(self):
        import numpy

        job = self.client.submit(cadre.Job(
            ["sh", "-c", 'exec cadre-train --model mlp --epochs 1 --train-limit 2000 --threads 1 '
                         '--export "$CADRE_CHECKPOINT_DIR/model.cadre"'], name="sdk-model", cpu=1, memory="1Gi"))
        job.wait(timeout=300)
        self.assertGreater(job.metrics()["accuracy"], 0.5)
        model = os.path.join(self.dir, "state", "checkpoints", "default", "sdk-model", "model.cadre")
        self.client.apply({"apiVersion": "cadre/v1", "kind": "InferenceService", "metadata": {"name": "sdk-isvc"},
                           "spec": {"predictor": {"model": {"modelFormat": {"name": "cadre"},
                                                            "storageUri": "file://" + model},
                                                  "resources": {"cpu": "500m", "memory": "512Mi"}}}})
        deadline = time.monotonic() + 120
        while not self.client.get("isvc/sdk-isvc")["ready"]:
            self.assertLess(time.monotonic(), deadline, "the service never became ready")
            time.sleep(0.25)
        with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
            f.read(16)
            images = numpy.frombuffer(f.read(784 * 4), dtype=numpy.uint8).reshape(4, 28, 28)
        out = self.client.predict("sdk-isvc", images)
        self.assertEqual(out["probabilities"].shape, (4, 10))
        self.assertTrue(numpy.allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-4))
        self.assertEqual(out["label"].shape, (4, 1))
        with self.assertRaisesRegex(cadre.InvalidArgument, "do not make whole items"):
            self.client.predict("sdk-isvc", numpy.zeros(5))
        with self.assertRaisesRegex(cadre.InvalidArgument, "has no input pixels"):
            self.client.predict("sdk-isvc", {"pixels": images})
        self.check_the_same_model_answers_over_grpc("sdk-isvc", images)

    def check_the_same_model_answers_over_grpc(self, service, images):
        """The ingress's gRPC port, through a client generated from the published
        proto, answers as its HTTP port does for the same tensor."""
        import numpy

        grpc, pb, svc = v2_grpc.generated(os.path.join(self.dir, "grpc-py"))
        self.assertTrue(self.client.config.ingress_grpc, "local up wrote no ingress_grpc")
        stub = svc.GRPCInferenceServiceStub(grpc.insecure_channel(self.client.config.ingress_grpc))
        with open(os.path.join(self.dir, "keys", "token")) as f:
            token = f.read().strip()
        auth = [("authorization", "Bearer " + token)]
        self.assertTrue(stub.ServerReady(pb.ServerReadyRequest(), timeout=30).ready)
        self.assertTrue(stub.ModelReady(pb.ModelReadyRequest(name=service), metadata=auth, timeout=30).ready)
        md = stub.ModelMetadata(pb.ModelMetadataRequest(name=service), metadata=auth, timeout=30)
        x = md.inputs[0]
        shape = [len(images)] + list(x.shape[1:])
        pixels = (images.astype(numpy.float32) / 255).reshape(shape)
        request = pb.ModelInferRequest(model_name=service, id="grpc-1")
        request.inputs.add(name=x.name, datatype="FP32", shape=shape)
        request.raw_input_contents.append(pixels.tobytes())
        answer = stub.ModelInfer(request, metadata=auth, timeout=30)
        self.assertEqual(answer.id, "grpc-1")
        names = [o.name for o in answer.outputs]
        by_grpc = numpy.frombuffer(answer.raw_output_contents[names.index("probabilities")],
                                   dtype=numpy.float32).reshape(len(images), 10)
        body = json.dumps({"inputs": [{"name": x.name, "shape": shape, "datatype": "FP32",
                                       "data": pixels.ravel().tolist()}]}).encode()
        http = urllib.request.Request(f"{self.client.config.ingress}/v2/models/{service}/infer", data=body,
                                      headers={"Authorization": "Bearer " + token,
                                               "Content-Type": "application/json"})
        with urllib.request.urlopen(http, timeout=30) as r:
            outputs = json.loads(r.read())["outputs"]
        by_http = numpy.array(next(o for o in outputs if o["name"] == "probabilities")["data"],
                              dtype=numpy.float32).reshape(len(images), 10)
        self.assertTrue(numpy.allclose(by_grpc, by_http, atol=1e-5), (by_grpc, by_http))
        with self.assertRaises(grpc.RpcError) as e:
            stub.ModelInfer(request, timeout=30)  # no token
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as e:
            stub.ModelInfer(pb.ModelInferRequest(model_name="no-such-isvc"), metadata=auth, timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_the_example_notebook_trains_tunes_serves_and_predicts_end_to_end(self):
        notebook = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "notebooks", "fmnist.ipynb")
        executed = os.path.join(self.dir, "fmnist-executed.ipynb")
        env = dict(os.environ, CADRE_CONFIG=self.config, PYTHONPATH=os.path.dirname(cadre.__path__[0]),
                   FMNIST_MODEL="mlp", FMNIST_EPOCHS="1", FMNIST_TRAIN_LIMIT="6000", FMNIST_TRIALS="2",
                   FMNIST_WORKERS="2", PYDEVD_DISABLE_FILE_VALIDATION="1")
        result = subprocess.run(["jupyter-nbconvert", "--to", "notebook", "--execute", notebook, "--output", executed,
                                 "--ExecutePreprocessor.timeout=600"], env=env, capture_output=True, text=True,
                                timeout=900)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(executed) as f:
            cells = json.load(f)["cells"]
        text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
        self.assertIn("Succeeded", text)
        self.assertIn("best: ", text)
        served = float(text.split("served accuracy on 200 test images: ")[1].split()[0])
        self.assertGreater(served, 0.6, text)

    def test_a_notebook_is_applied_listed_and_deleted_like_any_kind(self):
        reply = self.client.apply({"apiVersion": "cadre/v1", "kind": "Notebook", "metadata": {"name": "sdk-nb"},
                                   "spec": {"stopped": True}})
        self.assertEqual(reply, [{"kind": "Notebook", "name": "sdk-nb", "action": "created"}])
        notebook = self.client.get("nb/sdk-nb")
        self.assertEqual((notebook["phase"], notebook["reason"]), ("Stopped", "Stopped"))
        self.assertTrue(notebook["workspace"].endswith("/default/_notebooks/sdk-nb"))
        self.assertIn("sdk-nb", [n["name"] for n in self.client.list("notebooks")])
        self.client.delete("notebook", "sdk-nb")
        with self.assertRaises(cadre.NotFound):
            self.client.get("notebook/sdk-nb")

    def test_a_key_the_coordinator_does_not_know_is_refused_not_timed_out(self):
        stranger = os.path.join(self.dir, "stranger")
        cadre_cli("keys", "generate", "--out", stranger)
        config = cadre.config.load(self.config)
        config.key = stranger + ".key"
        started = time.monotonic()
        with self.assertRaisesRegex(cadre.PermissionDenied, "refused this client's key"):
            cadre.Client(config=config).list("jobs")
        self.assertLess(time.monotonic() - started, 9)

    def test_no_call_hangs_when_the_coordinator_is_not_there(self):
        config = cadre.config.load(self.config)
        config.coordinator = "tcp://127.0.0.1:1"
        client = cadre.Client(config=config, timeout=1)
        started = time.monotonic()
        with self.assertRaisesRegex(cadre.Unavailable, "is it running"):
            client.list("jobs")
        self.assertLess(time.monotonic() - started, 3)


if __name__ == "__main__":
    unittest.main()
