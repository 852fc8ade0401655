"""Mirroring of jobs into an experiment tracker (MLflow). Importing this does not import mlflow."""

from trainer_runtime.tracking.errors import ErrorKind, MirrorUnavailable
from trainer_runtime.tracking.mlflow_mirror import MlflowMirror, flatten_params

__all__ = ["ErrorKind", "MirrorUnavailable", "MlflowMirror", "flatten_params"]
