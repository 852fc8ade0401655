"""What a graph job trains on, checked without torch: the graph file and its dataset must fit.

Datasets: an image folder (one sub-folder per class, images decoded with Pillow and resized to the
Input shape) or a CSV file with a ``target`` column (the other columns are numeric features).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from trainer_runtime.datasets.formats import IMAGE_SUFFIXES
from trainer_runtime.userfiles import UserFileError, check_file_or_folder, display, read_bytes

from .errors import GraphError
from .graph import Graph
from .infer import infer

TARGET = "target"
CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
MAX_HEADER = 1 << 20  # bytes read to find a CSV's header row


class GraphJobError(ValueError):
    """A graph job whose graph or dataset cannot train; ``field`` is the spec field to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class GraphTask:
    """What the graph's single Input and Output mean for training."""

    graph: Graph
    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]
    loss: str  # cross_entropy | mse | bce_with_logits


def load_task(path: str | Path) -> GraphTask:
    """Load and infer a graph file; GraphJobError naming the node for any problem."""
    try:
        g = Graph.load(path)
    except GraphError as exc:
        raise GraphJobError("model.graph", _at_node(exc)) from None
    res = infer(g)
    errors = res.all_errors()
    if errors:
        more = f" ({len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise GraphJobError("model.graph", f"{path}: {_at_node(errors[0])}{more}")
    inputs = [n for n in g.nodes.values() if n.type == "Input"]
    outputs = [n for n in g.nodes.values() if n.type == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise GraphJobError(
            "model.graph",
            f"{path}: a trainable graph needs exactly one Input and one Output node "
            f"(it has {len(inputs)} and {len(outputs)}).",
        )
    out = outputs[0]
    (out_shape,) = res.input_shapes[out.id]["in"]
    return GraphTask(
        g, tuple(inputs[0].params["shape"]), inputs[0].params["dtype"], out_shape, out.params["loss"]
    )


def _at_node(exc: GraphError) -> str:
    return f"node '{exc.node_id}': {exc.message}" if exc.node_id else exc.message


def image_classes(root: Path) -> list[tuple[str, list[Path]]]:
    classes = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if files:
            classes.append((sub.name, files))
    return classes


def csv_header(path: Path) -> list[str]:
    """The CSV's header row, from at most its first MAX_HEADER bytes (a regular file only)."""
    try:
        head = read_bytes(path, "dataset file", MAX_HEADER, head=True)
    except UserFileError as err:
        raise GraphJobError("dataset.path", err.message) from None
    first, newline, _ = head.partition(b"\n")
    if not newline and len(head) == MAX_HEADER:
        raise GraphJobError(
            "dataset.path", f"{display(path)}: the header row is longer than {MAX_HEADER >> 10} KiB."
        )
    try:
        header = next(csv.reader([first.decode("utf-8").rstrip("\r")]), None)
    except UnicodeDecodeError:
        raise GraphJobError(
            "dataset.path", f"{display(path)} is not UTF-8 text, so it is not a CSV file."
        ) from None
    if not header:
        raise GraphJobError("dataset.path", f"{display(path)} is empty; a CSV needs a header row.")
    return [h.strip() for h in header]


def check_graph_job(graph_path: str | Path, dataset_path: str | Path) -> GraphTask:
    """Check that the graph trains on the dataset (cheap: reads the graph, lists folders, reads a header)."""
    task = load_task(graph_path)
    data = Path(dataset_path)
    if data.exists():
        try:
            check_file_or_folder(data, "dataset")  # not a FIFO, device or /proc file
        except UserFileError as err:
            raise GraphJobError("dataset.path", err.message) from None
    if task.input_dtype != "float":
        raise GraphJobError(
            "model.graph",
            "recipe 'graph' trains on image folders and numeric CSVs: the Input dtype must be float.",
        )
    if data.is_dir():
        classes = image_classes(data)
        if len(classes) < 2:
            raise GraphJobError(
                "dataset.path",
                f"{data} needs at least two sub-folders of images (one per class); it has {len(classes)}.",
            )
        shape = task.input_shape
        if len(shape) != 3 or shape[0] not in CHANNEL_MODES:
            raise GraphJobError(
                "model.graph",
                f"images need an Input shape (channels, height, width) with 1, 3 or 4 channels, not {list(shape)}.",
            )
        _check_classes(task, len(classes), f"{data} has {len(classes)} class folders")
    elif data.is_file() and data.suffix.lower() == ".csv":
        header = csv_header(data)
        if TARGET not in header:
            raise GraphJobError(
                "dataset.path", f"{data} has no '{TARGET}' column (its columns: {', '.join(header)})."
            )
        n_features = len(header) - 1
        if math.prod(task.input_shape) != n_features:
            raise GraphJobError(
                "model.graph",
                f"the Input shape {list(task.input_shape)} holds {math.prod(task.input_shape)} values but "
                f"{data.name} has {n_features} feature columns; set the Input shape to [{n_features}].",
            )
        if task.loss != "cross_entropy" and math.prod(task.output_shape) != 1:
            what = "regression" if task.loss == "mse" else "a 0/1 target (bce_with_logits)"
            raise GraphJobError(
                "model.graph",
                f"{what} on the one '{TARGET}' column needs an Output of shape (1,), not {task.output_shape}.",
            )
    elif data.exists():
        raise GraphJobError(
            "dataset.path",
            f"{data}: recipe 'graph' reads an image folder or a .csv file, not '{data.suffix}'.",
        )
    else:
        raise GraphJobError("dataset.path", f"dataset not found: {data}")
    return task


def _check_classes(task: GraphTask, n: int, what: str) -> None:
    if task.loss != "cross_entropy":
        raise GraphJobError(
            "model.graph",
            "an image folder is a classification dataset: set the Output loss to cross_entropy.",
        )
    if task.output_shape != (n,):
        raise GraphJobError(
            "model.graph",
            f"{what} but the Output gets shape {task.output_shape}; make the last layer give {n} values.",
        )
