"""Mirroring of jobs into an experiment tracker (MLflow). Importing this does not import mlflow."""

from trainer_runtime.tracking.mlflow_mirror import MirrorUnavailable, MlflowMirror, flatten_params

__all__ = ["MirrorUnavailable", "MlflowMirror", "flatten_params"]
