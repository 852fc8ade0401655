"""``sparktrainer labels ...``: import YOLO/COCO labels onto a dataset as a new version, and export
a version's labels (with its images) as YOLO or COCO, printing every shape skipped or clipped."""

from __future__ import annotations

import argparse
from pathlib import Path

from trainer_runtime.api.schema.labels import ReportRow
from trainer_runtime.cli.output import emit_json, version_arg
from trainer_runtime.client.client import Client
from trainer_runtime.datasets.formats import LABEL_FORMATS

SHOWN_ROWS = 200  # report lines printed for people (--json has them all)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("labels", help="import and export labels (YOLO, COCO) of image datasets")
    lsub = p.add_subparsers(dest="labels_cmd", required=True, metavar="COMMAND")
    s = lsub.add_parser("import", help="apply YOLO or COCO labels to a dataset as a new version "
                        "(made from PATH first when there is no such dataset)")  # fmt: skip
    s.add_argument("name")
    s.add_argument(
        "path", type=Path, help="a YOLO folder (data.yaml, labels/) or a COCO folder or .json file"
    )
    s.add_argument("--format", required=True, choices=LABEL_FORMATS)
    s.add_argument("--json", action="store_true")
    s = lsub.add_parser("export", help="write a version's images and labels as a YOLO or COCO folder")
    s.add_argument("name")
    s.add_argument("--version", default="latest", type=version_arg)
    s.add_argument("--format", required=True, choices=LABEL_FORMATS)
    s.add_argument("--out", type=Path, required=True, help="the folder to write (new or empty)")
    s.add_argument(
        "--force", action="store_true", help="replace an earlier export at --out (never any other folder)"
    )
    s.add_argument("--json", action="store_true")


def report_lines(rows: list[ReportRow]) -> list[str]:
    """One line per skipped or clipped shape: where (image, file:line, shape) and why."""
    out = []
    for r in rows:
        where = [r.image] if r.image is not None else []
        if r.file is not None:
            where.append(f"{r.file}:{r.line}" if r.line is not None else r.file)
        if r.shape is not None:
            where.append(f"shape {r.shape}")
        label = f" '{r.label}'" if r.label is not None else ""
        out.append(f"{r.action:<8} {' '.join(where)}{label}: {r.reason}")
    return out


def _print_report(rows: list[ReportRow]) -> None:
    lines = report_lines(rows)
    for line in lines[:SHOWN_ROWS]:
        print(line)
    if len(lines) > SHOWN_ROWS:
        print(f"... and {len(lines) - SHOWN_ROWS} more (use --json for all)")
    skipped = sum(r.action == "skipped" for r in rows)
    print(f"report: {skipped} skipped, {len(rows) - skipped} clipped")


def run(args: argparse.Namespace, client: Client) -> int:
    if args.labels_cmd == "import":
        got = client.labels_import(args.name, str(args.path.expanduser().resolve()), args.format)
        if args.json:
            emit_json(got)
            return 0
        _print_report(got.report)
        v = got.version
        counts = v.meta.get("labels") or {}
        print(f"{args.name} v{v.version}: {counts.get('shapes', 0)} shapes on "
              f"{counts.get('images', 0)} labelled images")  # fmt: skip
        return 0
    out = client.labels_export(
        args.name, str(args.out.expanduser().resolve()), args.format, args.version, force=args.force
    )
    if args.json:
        emit_json(out)
        return 0
    _print_report(out.report)
    w = out.written
    count = (
        f"{w.label_files} label files, {w.shapes} shapes"
        if w.format == "yolo"
        else f"{w.annotations} annotations"
    )
    print(f"exported {args.name} v{w.version} as {w.format} to {w.out}: {w.images} images, {count}")
    return 0
