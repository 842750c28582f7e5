"""The example notebook (examples/notebooks/fmnist.ipynb) end to end inside a Cadre
Notebook: its cells are sent by this test, through the ingress's proxy, to a kernel
of a Jupyter server the cluster runs, which trains, tunes, serves and predicts with
the SDK and the notebook's own namespace-scoped client config."""

import json
import os
import unittest
import urllib.parse

import cadre
from test_notebook_proxy import ProxyClient, cadre_cli, notebook_json, notebook_yaml

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "notebooks",
                       "fmnist.ipynb")


class NotebookExampleTest(ProxyClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up_cluster("cadre-nbexample-")
        try:
            client = cadre.Client()
            cls.token = client.create_token("default", "example notebook test")
            # The example's parameters, small (as test_cluster runs it with nbconvert).
            env = {"FMNIST_MODEL": "mlp", "FMNIST_EPOCHS": 1, "FMNIST_TRAIN_LIMIT": 6000, "FMNIST_TRIALS": 2,
                   "FMNIST_WORKERS": 2, "FMNIST_CPU": 0.5}
            path = os.path.join(cls.dir, "lab.yaml")
            with open(path, "w") as f:
                f.write(notebook_yaml("lab", env=env))
            cadre_cli("apply", "-f", path)
            cadre_cli("wait", "notebook/lab", "--for", "Running", "--timeout", "120")
            url = urllib.parse.urlparse(notebook_json("lab")["url"])
            cls.host, cls.port = url.hostname, url.port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.down_cluster()

    def test_the_example_notebook_trains_tunes_serves_and_predicts_through_the_proxy(self):
        with open(EXAMPLE) as f:
            cells = [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]
        kernel = self.start_kernel("lab", self.bearer())
        ws = self.channels("lab", kernel, self.bearer())
        ws.settimeout(900)
        text = ""
        try:
            for cell in cells:
                text += self.execute(ws, "".join(cell["source"]))
        finally:
            ws.close()
        print(text)  # the outputs, as the notebook shows them
        self.assertIn("Succeeded", text)
        self.assertIn("best: ", text)
        served = float(text.split("served accuracy on 200 test images: ")[1].split()[0])
        self.assertGreater(served, 0.6, text)


if __name__ == "__main__":
    unittest.main()
