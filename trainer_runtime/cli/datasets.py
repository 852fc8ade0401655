"""``sparktrainer datasets ...``: import, list, show, versions, diff, verify, quality, rollback,
delete. Everything goes through the daemon, like the jobs commands."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from pathlib import Path

from trainer_runtime.api.schema.datasets import ImportRequest
from trainer_runtime.cli import sft_preview
from trainer_runtime.cli.output import emit_json, error, table, version_arg
from trainer_runtime.client.client import Client
from trainer_runtime.datasets.formats import FORMATS, MODALITIES, is_archive_name, strip_suffix
from trainer_runtime.datasets.tasks import ImportState

POLL_S = 0.2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="import, version, check and clean datasets")
    dsub = p.add_subparsers(dest="datasets_cmd", required=True, metavar="COMMAND")
    s = dsub.add_parser("import", help="import a folder, file or zip/tar archive as a new version")
    s.add_argument("path", type=Path)
    s.add_argument("--name", help="dataset name (default: from the path)")
    s.add_argument("--format", help=", ".join(FORMATS) + " (detected when left out)")
    s.add_argument("--modality", choices=MODALITIES)
    s.add_argument("--keep-corrupt", action="store_true", help="import undecodable images (see quality)")
    s.add_argument(
        "--link", action="store_true",
        help="hard-link your files into storage instead of copying, where that changes nothing about them: "
        "files of yours that are already read-only and private (chmod 0440); others are copied, and "
        "their mode is never changed (editing a linked file in place would change the stored version)",
    )  # fmt: skip
    s.add_argument("--preview", action="store_true", help="only show what would be imported")
    s.add_argument("--json", action="store_true")
    for name, helptext in (("list", "list datasets"),):
        s = dsub.add_parser(name, help=helptext)
        s.add_argument("--json", action="store_true")
    for name, helptext in (("show", "a dataset: format, size, classes, latest version"),
                           ("versions", "the versions of a dataset")):  # fmt: skip
        s = dsub.add_parser(name, help=helptext)
        s.add_argument("name")
        s.add_argument("--json", action="store_true")
    s = dsub.add_parser("diff", help="files added, removed, changed and relabelled from version A to B")
    s.add_argument("name")
    s.add_argument("a", type=version_arg)
    s.add_argument("b", type=version_arg)
    s.add_argument("--json", action="store_true")
    s = dsub.add_parser("verify", help="re-hash every file of a version against its manifest")
    s.add_argument("name")
    s.add_argument("--version", default="latest", type=version_arg)
    s.add_argument("--json", action="store_true")
    s = dsub.add_parser("quality", help="quality report; --apply-gates makes a new, cleaned version")
    s.add_argument("name")
    s.add_argument("--version", default="latest", type=version_arg)
    s.add_argument("--apply-gates", help="comma-separated: dedupe, dedupe-near, drop-corrupt")
    s.add_argument("--json", action="store_true")
    s = dsub.add_parser("rollback", help="make a new version equal to version V")
    s.add_argument("name")
    s.add_argument("version", type=int)
    s.add_argument("--json", action="store_true")
    s = dsub.add_parser(
        "preview",
        help="what an SFT job would train on: rendered examples with their trained tokens, lengths, first batch",
    )
    s.add_argument("dataset", help="an imported dataset's name, or a .json/.jsonl/.txt file")
    s.add_argument("--version", default="latest", type=version_arg, help="of an imported dataset")
    s.add_argument("--model", required=True, help="a built-in model's name, a model folder or a hub id")
    s.add_argument("--template", help="a named chat template (default: the model's own)")
    s.add_argument("--format", help="the rows' shape (default: detected)")
    s.add_argument("--columns", help="our field=the file's field, comma-separated (instruction=question,...)")
    s.add_argument("--loss-on", default="completion", help="all, completion or last_turn")
    s.add_argument("--seq-len", type=int, default=512)
    s.add_argument("--no-packing", action="store_true", help="pad each example instead of packing")
    s.add_argument("--batch-size", type=int, default=2)
    s.add_argument("--examples", type=int, default=3, help="examples rendered")
    s.add_argument("--json", action="store_true")
    s = dsub.add_parser("delete", help="delete one version (files no version uses are reclaimed)")
    s.add_argument("name")
    s.add_argument("--version", type=int, required=True)
    s.add_argument("--json", action="store_true")


def default_name(path: Path) -> str:
    stem = path.resolve().name
    if is_archive_name(stem):
        stem = strip_suffix(stem)
    elif "." in stem and not path.is_dir():
        stem = Path(stem).stem
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "dataset"
    return clean[:80]


def run(args: argparse.Namespace, client: Client) -> int:
    cmd = args.datasets_cmd
    if cmd == "import":
        return _import(args, client)
    if cmd == "list":
        rows = client.datasets()
        if args.json:
            emit_json(rows)
            return 0
        print(table([[d.name, d.modality, d.format, str(d.items), str(d.files), _size(d.total_bytes),
                      f"v{d.latest}", (d.manifest_hash or "")[:12]] for d in rows],
                    ["NAME", "MODALITY", "FORMAT", "ITEMS", "FILES", "SIZE", "LATEST", "HASH"]))  # fmt: skip
        return 0
    if cmd == "show":
        d = client.dataset(args.name)
        if args.json:
            emit_json(d)
            return 0
        print(f"name:      {d.name}\nmodality:  {d.modality}\nformat:    {d.format}\n"
              f"latest:    v{d.latest} ({d.versions} versions)  hash {d.manifest_hash}\n"
              f"items:     {d.items}  files {d.files}  size {_size(d.total_bytes)}")  # fmt: skip
        if d.classes:
            print("classes:   " + ", ".join(f"{k} {v}" for k, v in d.classes.items()))
        return 0
    if cmd == "versions":
        versions = client.dataset_versions(args.name)
        if args.json:
            emit_json(versions)
            return 0
        print(table([[f"v{v.version}", v.created_at[:19], str(v.files), _size(v.total_bytes),
                      v.manifest_hash[:12], v.message] for v in versions],
                    ["VERSION", "CREATED", "FILES", "SIZE", "HASH", "MESSAGE"]))  # fmt: skip
        return 0
    if cmd == "diff":
        diff = client.dataset_diff(args.name, args.a, args.b)
        if args.json:
            emit_json(diff)
            return 0
        for paths, mark in ((diff.added, "+"), (diff.removed, "-"), (diff.changed, "~")):
            for p in paths:
                print(f"{mark} {p}")
        for lab in diff.labels:
            print(f"label {lab.path}: {lab.from_} -> {lab.to}")
        print(f"v{diff.from_} -> v{diff.to}: {len(diff.added)} added, {len(diff.removed)} removed, "
              f"{len(diff.changed)} changed, {len(diff.labels)} relabelled")  # fmt: skip
        return 0
    if cmd == "verify":
        v = client.dataset_verify(args.name, args.version)
        if args.json:
            emit_json(v)
        else:
            for p in v.missing:
                print(f"missing  {p}")
            for p in v.corrupt:
                print(f"corrupt  {p}")
            print(f"{args.name} v{v.version}: {v.checked} files checked, "
                  + ("all intact" if v.ok else f"{len(v.missing)} missing, {len(v.corrupt)} corrupt"))  # fmt: skip
        return 0 if v.ok else 1
    if cmd == "quality":
        return _quality(args, client)
    if cmd == "preview":
        return sft_preview.run(args, client)
    if cmd == "rollback":
        r = client.dataset_rollback(args.name, args.version)
        emit_json(r) if args.json else print(f"{args.name}: new version v{r.version} equals v{args.version} "
                                             f"(hash {r.manifest_hash[:12]})")  # fmt: skip
        return 0
    gone = client.dataset_delete_version(args.name, args.version)
    emit_json(gone) if args.json else print(
        f"deleted {args.name} v{args.version}; {gone.reclaimed_blobs} stored file(s) reclaimed"
    )
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _import(args: argparse.Namespace, client: Client) -> int:
    path = str(args.path.expanduser().resolve())
    if args.preview:
        pv = client.dataset_detect(path, args.format, args.modality)
        if args.json:
            emit_json(pv)
        else:
            print(f"format {pv.format}, modality {pv.modality}: {pv.items} items in {pv.files} files "
                  f"({_size(pv.total_bytes)})")  # fmt: skip
            if pv.classes:
                print("classes: " + ", ".join(f"{k} {v}" for k, v in pv.classes.items()))
            if pv.meta.get("chat_format"):
                fields = ", ".join(pv.meta.get("fields") or [])
                print(f"chat format {pv.meta['chat_format']}" + (f" (fields {fields})" if fields else ""))
            for s in pv.samples:
                print("  " + ", ".join(f"{k}={v}" for k, v in s.items()))
        return 0
    name = args.name or default_name(args.path)
    request = ImportRequest(path=path, name=name, format=args.format, modality=args.modality,
                            keep_corrupt=args.keep_corrupt, link=args.link)  # fmt: skip
    task = client.import_dataset(request)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cancelled = False
    last = ""
    while True:
        try:
            task = client.dataset_import_status(task.id)
            if task.is_terminal:
                break
            line = f"{task.phase} {task.done}/{task.total}" if task.total else task.phase
            if line != last:
                _progress(line)
                last = line
            time.sleep(POLL_S)
        except KeyboardInterrupt:
            if not cancelled:
                cancelled = True
                _progress("cancelling…")
                client.dataset_import_cancel(task.id)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if task.state is ImportState.COMPLETED and task.version is not None:
        v = task.version
        emit_json(v) if args.json else print(
            f"imported {name} v{v.version}: {v.item_count} items, {v.files} files, "
            f"{_size(v.total_bytes)}, hash {v.manifest_hash[:12]}"
        )
        if v.link_note and not args.json:
            print(v.link_note)
        return 0
    if args.json:
        emit_json(task)
    error(task.error or task.state.label)
    return 130 if task.state is ImportState.CANCELLED else 2


def _progress(line: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line.ljust(40))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _quality(args: argparse.Namespace, client: Client) -> int:
    gates = [g.strip() for g in args.apply_gates.split(",") if g.strip()] if args.apply_gates else None
    if gates:
        g = client.dataset_gates(args.name, gates, args.version)
        if args.json:
            emit_json(g)
        elif g.version is None:
            print(f"{args.name}: {g.message}")
        else:
            print(f"{args.name}: new version v{g.version} without {len(g.dropped)} file(s)")
            for p in g.dropped:
                print(f"  dropped {p}")
        return 0
    q = client.dataset_quality(args.name, args.version)
    if args.json:
        emit_json(q)
        return 0
    print(f"{args.name} v{q.version} quality")
    for key, n in q.summary.model_dump().items():
        print(f"  {key.replace('_', ' '):<18} {n}")
    for u in q.undecodable[:20]:
        print(f"  undecodable {u.path}: {u.error}")
    for group in q.exact_duplicates[:20]:
        print(f"  duplicates  {', '.join(group)}")
    for group in q.near_duplicates[:20]:
        print(f"  near-dups   {', '.join(group)}")
    for e in q.schema_errors[:20]:
        where = f"line {e.line}" if e.line is not None else f"annotation {e.annotation}"
        print(f"  schema      {e.path} {where}: {e.message}")
    if q.class_counts:
        ratio = f"{q.imbalance_ratio:.2f}" if q.imbalance_ratio else "-"
        print(
            "  classes     "
            + ", ".join(f"{k} {v}" for k, v in q.class_counts.items())
            + f" (imbalance {ratio})"
        )
    return 0
