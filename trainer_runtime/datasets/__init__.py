"""Datasets: content-addressed storage, format detection, versioned manifests, integrity and quality.

No Qt and no torch here; the daemon drives it through ``service.DatasetService``."""
