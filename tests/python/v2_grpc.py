"""A gRPC client of the Open Inference Protocol generated from the published proto
(serving/grpc/grpc_predict_v2.proto) with Debian's protoc and grpc_python_plugin,
as a user of the ingress's gRPC port would make one."""

import os
import subprocess
import sys

PROTO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "serving", "grpc", "grpc_predict_v2.proto"))


def generated(out_dir):
    """(grpc, the messages module, the service module), generated into out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(["protoc", f"-I{os.path.dirname(PROTO)}", f"--python_out={out_dir}",
                    f"--grpc_out={out_dir}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    PROTO], check=True)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    import grpc
    import grpc_predict_v2_pb2
    import grpc_predict_v2_pb2_grpc
    return grpc, grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
