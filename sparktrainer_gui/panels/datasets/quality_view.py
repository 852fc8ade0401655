"""Verify and the quality report of one dataset version, with quality gates that make a
new, cleaned version. Runs on the daemon (off the main thread here) with a busy bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)  # fmt: skip

from sparktrainer_gui.ops import op
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.datasets import GatesView, QualityReport, VerifyView

SECTIONS = (  # the report's finding lists (QualityReport fields) and their titles
    ("undecodable", "Undecodable images"),
    ("exact_duplicates", "Exact duplicates"),
    ("near_duplicates", "Near-duplicate images"),
    ("empty_rows", "Empty rows"),
    ("overlong_rows", "Overlong rows"),
    ("schema_errors", "Label-schema errors"),
)
GATES = (
    ("dedupe", "Drop duplicates"),
    ("dedupe-near", "Drop near-duplicates"),
    ("drop-corrupt", "Drop corrupt"),
)


def describe(finding: Any) -> tuple[str, str]:
    """(where, what) of one finding of any section (a group of paths, or a finding view)."""
    if isinstance(finding, list):
        return finding[0], f"same as {', '.join(finding[1:4])}" + (" …" if len(finding) > 4 else "")
    line = getattr(finding, "line", None)
    where = finding.path + (f":{line}" if line is not None else "")
    chars = getattr(finding, "chars", None)
    what = getattr(finding, "error", None) or getattr(finding, "message", None) or (
        f"{chars:,} characters" if chars is not None else "")  # fmt: skip
    return where, what


class QualityView(QWidget):
    message_posted = Signal(str)
    version_created = Signal(int)

    def __init__(self, conn: RuntimeConnection, parent: QWidget | None = None):
        super().__init__(parent)
        self.conn = conn
        self.name: str | None = None
        self.version: int | str = "latest"
        self.report: QualityReport | None = None
        self.verify_button = QPushButton("Verify", self)
        self.verify_button.setToolTip("Re-hash every stored file against the manifest")
        self.quality_button = QPushButton("Quality report", self)
        self.verify_button.clicked.connect(self.verify)
        self.quality_button.clicked.connect(self.run_report)
        self.gate_buttons: dict[str, QPushButton] = {}
        self.status = QLabel(
            "Verify re-hashes the files; the report looks for bad and duplicate items.", self
        )
        self.status.setObjectName("qualityStatus")
        self.status.setWordWrap(True)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("qualityTree")
        self.tree.setHeaderLabels(["Finding", "Detail"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(self.verify_button)
        top.addWidget(self.quality_button)
        top.addStretch(1)
        gates = QHBoxLayout()
        for gate, text in GATES:
            b = QPushButton(text, self)
            b.setToolTip(f"Make a new version without them (quality gate '{gate}'); this version stays")
            b.clicked.connect(lambda _c=False, g=gate: self.apply_gates([g]))
            self.gate_buttons[gate] = b
            gates.addWidget(b)
        gates.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.busy)
        lay.addWidget(self.tree, 1)
        lay.addLayout(gates)
        self._set_busy(False)

    def show_dataset(self, name: str | None, version: int | str = "latest") -> None:
        self.name, self.version, self.report = name, version, None
        self.tree.clear()
        self._set_busy(False)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy.setVisible(busy)
        if text:
            self.status.setText(text)
        for b in (self.verify_button, self.quality_button):
            b.setEnabled(not busy and self.name is not None)
        found = self.report.summary if self.report else None
        wanted = {"dedupe": found.exact_duplicates, "dedupe-near": found.near_duplicates,
                  "drop-corrupt": found.undecodable} if found else {}  # fmt: skip
        for gate, b in self.gate_buttons.items():
            b.setEnabled(not busy and bool(wanted.get(gate)))

    def _call(self, fn: Any, *args: Any, done: Any, text: str, **kw: Any) -> None:
        if self.name is None:
            return
        name = self.name
        self._set_busy(True, text)

        def ok(result: Any) -> None:
            if name == self.name:
                done(result)

        def failed(err: Exception) -> None:
            self._set_busy(False, str(err))
            self.message_posted.emit(str(err))

        op(self.conn, self, lambda: fn(name, self.version, *args, **kw), what=text.rstrip("…").lower()) \
            .success(ok).failure(failed).run()  # fmt: skip

    @Slot()
    def verify(self) -> None:
        self._call(self.conn.client.dataset_verify, done=self._on_verified, text="Verifying every file…")

    def _on_verified(self, out: VerifyView) -> None:
        bad = len(out.missing) + len(out.corrupt)
        self.tree.clear()
        for key, paths in (("missing", out.missing), ("corrupt", out.corrupt)):
            if paths:
                top = QTreeWidgetItem(self.tree, [f"{key.title()} ({len(paths):,})"])
                for p in paths[:500]:
                    QTreeWidgetItem(top, [p, key])
                top.setExpanded(True)
        self._set_busy(False, f"Verified version {out.version}: all {out.checked:,} files match the manifest."
                       if not bad else f"Version {out.version}: {bad:,} of {out.checked:,} files are "
                       "missing or corrupt; roll back or re-import them.")  # fmt: skip

    @Slot()
    def run_report(self) -> None:
        self._call(
            self.conn.client.dataset_quality, done=self._on_report, text="Building the quality report…"
        )

    def _on_report(self, rep: QualityReport) -> None:
        self.report = rep
        self.tree.clear()
        summary = rep.summary
        for key, title in SECTIONS:
            rows = getattr(rep, key)  # SECTIONS names QualityReport's finding lists
            top = QTreeWidgetItem(self.tree, [f"{title} ({getattr(summary, key):,})"])
            for finding in rows:
                QTreeWidgetItem(top, list(describe(finding)))
            top.setExpanded(0 < len(rows) <= 20)
        classes = rep.class_counts
        if classes:
            ratio = rep.imbalance_ratio
            top = QTreeWidgetItem(self.tree, [f"Classes ({len(classes)})",
                                              f"imbalance {ratio:.1f}×" if ratio else ""])  # fmt: skip
            for cls, n in sorted(classes.items(), key=lambda kv: -kv[1]):
                QTreeWidgetItem(top, [cls, f"{n:,}"])
        issues = sum(getattr(summary, k) for k, _ in SECTIONS)
        self._set_busy(False, f"Version {rep.version}: {issues:,} finding(s)." if issues
                       else f"Version {rep.version}: no problems found.")  # fmt: skip

    def apply_gates(self, gates: list[str]) -> None:
        self._call(lambda n, v: self.conn.client.dataset_gates(n, gates, v),
                   done=self._on_gated, text=f"Applying {', '.join(gates)}…")  # fmt: skip

    def _on_gated(self, out: GatesView) -> None:
        self.report = None
        if out.version is None:
            self._set_busy(False, out.message)
            return
        sentence = f"Made version {out.version} without {len(out.dropped):,} file(s)."
        self._set_busy(False, sentence)
        self.message_posted.emit(sentence)
        self.version_created.emit(out.version)
