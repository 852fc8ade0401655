"""Hostile requests against a real daemon: bodies, queries, URL parts, specs and user-named paths.

No answer is a 5xx (507 for a full disk aside), every error answer is a clean sentence (no NUL,
no object repr, no traceback, bounded), the event loop keeps answering another client while
special files and big drafts are handled, and the daemon's peak memory stays bounded. The
archive and image half is ``test_hostile_archives.py``."""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests import dataset_fixtures as fx
from tests.helpers import cli, daemon_pid, fill, peak_rss_mb, start_import, stop_everything, wait_import
from trainer_runtime.client.client import ApiError, Client
from trainer_runtime.client.transport import _UnixConnection
from trainer_runtime.datasets.tasks import ImportState

pytestmark = pytest.mark.e2e
PEAK_MB = 500  # the daemon's peak resident memory over a whole hostile run
STATUS_S = 1.0  # the slowest /v1/status answer allowed while another client sends hostile input
DEEP = b"[" * 100_000 + b"]" * 100_000


# ------------------------------------------------------------------------------ helpers
def raw(
    client: Client, method: str, path: str, body: bytes | None = None, timeout: float = 60
) -> tuple[int, Any]:
    """One request with exactly these bytes; the status and the JSON (or text) answer."""
    conn = _UnixConnection(client.socket_path, timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        if resp.getheader("Content-Type", "").startswith("application/x-ndjson"):
            return resp.status, "(an event stream)"  # it never ends: not read
        data = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, data.decode("utf-8", "replace")


def declared_only(client: Client, path: str, length: int, method: str = "POST") -> int:
    """A request that declares a body of ``length`` bytes and sends a few: the status answered."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(client.socket_path)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {length}\r\n\r\n{{\"a\": \"".encode())  # fmt: skip
    try:
        head = s.recv(4096).decode("latin-1")
    finally:
        s.close()
    return int(head.split(" ", 2)[1])


def problem(status: int, answer: Any) -> str | None:
    """Why an answer breaks the rules, or None."""
    if status >= 500 and status != 507:
        return f"answered {status}: {str(answer)[:300]}"
    if status < 400:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
        return f"error answer {status} is not {{'error': sentence}}: {str(answer)[:200]}"
    text = json.dumps(answer, ensure_ascii=False)
    for bad in ("\x00", "object at 0x", "Traceback"):
        if bad in text:
            return f"error answer {status} holds {bad!r}: {text[:200]}"
    if len(answer["error"]) > 2000:
        return f"error sentence of {len(answer['error'])} characters"
    return None


class StatusWatch:
    """Another client asking /v1/status all along; ``slowest`` answer time in seconds."""

    def __init__(self, client: Client):
        self.client = Client(client.data, timeout=10)
        self.times: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                self.client.status()
            except Exception as err:  # noqa: BLE001 - a timeout is exactly what this watch reports
                self.errors.append(f"{type(err).__name__}: {err}")
            self.times.append(time.monotonic() - t0)
            self._stop.wait(0.02)

    def __enter__(self) -> StatusWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def slowest(self) -> float:
        return max(self.times, default=0.0)


def _imported(client: Client, task: Any, timeout: float = 120) -> Any:
    task = wait_import(client, task, timeout)
    assert task.state is ImportState.COMPLETED, task
    return task


def spec_of(corpus: Path, **over: Any) -> dict[str, Any]:
    spec = {"name": "hostile", "model": {"builtin": "tiny-gpt2"}, "dataset": {"path": str(corpus)},
            "train": {"max_steps": 2, "batch_size": 2, "seq_len": 16, "eval_every": 0}}  # fmt: skip
    for dotted, value in over.items():
        *parents, leaf = dotted.split(".")
        node = spec
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return spec


def _dotted_set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the field at ``dotted`` (``spec.train.seed``) set to ``value``."""
    out = copy.deepcopy(data)
    *parents, leaf = dotted.split(".")
    node = out
    for p in parents:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[leaf] = value
    return out


HOSTILE_VALUES: list[Any] = [
    10**30, 2**63, -(2**63) - 1, -1, 0, 1.5, float("nan"), float("inf"), -float("inf"), True, None, "",
    "5", "\x00" * 4096, "a\x00b", "x" * 200_000, "\udcff\udcfe", "\ud800", "/proc/self/mem", "/dev/zero",
    "../../../etc/passwd", [], [1, "a"], {}, {"k": {"k": [None]}}, json.loads("[" * 60 + "]" * 60),
]  # fmt: skip
HOSTILE_TEXT = ["99999999999999999999999", "-99999999999999999999", "-1", "0", "1e308", "nan", "inf",
                "1.5", "true", "", "%00", "a%00b", "%ff%fe", "x" * 5000, "..", "%2e%2e%2f", "latest,1",
                "%1b[31m"]  # fmt: skip


# ------------------------------------------------------------------------------ tests
def test_no_route_answers_500_to_hostile_requests(daemon, home: Path, tmp_path: Path, corpus: Path):
    """A generated sweep (schemathesis-style, over the real routes): raw bodies, every field of
    every body, every query parameter and URL part set to hostile values."""
    job_id = daemon.submit(spec_of(corpus)).id
    ds = _imported(daemon, start_import(daemon, fx.text_corpus(tmp_path / "texts"), "texts"))
    missing = str(tmp_path / "no-such-thing")
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/specs/validate"): {"spec": spec_of(corpus), "base_dir": str(tmp_path)},
        ("POST", "/v1/jobs"): {"spec": {"name": "x"}},
        ("POST", "/v1/datasets/detect"): {"path": missing},
        ("POST", "/v1/datasets/imports"): {"path": missing, "name": "never"},
        ("POST", "/v1/datasets/texts/verify"): {"version": 1},
        ("POST", "/v1/datasets/texts/quality"): {"version": 1, "near_threshold": 4, "max_text_chars": 100},
        ("POST", "/v1/datasets/texts/rollback"): {"version": 1},
        ("POST", "/v1/datasets/texts/labels"): {"base_version": 1, "annotations": {}, "message": "m"},
        ("PUT", "/v1/datasets/texts/labels/draft"): {"base_version": 1, "annotations": {}},
        ("POST", "/v1/datasets/texts/labels/import"): {"path": missing, "format": "coco"},
        ("POST", "/v1/datasets/texts/labels/export"): {"format": "coco", "out": str(tmp_path / "exp")},
        ("POST", "/v1/graphs/check"): {"graph": {}},
        ("POST", "/v1/graphs/import"): {"target": "x", "input_shape": [1], "cwd": str(tmp_path)},
        ("POST", "/v1/mig/plan"): {"gpu": "0", "layout": []},
        ("POST", "/v1/mig/apply"): {"gpu": "0", "layout": [], "dry_run": True},
        ("POST", "/v1/mig/recommend"): {"gpu": "0"},
    }
    spec_fields = [
        "name", "experiment", "recipe", "method", "priority", "tags", "tags.k", "model.builtin", "model.path",
        "model.graph", "model.hub_id", "lora.r", "lora.alpha", "lora.target_modules", "dataset.path",
        "dataset.name", "dataset.version", "dataset.hash", "dataset.text_field", "dataset.eval_fraction",
        "train.max_steps", "train.seed", "train.lr", "train.weight_decay", "train.max_grad_norm",
        "train.warmup_steps", "train.eval_every", "resources.devices", "resources.memory_gb",
    ]  # fmt: skip
    raw_bodies = [DEEP, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"x": "\xff\xfe"}', b"{nope", b"[1, 2]",
                  b'"text"', b"1e999999", b'{"version": ' + b"9" * 5000 + b"}", b'{"version": NaN}', b"",
                  b'{"\\u0000": 1}', b'{"path": "\\ud800"}', b"\x00" * 4096]  # fmt: skip
    failures: list[str] = []

    def check(method: str, path: str, body: bytes | None, what: str) -> None:
        try:
            status, answer = raw(daemon, method, path, body)
        except (OSError, TimeoutError) as err:
            failures.append(f"{method} {path[:80]} {what}: no answer ({err})")
            return
        why = problem(status, answer)
        if why:
            failures.append(f"{method} {path[:80]} {what}: {why}")

    sent = 0
    for (method, path), base in bodies.items():
        for i, body in enumerate(raw_bodies):
            check(method, path, body, f"raw body #{i}")
        fields = [f"spec.{f}" for f in spec_fields] if path == "/v1/specs/validate" else list(base)
        for field in fields:
            for value in HOSTILE_VALUES:
                check(
                    method,
                    path,
                    json.dumps(_dotted_set(base, field, value)).encode(),
                    f"{field}={str(value)[:30]!r}",
                )
        sent += len(raw_bodies) + len(fields) * len(HOSTILE_VALUES)
    queries = {
        "/v1/jobs": ["state"],
        f"/v1/jobs/{job_id}/metrics": ["after_id", "attempt", "limit", "key"],
        f"/v1/jobs/{job_id}/logs": ["offset", "limit", "attempt"],
        "/v1/datasets/texts/versions/1": ["offset", "limit"],
        "/v1/datasets/texts/diff": ["a", "b"],
        "/v1/datasets/texts/labels": ["version"],
        "/v1/gpus/history": ["seconds"],
        "/v1/mig/profiles": ["gpu"],
    }
    for path, params in queries.items():
        for param in [*params, "surprise"]:
            for text in HOSTILE_TEXT:
                check("GET", f"{path}?{param}={text}", None, f"?{param}={text[:20]}")
        sent += (len(params) + 1) * len(HOSTILE_TEXT)
    for text in HOSTILE_TEXT:  # every URL part; none of these names anything that exists
        for method, template in [
            ("GET", "/v1/jobs/{}"), ("DELETE", "/v1/jobs/{}"), ("POST", "/v1/jobs/{}/pause"),
            ("POST", "/v1/jobs/{}/resume"), ("POST", "/v1/jobs/{}/cancel"), ("POST", "/v1/jobs/{}/restart"),
            ("GET", "/v1/jobs/{}/metrics"), ("GET", "/v1/jobs/{}/logs"), ("GET", "/v1/jobs/{}/suggestions"),
            ("GET", "/v1/datasets/{}"), ("GET", "/v1/datasets/{}/versions"), ("GET", "/v1/datasets/texts/versions/{}"),
            ("DELETE", "/v1/datasets/texts/versions/{}"), ("GET", "/v1/datasets/imports/{}"),
            ("GET", "/v1/datasets/{}/labels/draft"), ("GET", "/v1/nothing/{}"), ("PATCH", "/v1/jobs/{}"),
        ]:  # fmt: skip
            check(method, template.format(text), None, f"url part {text[:20]}")
            sent += 1
    status, answer = raw(daemon, "GET", "/v1/events?job_id=" + "x" * 200)
    if status != 400 or problem(status, answer):
        failures.append(f"GET /v1/events with a 200-character job id answered {status}: {answer}")
    for path in ("/v1/jobs", "/v1/datasets/detect", "/v1/datasets/texts/labels/draft"):
        method = "PUT" if path.endswith("draft") else "POST"
        status = declared_only(daemon, path, 1 << 30, method)  # a 1 GiB body, refused before it is read
        if status != 413:
            failures.append(f"{method} {path}: a declared 1 GiB body answered {status}, not 413")
    status, answer = raw(daemon, "POST", "/v1/jobs", b'{"a": "' + b"x" * ((4 << 20) + 1000) + b'"}')
    if status != 413 or problem(status, answer):
        failures.append(f"a 4 MiB + 1 KB body answered {status}: {answer}")
    assert not failures, f"{len(failures)} of {sent} hostile requests broke the rules:\n" + "\n".join(
        failures[:60]
    )
    assert ds.state is ImportState.COMPLETED and daemon.status().pid == daemon_pid(home)
    print(f"{sent} hostile requests; daemon peak RSS {peak_rss_mb(daemon_pid(home)):.0f} MiB")
    assert peak_rss_mb(daemon_pid(home)) < PEAK_MB


def test_invalid_specs_are_refused_with_the_field_named(daemon, corpus: Path):
    cases = {
        "train.seed": 10**30,
        "train.weight_decay": float("inf"),
        "train.max_grad_norm": float("nan"),
        "resources.memory_gb": float("inf"),
        "lora.alpha": float("inf"),
        "train.lr": float("-inf"),
        "train.max_steps": "5",
        "train.batch_size": True,
        "experiment": "runs\x00of\x1bday",
        "tags": {f"t{i}": "v" for i in range(50_000)},
        "tags.note": "line\nbreak",
        "dataset.text_field": "te\x00xt",
        "dataset.path": "/tmp/a\x07b.txt",
    }
    for dotted, value in cases.items():
        with pytest.raises(ApiError) as info:
            daemon.validate(spec_of(corpus, **{dotted: value}))
        err = info.value
        assert err.status == 400, (dotted, err)
        fields = [p["field"] for p in err.problems]
        want = dotted.split(".")[0] if dotted.startswith("tags") else dotted
        assert any(f == want or f.startswith(want) or f.endswith(want) for f in fields), (
            dotted,
            err.problems,
        )
        assert problem(err.status, {"error": err.message, "problems": err.problems}) is None
    assert daemon.jobs() == []


def test_a_forged_dataset_hash_is_refused_and_the_path_is_the_daemons(daemon, tmp_path: Path, corpus: Path):
    _imported(daemon, start_import(daemon, fx.text_corpus(tmp_path / "texts"), "texts"))
    real = daemon.dataset_versions("texts")[0].manifest_hash
    forged = {"name": "texts", "version": 1, "hash": "0" * 64, "path": "/etc/passwd"}
    with pytest.raises(ApiError) as info:
        daemon.validate(spec_of(corpus, dataset=forged))
    assert info.value.status == 400 and info.value.problems[0]["field"] == "dataset.hash", info.value
    # the right hash with another path: the path is made again from the store
    out = daemon.validate(spec_of(corpus, dataset={**forged, "hash": real})).spec["dataset"]
    assert out["hash"] == real and out["path"] != "/etc/passwd"
    assert Path(out["path"]).is_relative_to(daemon.data.root)


def test_special_files_are_refused_while_the_loop_keeps_answering(
    daemon, home: Path, tmp_path: Path, corpus: Path
):
    fifo_graph = tmp_path / "graph.json"
    os.mkfifo(fifo_graph)
    fifo_text = tmp_path / "pipe.txt"
    os.mkfifo(fifo_text)
    fifo_csv = tmp_path / "pipe.csv"
    os.mkfifo(fifo_csv)
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "status.txt").symlink_to("/proc/self/status")
    sparse = tmp_path / "sparse.json"
    with sparse.open("wb") as fh:
        fh.truncate(2 << 30)  # 2 GiB, no blocks
    model = tmp_path / "model"
    model.mkdir()
    os.mkfifo(model / "config.json")
    fifo_dir = tmp_path / "fifo-dir"
    os.mkfifo(fifo_dir)
    graph = {"recipe": "graph", "model": {"graph": str(fifo_graph)}, "method": "full"}
    cases = [
        ({**spec_of(tmp_path / "data.csv"), **graph}, "model.graph"),
        ({**spec_of(tmp_path / "data.csv"), **graph, "model": {"graph": "/dev/zero"}}, "model.graph"),
        (
            {**spec_of(tmp_path / "data.csv"), **graph, "model": {"graph": str(tmp_path / "zero.json")}},
            "model.graph",
        ),
        ({**spec_of(tmp_path / "data.csv"), **graph, "model": {"graph": str(sparse)}}, "model.graph"),
        (spec_of(tmp_path / "zero.txt"), "dataset.path"),
        (spec_of(fifo_text), "dataset.path"),
        (spec_of(tmp_path / "status.txt"), "dataset.path"),
        (spec_of(corpus, model={"path": str(model)}, method="full"), "model.path"),
    ]
    with StatusWatch(daemon) as watch:
        for spec, field in cases:
            for call in (daemon.validate, daemon.submit):
                with pytest.raises(ApiError) as info:
                    call(spec)
                assert info.value.status == 400, (spec, info.value)
                assert [p["field"] for p in info.value.problems] == [field], (spec, info.value.problems)
        with pytest.raises(ApiError) as info:  # a FIFO as the folder relative paths start from
            daemon.request(
                "POST", "/v1/specs/validate", {"spec": spec_of(Path("c.txt")), "base_dir": str(fifo_dir)}
            )
        assert info.value.status == 400 and "FIFO" in info.value.message, info.value
        body = json.dumps({"path": str(fifo_text), "format": "coco"}).encode()
        status, answer = raw(daemon, "POST", "/v1/datasets/never/labels/import", body, timeout=30)
        assert status == 400 and "FIFO" in answer["error"], (status, answer)
        for source, words in ((fifo_text, "FIFO"), (Path("/dev/zero"), "character device")):
            for route, extra in (("detect", {}), ("imports", {"name": "never"})):
                body = json.dumps({"path": str(source), **extra}).encode()
                status, answer = raw(daemon, "POST", f"/v1/datasets/{route}", body, timeout=30)
                assert status == 400 and words in answer["error"], (route, status, answer)
    print(f"slowest /v1/status meanwhile: {watch.slowest:.3f} s of {len(watch.times)}")
    assert not watch.errors and watch.slowest < STATUS_S, (watch.slowest, watch.errors[:3])
    assert daemon.jobs() == []
    assert peak_rss_mb(daemon_pid(home)) < PEAK_MB


def test_a_big_labels_draft_is_parsed_off_the_loop(daemon, home: Path, tmp_path: Path):
    _imported(daemon, start_import(daemon, fx.image_folder(tmp_path / "pics"), "pics"))
    shape = {"kind": "polygon", "label": "cat", "points": [[i, i + 0.5] for i in range(40)]}
    annotations = {f"img/{i:06d}.png": {"w": 64, "h": 64, "status": "done", "tags": ["cat"], "shapes": [shape]}
                   for i in range(24_000)}  # fmt: skip
    body = json.dumps({"base_version": 1, "annotations": annotations}).encode()
    assert 12 << 20 < len(body) < 32 << 20  # a large draft, under the documented limit
    with StatusWatch(daemon) as watch:
        status, answer = raw(daemon, "PUT", "/v1/datasets/pics/labels/draft", body, timeout=300)
        assert status == 200 and answer["draft"]["bytes"] > 10 << 20, answer
        big = b'{"base_version": 1, "annotations": {"a": "' + b"x" * (33 << 20) + b'"}}'
        status, answer = raw(daemon, "PUT", "/v1/datasets/pics/labels/draft", big, timeout=300)
        assert status == 413 and "32 MiB" in answer["error"], (status, answer)
    print(f"slowest /v1/status meanwhile: {watch.slowest:.3f} s of {len(watch.times)}")
    assert not watch.errors and watch.slowest < STATUS_S, (watch.slowest, watch.errors[:3])
    assert daemon.labels_draft("pics").annotations.keys() == annotations.keys()
    print(f"daemon peak RSS {peak_rss_mb(daemon_pid(home)):.0f} MiB")
    assert peak_rss_mb(daemon_pid(home)) < PEAK_MB


def test_export_targets_are_checked_and_written_whole(daemon, home: Path, tmp_path: Path):
    _imported(daemon, start_import(daemon, fx.image_folder(tmp_path / "pics"), "pics"))
    blobs = home / "datasets" / "blobs"
    before = sorted(p.name for p in blobs.rglob("*"))
    out = cli("labels", "export", "pics", "--format", "coco", "--out", str(blobs / "x"))
    assert out.returncode == 2 and "inside SparkTrainer's data dir" in out.stderr, out.stderr
    assert sorted(p.name for p in blobs.rglob("*")) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own file")
    out = cli("labels", "export", "pics", "--format", "coco", "--out", str(mine))
    assert out.returncode == 2 and "not empty" in out.stderr, out.stderr
    out = cli("labels", "export", "pics", "--format", "coco", "--out", str(mine), "--force")
    assert out.returncode == 2 and "not an earlier SparkTrainer export" in out.stderr, out.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    target = tmp_path / "exports" / "pics"
    cli("labels", "export", "pics", "--format", "coco", "--out", str(target), check=True)
    out = cli("labels", "export", "pics", "--format", "yolo", "--out", str(target))
    assert out.returncode == 2 and "--force" in out.stderr
    cli("labels", "export", "pics", "--format", "yolo", "--out", str(target), "--force", check=True)
    assert (target / "data.yaml").is_file() and not (target / "annotations.json").exists()
    assert str(target) in (target / "data.yaml").read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["pics"]  # no temporary folders left


def test_messages_hold_no_nul_reprs_or_tracebacks(daemon, tmp_path: Path):
    pics = tmp_path / "pics"
    fx.png(pics / os.fsdecode(b"caf\xe9") / "a.png", 1)  # a class folder whose name is not UTF-8
    spec = {
        **spec_of(pics),
        "recipe": "image-classification",
        "model": {"builtin": "small-cnn"},
        "method": "full",
    }
    status, answer = raw(daemon, "POST", "/v1/specs/validate", json.dumps({"spec": spec}).encode())
    assert status == 400 and "caf\ufffd" in answer["problems"][0]["message"], (status, answer)
    assert problem(status, answer) is None
    for path in ("/tmp/" + "\x00" * 4096, "/tmp/" + "é" * 100_000, "/tmp/\x1b[31mred"):
        status, answer = raw(daemon, "POST", "/v1/datasets/detect", json.dumps({"path": path}).encode())
        assert 400 <= status < 500 and problem(status, answer) is None, (status, str(answer)[:300])
    # (a request line over aiohttp's 8190 bytes is refused by its HTTP parser, before any route)
    status, answer = raw(daemon, "GET", "/v1/jobs/" + quote("\x00" * 2000, safe=""))
    assert 400 <= status < 500 and problem(status, answer) is None, (status, str(answer)[:300])


@pytest.fixture
def full_disk_home(tmpfs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A data dir on a small tmpfs (needs root), with a daemon; yields (client, fill, free)."""
    home = tmpfs(tmp_path / "small", "48m")
    monkeypatch.setenv("SPARKTRAINER_HOME", str(home))
    try:
        from trainer_runtime.client.client import start_daemon
        from trainer_runtime.paths import DataDir

        data = DataDir.default().ensure()
        start_daemon(data)
        filler = home / "filler"
        yield Client(data), lambda: fill(home), lambda: filler.unlink()
    finally:
        stop_everything(home)


def test_a_full_disk_answers_507_with_a_sentence(full_disk_home, corpus: Path):
    client, fill, free = full_disk_home
    client.submit(spec_of(corpus, train={"max_steps": 1}))  # the database has its tables and pages
    fill()
    answers = []
    for i in range(40):  # SQLite reuses free pages and WAL space first; it must fail on some write
        try:
            client.submit(spec_of(corpus, name=f"full-{i}", tags={"pad": "x" * 1000}))
            answers.append(201)
        except ApiError as err:
            answers.append(err.status)
            if err.status == 507:
                assert "is full" in err.message and "free space" in err.message, err.message
                break
            raise
    assert answers[-1] == 507, answers
    free()
    job = client.submit(spec_of(corpus, name="after"))
    assert job.state in ("QUEUED", "RUNNING")
