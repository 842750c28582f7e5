"""Cadre's Python SDK: submit, watch and read training jobs, experiments,
inference services and pipelines from any Python (docs/python.md).

    import cadre
    client = cadre.Client()
    job = client.submit(cadre.TrainJob(command=["cadre-train", "--model", "mlp"], workers=2))
    job.wait(timeout=600)
    print(job.metrics())
"""

from . import dsl, search
from .client import Client
from .config import ClientConfig
from .errors import (AlreadyExists, CadreError, DataLoss, DeadlineExceeded, FailedPrecondition, Internal,
                     InvalidArgument, NotFound, PermissionDenied, Unavailable, WorkloadFailed)
from .jobs import Job, JobHandle, TrainJob
from .pipelines import RunHandle
from .tune import ExperimentHandle

__version__ = "0.1.0"

__all__ = ["AlreadyExists", "CadreError", "Client", "ClientConfig", "DataLoss", "DeadlineExceeded",
           "ExperimentHandle", "FailedPrecondition", "Internal", "InvalidArgument", "Job", "JobHandle", "NotFound",
           "PermissionDenied", "RunHandle", "TrainJob", "Unavailable", "WorkloadFailed", "dsl", "search"]
