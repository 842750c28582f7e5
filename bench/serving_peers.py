#!/usr/bin/python3
"""The peers cadre-serve is measured against (scripts/bench.sh serving):

  serving_peers.py torchscript {mlp|cnn} OUT.pt
      the same network as cadre-train's, as a TorchScript model taking raw pixel
      values (the normalisation is inside, as the cadre backend does it)
  serving_peers.py fastapi {mlp|cnn} PORT_FILE
      a plain Python server as users write one: FastAPI + uvicorn + PyTorch, one
      forward pass per request, V2 JSON in and out at /v2/models/<m>/infer
"""
import json
import os
import socket
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import build  # noqa: E402  (the same architectures as cadre-train)


class RawPixels(nn.Module):
    """Takes 0..255 pixel values, normalises as cadre-train's data loader."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net((x / 255.0 - 0.2860) / 0.3530)


def model(name):
    torch.manual_seed(0)
    return RawPixels(build(name)).eval()


def torchscript(name, out):
    torch.jit.save(torch.jit.script(model(name)), out)


def fastapi(name, port_file):
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    net = model(name)
    app = FastAPI()

    @app.post("/v2/models/{model_name}/infer")
    async def infer(model_name: str, request: Request):
        body = await request.json()
        t = body["inputs"][0]
        x = torch.from_numpy(np.asarray(t["data"], dtype=np.float32).reshape(t["shape"]))
        with torch.no_grad():
            y = net(x)
        return JSONResponse({"model_name": model_name, "outputs": [
            {"name": "logits", "datatype": "FP32", "shape": list(y.shape),
             "data": y.flatten().tolist()}]})

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    {"torchscript": torchscript, "fastapi": fastapi}[sys.argv[1]](*sys.argv[2:])
