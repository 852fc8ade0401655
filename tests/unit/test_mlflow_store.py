"""The app's own MLflow tracking store against kills during its creation, half-made and older
store files, and a user's store, which is reported but never changed. Real MLflow, real SQLite
files, real processes killed with SIGKILL."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.mlflow_helpers import alembic_store, mlflow_revisions, revision, wait_for_migration, wait_gone
from tests.mlflow_helpers import killed_store as make_killed_store
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store
from trainer_runtime.tracking import MirrorUnavailable, MlflowMirror
from trainer_runtime.tracking.sync import MirrorThread


@pytest.fixture(scope="module")
def complete_store(tmp_path_factory) -> Path:
    """A store MLflow made itself, to copy from (making one costs seconds of migrations)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments(max_results=1)
    return path


def copy_store(src: Path, dst: Path, *, runs: int = 0) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    with sqlite3.connect(dst) as db:
        if runs:
            db.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
                "creation_time, last_update_time) VALUES (7, 'old work', '/nowhere', 'active', 0, 0)"
            )
        for n in range(runs):
            db.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, "
                "status, start_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                f"VALUES ('run{n:028d}', 'r{n}', 'LOCAL', '', '', 'me', 'FINISHED', 0, '', 'active', '/nowhere', 7)"
            )
    db.close()
    return dst


@pytest.fixture(scope="module")
def killed_store(tmp_path_factory) -> Path:
    return make_killed_store(tmp_path_factory.mktemp("killed") / "mlflow.db")


def half_made(src: Path, dst: Path, *, runs: int = 0) -> Path:
    return copy_store(src, dst, runs=runs)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_store_mirror(home: Path) -> MirrorThread:
    """The mirror exactly as the daemon builds it on a data dir with the default tracking store."""
    data = DataDir(home).ensure()
    store = Store(f"sqlite:///{home / 'test-jobs.db'}")
    return MirrorThread(store, data, data.default_tracking_uri, interval_s=0.05)


def test_the_half_made_state_is_what_breaks_mlflow(killed_store: Path, tmp_path: Path):
    """The reproduction: MLflow cannot open such a store, now or ever ("already exists")."""
    from mlflow.tracking import MlflowClient

    broken = half_made(killed_store, tmp_path / "mlflow.db")
    for _ in range(2):
        with pytest.raises(Exception, match="already exists"):
            MlflowClient(f"sqlite:///{broken}").search_experiments(max_results=1)


# The child opens the default store the way the daemon's mirror thread does.
OPEN_DEFAULT_STORE = """
import sys
from pathlib import Path
from trainer_runtime.paths import DataDir
from trainer_runtime.store.store import Store
from trainer_runtime.tracking.sync import MirrorThread
home = Path(sys.argv[1])
data = DataDir(home).ensure()
MirrorThread(Store(f"sqlite:///{home / 'test-jobs.db'}"), data, data.default_tracking_uri).mirror.warm_up()
"""


def test_kills_while_the_default_store_is_first_made_never_leave_it_half_made(tmp_path: Path):
    """A process opening the default store is killed (SIGKILL) at seeded points of MLflow's
    first migrations, three times; after each kill there is no store or a complete one, and
    the store-making child is gone too. The fourth start opens the store."""
    seed = int(os.environ.get("SPARKTRAINER_FAULT_SEED", random.randrange(1 << 30)))
    print(f"fault seed {seed} (set SPARKTRAINER_FAULT_SEED to repeat)")
    rnd = random.Random(seed)
    revs = mlflow_revisions()
    home = tmp_path / "home"
    folder = home / "mlflow"
    for round_no in range(3):
        target = rnd.randrange(len(revs))
        proc = subprocess.Popen(
            [sys.executable, "-c", OPEN_DEFAULT_STORE, str(home)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        seen, helpers = wait_for_migration(proc.pid, folder, revs, target)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        print(f"round {round_no}: kill at migration {seen}/{len(revs)} (aimed at {target})")
        wait_gone(helpers)
        db = folder / "mlflow.db"
        if db.exists():  # the kill came after the store was in place: it must be complete
            assert revision(db) == revs[-1], f"round {round_no}: a half-made store is in place"
    mirror = default_store_mirror(home)
    mirror.mirror.warm_up()
    assert revision(folder / "mlflow.db") == revs[-1]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith((".mlflow", "mlflow.db"))) == [
        "mlflow.db"
    ]
    run_id = mirror.mirror.ensure_run(
        experiment="e", run_name="r", job_id="j1", attempt=1, params={"lr": 0.1}, tags={}
    )
    assert run_id


def test_a_half_made_default_store_that_holds_nothing_is_moved_aside_and_made_afresh(
    killed_store: Path, tmp_path: Path
):
    home = tmp_path / "home"
    broken = half_made(killed_store, home / "mlflow" / "mlflow.db")
    before = sha(broken)
    mirror = default_store_mirror(home)
    mirror.mirror.warm_up()
    aside = list((home / "mlflow").glob("mlflow.db.broken-*"))
    assert len(aside) == 1 and sha(aside[0]) == before  # kept as it was, never deleted
    assert revision(home / "mlflow" / "mlflow.db") == mlflow_revisions()[-1]
    assert mirror.mirror.ensure_run(experiment="e", run_name="r", job_id="j1", attempt=1, params={}, tags={})


def test_a_half_made_default_store_with_runs_is_reported_and_left_as_it_is(
    killed_store: Path, tmp_path: Path
):
    from trainer_runtime.tracking import ErrorKind

    home = tmp_path / "home"
    broken = half_made(killed_store, home / "mlflow" / "mlflow.db", runs=2)
    before = sha(broken)
    mirror = default_store_mirror(home)
    with pytest.raises(MirrorUnavailable) as err:
        mirror.mirror.warm_up()
    assert err.value.kind is ErrorKind.BROKEN
    message = str(err.value)
    assert "is half-made" in message and "holds 2 runs, 1 experiment" in message
    assert "already exists" in message and "restart the daemon" in message
    assert "\n" not in message and "Traceback" not in message
    assert sha(broken) == before
    assert sorted(p.name for p in (home / "mlflow").iterdir()) == ["mlflow.db"]  # no copy left behind


def test_an_older_default_store_with_runs_is_upgraded_in_a_copy(tmp_path: Path):
    """A store an older MLflow made (schema one migration behind) with runs in it: upgraded in a
    copy that then replaces it; the old file stays as a backup, the runs are all there."""
    from mlflow.tracking import MlflowClient

    home = tmp_path / "home"
    db = home / "mlflow" / "mlflow.db"
    older = mlflow_revisions()[-2]
    alembic_store(db, older)
    copy_store(db, db.with_name("filled.db"), runs=3).replace(db)
    assert revision(db) == older
    before = sha(db)

    mirror = default_store_mirror(home)
    mirror.mirror.warm_up()
    assert revision(db) == mlflow_revisions()[-1]
    backups = list(db.parent.glob("mlflow.db.before-upgrade-*"))
    assert len(backups) == 1 and sha(backups[0]) == before
    runs = MlflowClient(f"sqlite:///{db}").search_runs(["7"])
    assert sorted(r.info.run_name for r in runs) == ["r0", "r1", "r2"]
    assert not list(db.parent.glob(".mlflow.db.creating-*"))


def test_a_users_broken_store_is_reported_and_never_moved(killed_store: Path, tmp_path: Path):
    from trainer_runtime.tracking import ErrorKind

    broken = half_made(killed_store, tmp_path / "mine" / "tracking.db")
    before = sha(broken)
    mirror = MlflowMirror(f"sqlite:///{broken}", artifact_location=str(tmp_path / "artifacts"))
    for _ in range(2):
        with pytest.raises(MirrorUnavailable) as err:
            mirror.warm_up()
        assert err.value.kind is ErrorKind.BROKEN and not err.value.retryable
        assert "is broken (table" in str(err.value) and "already exists" in str(err.value)
        assert "restart the daemon" in str(err.value)
    assert sha(broken) == before
    assert sorted(p.name for p in broken.parent.iterdir()) == ["tracking.db"]


def test_unreadable_and_newer_default_stores_are_reported_and_kept(complete_store: Path, tmp_path: Path):
    from trainer_runtime.tracking import ErrorKind

    home = tmp_path / "home"
    db = home / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database, but maybe someone's bytes" * 100)
    with pytest.raises(MirrorUnavailable, match="is not a readable SQLite database") as err:
        default_store_mirror(home).mirror.warm_up()
    assert err.value.kind is ErrorKind.BROKEN
    assert db.read_bytes().startswith(b"not a database")

    copy_store(complete_store, db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    con.close()
    with pytest.raises(MirrorUnavailable, match="was made by a newer MLflow") as err:
        default_store_mirror(home).mirror.warm_up()
    assert err.value.kind is ErrorKind.BROKEN and revision(db) == "f00dfeedbeef"
