"""``sparktrainer graph ...``: check, export and import architecture graphs."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.graphs import GraphImported, GraphSummary
from trainer_runtime.architecture.errors import GraphError
from trainer_runtime.architecture.graph import Graph
from trainer_runtime.architecture.report import human, summary
from trainer_runtime.architecture.rules import fmt
from trainer_runtime.cli.output import emit_json, error, table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="check, export and import architecture graphs")
    gsub = p.add_subparsers(dest="graph_cmd", required=True, metavar="COMMAND")
    s = gsub.add_parser("check", help="errors, shapes, parameters and FLOPs of a graph file")
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true")
    s = gsub.add_parser("export", help="write the graph as PyTorch source")
    s.add_argument("file", type=Path)
    s.add_argument("--out", type=Path, required=True, help="the .py file to write")
    s.add_argument("--class-name", default="Net")
    s = gsub.add_parser("import", help="turn a PyTorch model into a graph file (torch.fx)")
    s.add_argument(
        "target", help="MODULE:FACTORY, a function making the nn.Module (or the class, or an instance)"
    )
    s.add_argument(
        "--input-shape", required=True, help="one sample's shape without the batch dim, e.g. 3,32,32"
    )
    s.add_argument("--input-dtype", choices=["float", "long"], default="float", help="long for token ids")
    s.add_argument("--out", type=Path, required=True, help="the graph file to write")
    s.add_argument("--daemon", action="store_true", help="run the import in the daemon (as the GUI does)")


def _load(path: Path) -> Graph | None:
    try:
        return Graph.load(path)
    except GraphError as err:
        error(f"node '{err.node_id}': {err.message}" if err.node_id else err.message)
        return None


def run(args: argparse.Namespace, client_factory: Any) -> int:
    if args.graph_cmd == "check":
        return check(args)
    if args.graph_cmd == "export":
        return export(args)
    return import_(args, client_factory)


def check(args: argparse.Namespace) -> int:
    g = _load(args.file)
    if g is None:
        return 2
    s: GraphSummary = parse(GraphSummary, summary(g))  # what the daemon's /v1/graphs/check answers
    if args.json:
        emit_json(s)
        return 0 if s.ok else 1
    rows = []
    for n in s.nodes:
        shape = "value" if n.value else (fmt(tuple(n.shape)) if n.shape is not None else "-")
        problem = "; ".join(e.message for e in n.errors)
        rows.append([n.id, n.type, n.name, shape, human(n.params), human(n.flops), problem])
    print(table(rows, ["NODE", "TYPE", "NAME", "SHAPE", "PARAMS", "FLOPS", "PROBLEM"]))
    for e in s.graph_errors:
        print(f"problem: {e.message}")
    print(f"total: {s.total_params:,} parameters, {human(s.total_flops)} FLOPs per sample")
    problems = len(s.graph_errors) + sum(len(n.errors) for n in s.nodes)
    print("graph is valid" if s.ok else f"{problems} problem(s)")
    return 0 if s.ok else 1


def export(args: argparse.Namespace) -> int:
    from trainer_runtime.architecture.codegen import export_source

    g = _load(args.file)
    if g is None:
        return 2
    try:
        source = export_source(g, args.class_name)
    except GraphError as err:
        error(f"node '{err.node_id}': {err.message}" if err.node_id else err.message)
        return 1
    args.out.write_text(source, encoding="utf-8")
    print(f"wrote {args.out} (class {args.class_name})")
    return 0


def import_(args: argparse.Namespace, client_factory: Any) -> int:
    try:
        shape = [int(s) for s in args.input_shape.replace(" ", "").split(",") if s]
    except ValueError:
        error(f"--input-shape must be sizes separated by commas, like 3,32,32 (not '{args.input_shape}')")
        return 2
    if not shape or min(shape) < 1:
        error(f"--input-shape needs sizes of at least 1, like 3,32,32 (not '{args.input_shape}')")
        return 2
    if args.daemon:
        result = client_factory().graph_import(args.target, shape, args.input_dtype, cwd=os.getcwd())
    else:  # in this process, with the same answer model as the daemon's
        from trainer_runtime.architecture.import_target import run_import

        try:
            result = parse(GraphImported, run_import(args.target, shape, args.input_dtype, cwd=os.getcwd()))
        except GraphError as err:
            error(err.message)
            return 1
    g = Graph.from_dict(result.graph, "the imported graph")
    g.save(args.out)
    kinds: dict[str, int] = {}
    for n in g.nodes.values():
        kinds[n.type] = kinds.get(n.type, 0) + 1
    print(f"wrote {args.out}: {len(g.nodes)} nodes via {result.method} ({json.dumps(kinds)})")
    for note in result.notes:
        print(f"note: {note}")
    return 0
