"""GUI start-up benchmark: process start -> main window first painted, our app vs a bare
PySide6 QMainWindow.

    .venv/bin/python bench/gui_startup.py [--runs 11] [--target 2.0] [--check]

Each measurement is a fresh subprocess, ours and bare interleaved (A B A B ...); the first
pair is a warm-up and is dropped; the medians and their ratio are printed (target: ours at
most 2x bare). "Ours" runs the real ``sparktrainer_gui.app.main`` (theme, qasync loop,
MainWindow, RuntimeConnection) on a throwaway data dir: the runtime connection and the
daemon start in the background, so they must not delay the first paint. The child also
reports whether ``torch`` got imported (it must not be: the GUI never imports it).
``--check`` exits 1 when the ratio misses the target; torch in the GUI always fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(kind: str, t0: float) -> None:
    """Runs in the subprocess: show the window, print the time of its first paint, quit."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication([sys.argv[0]])

    class FirstPaint(QObject):
        done = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if not self.done and event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
                self.done = True
                ms = (time.time() - t0) * 1000
                QTimer.singleShot(0, lambda: _report(ms))
            return False

    def _report(ms: float) -> None:
        print(
            json.dumps(
                {"ms": ms, "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}
            )
        )
        sys.stdout.flush()
        app.quit()

    spy = FirstPaint()
    app.installEventFilter(spy)
    if kind == "bare":
        window = QMainWindow()
        window.setCentralWidget(QLabel("bare PySide6 window"))
        window.resize(1280, 800)
        window.show()
        app.exec()
    else:
        from sparktrainer_gui.app import main

        main([])  # uses the QApplication made above; returns when app.quit() runs


def _run(kind: str, env: dict[str, str]) -> dict:
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--t0", repr(t0)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _stop_daemon(home: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from trainer_runtime.client.client import Client
    from trainer_runtime.paths import DataDir

    client = Client(DataDir(home), timeout=5)
    if client.ping():  # the app started it in the background
        client.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=11, help="pairs, the first of which is a warm-up")
    ap.add_argument("--target", type=float, default=2.0)
    ap.add_argument("--check", action="store_true", help="exit 1 when the ratio misses the target")
    ap.add_argument("--child", choices=("ours", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.t0)
        return 0

    with tempfile.TemporaryDirectory(prefix="sparktrainer-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {
            **os.environ,
            "SPARKTRAINER_HOME": str(home),
            "SPARKTRAINER_KEYRING_SERVICE": f"sparktrainer-bench-{os.getpid()}",
            "XDG_CONFIG_HOME": str(Path(tmp) / "config"),  # QSettings of the runs stay here
        }
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = env.get("QT_QPA_PLATFORM", "offscreen")
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        torch_seen = False
        try:
            for i in range(args.runs):
                pair = {kind: _run(kind, env) for kind in ("ours", "bare")}
                torch_seen |= pair["ours"]["torch"] or pair["ours"]["transformers"]
                for kind, result in pair.items():
                    if i > 0:
                        times[kind].append(result["ms"])
                note = " (warm-up, dropped)" if i == 0 else ""
                print(f"pair {i + 1:2d}/{args.runs}: ours {pair['ours']['ms']:6.0f} ms, "
                      f"bare {pair['bare']['ms']:6.0f} ms{note}", file=sys.stderr)  # fmt: skip
        finally:
            _stop_daemon(home)
    ours, bare = statistics.median(times["ours"]), statistics.median(times["bare"])
    ratio = ours / bare
    platform = env.get("QT_QPA_PLATFORM") or f"xcb on {env.get('DISPLAY')}"
    print(f"platform: {platform}; {len(times['ours'])} measured pairs after 1 warm-up pair")
    print("ours ms: " + " ".join(f"{t:.0f}" for t in times["ours"]))
    print("bare ms: " + " ".join(f"{t:.0f}" for t in times["bare"]))
    print(
        f"median to first paint: ours {ours:.0f} ms, bare PySide6 {bare:.0f} ms, ratio {ratio:.2f} (target <= {args.target})"
    )
    print(f"torch imported by the GUI: {'YES (bug)' if torch_seen else 'no'}")
    if torch_seen:
        return 1
    return 1 if args.check and ratio > args.target else 0


if __name__ == "__main__":
    raise SystemExit(main())
