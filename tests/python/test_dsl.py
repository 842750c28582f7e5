"""The pipeline DSL compiles to the KFP v2 spec shapes the KFP compiler writes,
and a Python component's step program runs the function with the launcher's
executor input."""

import json
import os
import subprocess
import sys
import tempfile
import typing
import unittest

from cadre import dsl
from cadre.dsl import Dataset, Input, Metrics, Model, Output, OutputPath
from cadre.errors import FailedPrecondition, InvalidArgument


@dsl.component
def add(a: float, b: float = 1.0) -> float:
    """Adds two numbers."""
    return a + b


@dsl.component(cpu="500m", memory="256Mi")
def make_data(rows: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write("x\n" * rows)
    data.metadata["rows"] = rows
    return rows


@dsl.component
def train(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> typing.NamedTuple(
        "Outputs", [("accuracy", float), ("note", str)]):
    with open(data.path) as f:
        rows = len(f.readlines())
    with open(model.path, "w") as f:
        f.write(f"model of {rows} rows")
    metrics.log_metric("accuracy", 0.5 + rows / 100)
    return (0.5 + rows / 100, "trained")


@dsl.component
def make_list() -> list:
    return [1, 2, 3]


@dsl.component
def total(values: list) -> float:
    return float(sum(values))


@dsl.container_component
def say(message: str, out: OutputPath(str)):
    return dsl.ContainerSpec(command=["sh", "-c", 'echo "$0" > "$1"'], args=[message, out])


@dsl.container_component
def fit(data: Input[Dataset], workers: int, model: Output[Model]):
    return dsl.Workload("TrainJob", {"replicaSpecs": {"Worker": {
        "replicas": workers, "template": {"command": ["cadre-train"], "args": ["--data", data.path,
                                                                              "--export", model.path]}}}})


class CompileTest(unittest.TestCase):
    def test_tasks_pass_outputs_and_constants_as_the_kfp_compiler_writes_them(self):
        @dsl.pipeline(name="adder", description="adds")
        def adder(x: float = 2.0):
            first = add(a=x)
            add(a=first.output, b=3.0)
            return first.output

        spec = dsl.compile(adder)
        self.assertEqual(spec["pipelineInfo"], {"name": "adder", "description": "adds"})
        self.assertEqual(spec["schemaVersion"], "2.1.0")
        tasks = spec["root"]["dag"]["tasks"]
        self.assertEqual(sorted(tasks), ["add", "add-2"])
        self.assertEqual(tasks["add"]["inputs"]["parameters"]["a"], {"componentInputParameter": "x"})
        self.assertEqual(tasks["add-2"]["inputs"]["parameters"]["a"],
                         {"taskOutputParameter": {"producerTask": "add", "outputParameterKey": "Output"}})
        self.assertEqual(tasks["add-2"]["inputs"]["parameters"]["b"], {"runtimeValue": {"constant": 3.0}})
        self.assertEqual(tasks["add-2"]["dependentTasks"], ["add"])
        self.assertEqual(spec["root"]["inputDefinitions"]["parameters"]["x"],
                         {"parameterType": "NUMBER_DOUBLE", "isOptional": True, "defaultValue": 2.0})
        self.assertEqual(spec["root"]["dag"]["outputs"]["parameters"]["Output"]["valueFromParameter"],
                         {"producerSubtask": "add", "outputParameterKey": "Output"})
        comp = spec["components"]["comp-add"]
        self.assertEqual(comp["inputDefinitions"]["parameters"]["b"],
                         {"parameterType": "NUMBER_DOUBLE", "isOptional": True, "defaultValue": 1.0})
        self.assertEqual(comp["outputDefinitions"]["parameters"]["Output"], {"parameterType": "NUMBER_DOUBLE"})
        container = spec["deploymentSpec"]["executors"]["exec-add"]["container"]
        self.assertEqual(container["command"][:2], ["python3", "-c"])
        self.assertEqual(container["args"], ["{{$}}"])

    def test_artifacts_flow_between_tasks_with_their_schema(self):
        @dsl.pipeline
        def flow(rows: int = 3):
            data = make_data(rows=rows)
            train(data=data.outputs["data"])

        spec = dsl.compile(flow)
        self.assertEqual(spec["pipelineInfo"]["name"], "flow")
        train_task = spec["root"]["dag"]["tasks"]["train"]
        self.assertEqual(train_task["inputs"]["artifacts"]["data"],
                         {"taskOutputArtifact": {"producerTask": "make-data", "outputArtifactKey": "data"}})
        outs = spec["components"]["comp-train"]["outputDefinitions"]
        self.assertEqual(outs["artifacts"]["model"]["artifactType"]["schemaTitle"], "system.Model")
        self.assertEqual(outs["parameters"], {"accuracy": {"parameterType": "NUMBER_DOUBLE"},
                                              "note": {"parameterType": "STRING"}})
        resources = spec["deploymentSpec"]["executors"]["exec-make-data"]["container"]["resources"]
        self.assertEqual(resources, {"resourceCpuLimit": "500m", "resourceMemoryLimit": "256Mi"})

    def test_a_condition_becomes_a_sub_dag_whose_inputs_cross_in_as_pipeline_channels(self):
        @dsl.pipeline
        def branchy(x: float = 1.0):
            first = add(a=x)
            with dsl.If(first.output >= 2.5):
                add(a=first.output, b=x)

        spec = dsl.compile(branchy)
        entry = spec["root"]["dag"]["tasks"]["condition-1"]
        self.assertEqual(entry["triggerPolicy"]["condition"],
                         "inputs.parameter_values['pipelinechannel--add-Output'] >= 2.5")
        self.assertEqual(entry["dependentTasks"], ["add"])
        self.assertEqual(entry["inputs"]["parameters"]["pipelinechannel--x"], {"componentInputParameter": "x"})
        inner = spec["components"]["comp-condition-1"]
        self.assertEqual(inner["dag"]["tasks"]["add-2"]["inputs"]["parameters"]["a"],
                         {"componentInputParameter": "pipelinechannel--add-Output"})
        self.assertEqual(sorted(inner["inputDefinitions"]["parameters"]),
                         ["pipelinechannel--add-Output", "pipelinechannel--x"])

    def test_a_loop_over_a_task_output_collects_its_results_for_a_later_task(self):
        @dsl.pipeline
        def fan():
            items = make_list()
            with dsl.ParallelFor(items.output, parallelism=2) as item:
                doubled = add(a=item, b=item)
            total(values=dsl.Collected(doubled.output))

        spec = dsl.compile(fan)
        loop = spec["root"]["dag"]["tasks"]["for-loop-1"]
        self.assertEqual(loop["parameterIterator"], {
            "itemInput": "pipelinechannel--make-list-Output-loop-item",
            "items": {"inputParameter": "pipelinechannel--make-list-Output"}})
        self.assertEqual(loop["iteratorPolicy"], {"parallelismLimit": 2})
        self.assertEqual(spec["root"]["dag"]["tasks"]["total"]["inputs"]["parameters"]["values"],
                         {"taskOutputParameter": {"producerTask": "for-loop-1",
                                                  "outputParameterKey": "pipelinechannel--add-Output"}})
        comp = spec["components"]["comp-for-loop-1"]
        self.assertEqual(comp["outputDefinitions"]["parameters"]["pipelinechannel--add-Output"],
                         {"parameterType": "LIST"})
        self.assertEqual(comp["dag"]["outputs"]["parameters"]["pipelinechannel--add-Output"],
                         {"valueFromParameter": {"producerSubtask": "add", "outputParameterKey": "Output"}})

    def test_a_loop_over_a_literal_list_inlines_it(self):
        @dsl.pipeline
        def literal():
            with dsl.ParallelFor([1, 2, 3]) as item:
                add(a=item)

        loop = dsl.compile(literal)["root"]["dag"]["tasks"]["for-loop-1"]
        self.assertEqual(loop["parameterIterator"]["items"], {"raw": "[1, 2, 3]"})

    def test_an_exit_handler_runs_its_task_after_the_group_whatever_happened(self):
        @dsl.pipeline
        def guarded(message: str = "done"):
            report = say(message=message)
            with dsl.ExitHandler(report):
                add(a=1.0)

        tasks = dsl.compile(guarded)["root"]["dag"]["tasks"]
        self.assertEqual(tasks["say"]["dependentTasks"], ["exit-handler-1"])
        self.assertEqual(tasks["say"]["triggerPolicy"], {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"})

    def test_a_container_component_gets_placeholders_and_a_workload_its_spec(self):
        @dsl.pipeline
        def both(workers: int = 2):
            data = make_data(rows=1)
            fit(data=data.outputs["data"], workers=workers)
            say(message="hi")

        executors = dsl.compile(both)["deploymentSpec"]["executors"]
        self.assertEqual(executors["exec-say"]["container"]["args"],
                         ["{{$.inputs.parameters['message']}}", "{{$.outputs.parameters['out'].output_file}}"])
        worker = executors["exec-fit"]["cadre"]["spec"]["replicaSpecs"]["Worker"]
        self.assertEqual(worker["replicas"], "{{$.inputs.parameters['workers']}}")
        self.assertEqual(worker["template"]["args"][1], "{{$.inputs.artifacts['data'].path}}")

    def test_retry_caching_and_after_are_written(self):
        @dsl.pipeline
        def options():
            first = add(a=1.0).set_caching_options(False)
            add(a=2.0).after(first).set_retry(2, backoff_duration="1s")

        tasks = dsl.compile(options)["root"]["dag"]["tasks"]
        self.assertEqual(tasks["add"]["cachingOptions"], {})
        self.assertEqual(tasks["add-2"]["dependentTasks"], ["add"])
        self.assertEqual(tasks["add-2"]["retryPolicy"], {"maxRetryCount": 2, "backoffDuration": "1s"})


class CompileErrorsTest(unittest.TestCase):
    def test_mistakes_are_refused_with_what_was_wrong(self):
        @dsl.pipeline
        def unknown_input():
            add(c=1.0)

        with self.assertRaisesRegex(InvalidArgument, r"add: no input c \(inputs: a, b\)"):
            dsl.compile(unknown_input)

        @dsl.pipeline
        def missing():
            add()

        with self.assertRaisesRegex(InvalidArgument, "input a is required"):
            dsl.compile(missing)

        @dsl.pipeline
        def leaks():
            with dsl.If(add(a=1.0).output > 1):
                inner = add(a=2.0)
            add(a=inner.output)

        with self.assertRaisesRegex(InvalidArgument, "made inside condition-1 and used outside"):
            dsl.compile(leaks)

        @dsl.pipeline
        def truthy():
            if add(a=1.0).output > 1:
                pass

        with self.assertRaisesRegex(TypeError, "use dsl.If"):
            dsl.compile(truthy)

    def test_a_component_outside_a_pipeline_says_how_to_run_the_function(self):
        with self.assertRaises(FailedPrecondition):
            add(a=1.0)
        self.assertEqual(add.python_func(1.0, 2.0), 3.0)

    def test_a_parameter_without_a_pipeline_type_is_refused(self):
        with self.assertRaisesRegex(InvalidArgument, "not a pipeline parameter type"):
            @dsl.component
            def bad(x: complex) -> int:
                return 1


class StepProgramTest(unittest.TestCase):
    """Runs a Python component's step program as the launcher would."""

    def run_step(self, component, parameters, input_artifacts=(), output_artifacts=(), output_parameters=()):
        folder = tempfile.mkdtemp()
        executor_input = {"inputs": {"parameterValues": parameters, "artifacts": {}},
                          "outputs": {"parameters": {}, "artifacts": {},
                                      "outputFile": os.path.join(folder, "executor_output.json")}}
        for name, path in input_artifacts:
            executor_input["inputs"]["artifacts"][name] = {"artifacts": [{"name": name, "uri": "file://" + path,
                                                                          "metadata": {}}]}
        for name in output_artifacts:
            executor_input["outputs"]["artifacts"][name] = {"artifacts": [{
                "name": name, "uri": "file://" + os.path.join(folder, "artifacts", name), "metadata": {}}]}
        for name in output_parameters:
            executor_input["outputs"]["parameters"][name] = {"outputFile": os.path.join(folder, "parameters", name)}
        os.makedirs(os.path.join(folder, "parameters"))
        container = component.executor["container"]
        subprocess.run([sys.executable, *container["command"][1:], json.dumps(executor_input)], check=True,
                       cwd=folder)
        return folder

    def test_parameters_in_return_value_out(self):
        folder = self.run_step(add, {"a": 2.5, "b": 1}, output_parameters=["Output"])
        with open(os.path.join(folder, "parameters", "Output")) as f:
            self.assertEqual(f.read(), "3.5")

    def test_artifacts_are_written_where_the_launcher_reads_them_with_metadata(self):
        folder = self.run_step(make_data, {"rows": 4}, output_artifacts=["data"], output_parameters=["Output"])
        with open(os.path.join(folder, "artifacts", "data")) as f:
            self.assertEqual(f.read(), "x\n" * 4)
        with open(os.path.join(folder, "executor_output.json")) as f:
            self.assertEqual(json.load(f)["artifacts"]["data"]["artifacts"][0]["metadata"], {"rows": 4})
        trained = self.run_step(train, {}, input_artifacts=[("data", os.path.join(folder, "artifacts", "data"))],
                                output_artifacts=["model", "metrics"], output_parameters=["accuracy", "note"])
        with open(os.path.join(trained, "parameters", "note")) as f:
            self.assertEqual(f.read(), "trained")
        with open(os.path.join(trained, "parameters", "accuracy")) as f:
            self.assertAlmostEqual(float(f.read()), 0.54)


if __name__ == "__main__":
    unittest.main()
