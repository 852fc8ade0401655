"""The MIG planner: lay out a GPU's MIG instances, check the layout with the daemon (which
answers with the reasons it does not fit, or the exact operations a dry run would perform),
and apply it after a confirmation. Every daemon call runs off the main thread; replies to a
request that has been superseded (another GPU, an edited layout) are dropped, and so are
replies that arrive after the dialog closed (``ops.op``)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sparktrainer_gui import theme
from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.gpus.geometry import Profile, diff, first_free_start
from sparktrainer_gui.panels.gpus.geometry import Slot as Entry
from sparktrainer_gui.panels.gpus.strip import BAD_COLOR, OK_COLOR, MigStrip
from sparktrainer_gui.panels.gpus.texts import apply_error_text, gpu_title, layout_text, sentence
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.gpus import GpuView, MigApplied, MigPlan, MigProfiles, MigRecommendation
from trainer_runtime.client.client import ApiError

log = logging.getLogger(__name__)
PRESET_PROMPT = "Presets…"
STYLE = """
QToolButton#migProfile { border: 1px solid %(border)s; border-radius: 5px; padding: 3px 9px; }
QToolButton#migProfile:hover { border-color: %(accent)s; }
QToolButton#migProfile:checked { background: %(highlight)s; border-color: %(accent)s; font-weight: 600; }
"""


W = TypeVar("W", bound=QWidget)


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget


class MigPlannerDialog(QDialog):
    applied = Signal(str)  # the GPU's UUID, after a successful apply
    checked = Signal(object)  # the daemon's answer to a Check (a MigPlan)

    def __init__(
        self, conn: RuntimeConnection, gpus: list[GpuView], gpu_uuid: str | None = None,
        parent: QWidget | None = None,
    ):  # fmt: skip
        super().__init__(parent)
        self.setObjectName("migPlanner")
        self.setWindowTitle("MIG planner")
        self.conn = conn
        self.gpus = {g.uuid: g for g in gpus}
        self.gpu: GpuView | None = None
        self.profiles: dict[str, Profile] = {}
        self.presets: dict[str, list[str]] = {}
        self.entries: list[Entry] = []
        self.last_plan: MigPlan | None = None
        self._checked_layout: list[Entry] | None = None  # the layout the last valid Check was for
        self._seq = 0
        self._build()
        for g in gpus:
            self.gpu_combo.addItem(gpu_title(g), g.uuid)
        start = self.gpu_combo.findData(gpu_uuid) if gpu_uuid else 0
        self.gpu_combo.setCurrentIndex(max(0, start))
        self.gpu_combo.currentIndexChanged.connect(self._on_gpu_combo_current_index_changed)
        self.select_gpu(self.gpu_combo.currentData())
        self.resize(820, 560)

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self.gpu_combo = _named(QComboBox(self), "migGpu")
        self.preset_combo = _named(QComboBox(self), "migPresets")
        self.preset_combo.activated.connect(self._on_preset_combo_activated)
        self.setStyleSheet(STYLE % theme.colors())
        self.recommend_button = _named(QPushButton("Recommend", self), "migRecommend")
        self.recommend_button.setToolTip("Ask the daemon for a layout that packs the queued jobs by memory")
        self.recommend_button.clicked.connect(self.recommend)
        self.current_button = QPushButton("Current layout", self)
        self.current_button.clicked.connect(lambda: self.set_entries(self._current_entries()))
        self.clear_button = QPushButton("Whole GPU", self)
        self.clear_button.setToolTip("No MIG instances: MIG mode off, the GPU as one device")
        self.clear_button.clicked.connect(lambda: self.set_entries([]))
        top = QHBoxLayout()
        for w in (self.gpu_combo, self.preset_combo, self.recommend_button, self.current_button):
            top.addWidget(w)
        top.addWidget(self.clear_button)
        top.addStretch(1)

        self.profile_row = QHBoxLayout()
        self.profile_group = QButtonGroup(self)
        self.profile_group.setExclusive(True)
        self.profile_group.buttonToggled.connect(self._on_profile_group_button_toggled)
        self.add_button = _named(QPushButton("Add", self), "migAdd")
        self.add_button.setToolTip("Add the chosen profile at its first free place (or let Check place it)")
        self.add_button.clicked.connect(self.add_selected)
        palette = QHBoxLayout()
        palette.addWidget(QLabel("Profile:", self))
        palette.addLayout(self.profile_row)
        palette.addStretch(1)
        palette.addWidget(self.add_button)

        self.caption = _named(QLabel(self), "migCaption")
        self.caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.strip = MigStrip(self)
        self.strip.layout_edited.connect(self._on_strip_layout_edited)
        self.strip.hint_changed.connect(self._on_strip_hint_changed)
        self.hint = _named(QLabel("Choose a profile, then click the strip.", self), "migHint")
        self.hint.setWordWrap(True)
        self.unplaced = _named(QLabel(self), "migUnplaced")
        self.unplaced.setWordWrap(True)
        self.diff_label = _named(QLabel(self), "migDiff")
        self.diff_label.setWordWrap(True)
        self.diff_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_view = _named(QTextBrowser(self), "migResult")
        self.result_view.setPlaceholderText(
            "Check asks the daemon whether the layout fits and what a dry run would do."
        )

        self.check_button = _named(QPushButton("Check", self), "migCheck")
        self.check_button.clicked.connect(self.check)
        self.apply_button = _named(QPushButton("Apply…", self), "migApply")
        self.apply_button.setToolTip("Check a valid layout first")
        self.apply_button.clicked.connect(lambda: self.apply())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ActionRole)

        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
        self.check_button.setDefault(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(palette)
        lay.addWidget(self.caption)
        lay.addWidget(self.strip)
        lay.addWidget(self.hint)
        lay.addWidget(self.unplaced)
        lay.addWidget(self.diff_label)
        lay.addWidget(self.result_view, 1)
        lay.addWidget(buttons)

    # ------------------------------------------------------------------ state
    def _current_entries(self) -> list[Entry]:
        devices = sorted(self.gpu.mig_devices, key=lambda m: m.start) if self.gpu else []
        return [Entry(m.profile, m.start) for m in devices]

    @property
    def gpu_uuid(self) -> str:
        return self.gpu.uuid if self.gpu else ""

    def _run(self, fn: Callable[..., Any], *args: Any, what: str) -> Any:
        """``fn(*args)`` off the main thread for this dialog: the answer is dropped when the
        dialog closed meanwhile or a newer request superseded it (``self._seq``)."""
        self._seq += 1
        return op(self.conn, self, fn, *args, what=what) \
            .failure(partial(self._on_call_failed, self._seq, what))  # fmt: skip

    def update_gpus(self, gpus: list[GpuView]) -> None:
        """A newer snapshot: the current layout (and the diff against it) follows the GPU."""
        self.gpus = {g.uuid: g for g in gpus}
        fresh = self.gpus.get(self.gpu_uuid)
        if fresh is None:
            return
        before = self._current_entries()
        self.gpu = fresh
        if self._current_entries() != before:
            index = self.gpu_combo.findData(fresh.uuid)
            if index >= 0:
                self.gpu_combo.setItemText(index, gpu_title(fresh))
            self._refresh()

    def select_gpu(self, uuid: str) -> None:
        self.gpu = self.gpus.get(uuid)
        self.profiles, self.presets = {}, {}
        self.strip.configure({}, 0)
        self.result_view.clear()
        self.set_entries(self._current_entries())
        call = self._run(self.conn.client.mig_profiles, uuid, what="read the MIG profiles")
        call.success(partial(self._on_profiles_read, self._seq)).run()

    def _on_profiles_read(self, seq: int, payload: MigProfiles) -> None:
        if seq != self._seq:
            return
        self.profiles = {p.name: Profile.from_api(p) for p in payload.profiles}
        self.presets = dict(payload.presets)
        slots, compute = payload.memory_slices or 8, payload.slices
        self.strip.configure(self.profiles, slots, compute)
        self.caption.setText(
            f"{payload.model}: {slots} memory slices (the placement slots below) and "
            f"{compute} compute slices. Click to place the chosen profile, drag to move, right-click to remove."
        )
        self.preset_combo.clear()
        self.preset_combo.addItem(PRESET_PROMPT)
        self.preset_combo.addItems(list(self.presets))
        for button in self.profile_group.buttons():
            self.profile_group.removeButton(button)
            button.deleteLater()
        for name, prof in self.profiles.items():
            button = _named(QToolButton(self), "migProfile")
            button.setText(name)
            button.setCheckable(True)
            button.setToolTip(f"{name}: {prof.compute_slices} compute slices, {prof.memory_mb / 1024:.1f} GiB, "
                              f"up to {prof.max_count} per GPU, starts {list(prof.placements)}")  # fmt: skip
            self.profile_group.addButton(button)
            self.profile_row.addWidget(button)
        self._refresh()

    def set_entries(self, entries: list[Entry], check: bool = False) -> None:
        self.entries = list(entries)
        self.strip.set_layout([e for e in self.entries if e.start is not None])
        self._refresh()
        if check:
            self.check()

    def choose_profile(self, name: str) -> None:
        for button in self.profile_group.buttons():
            if button.text() == name:
                button.setChecked(True)

    def _refresh(self) -> None:
        loose = [e.profile for e in self.entries if e.start is None]
        self.unplaced.setText(
            f"Not placed yet (Check lets the daemon place them): {', '.join(loose)}" if loose else ""
        )
        self.unplaced.setVisible(bool(loose))
        current = [(e.profile, e.start) for e in self._current_entries() if e.start is not None]
        d = diff(current, self.entries)
        parts = [f"<b>Current</b> {html.escape(layout_text(self._current_entries()))} → "
                 f"<b>planned</b> {html.escape(layout_text(self.entries))}"]  # fmt: skip
        for key, color in (("keep", "gray"), ("remove", BAD_COLOR), ("add", OK_COLOR)):
            if d[key]:
                parts.append(f"<span style='color:{color}'>{key}: {html.escape(', '.join(d[key]))}</span>")
        self.diff_label.setText("<br>".join(parts))
        ready = self._checked_layout is not None and self._checked_layout == self.entries
        self.apply_button.setEnabled(ready)
        self.add_button.setEnabled(self.strip.profile is not None)

    # ---------------------------------------------------------------- editing
    def add_selected(self) -> None:
        name = self.strip.profile
        if not name:
            return
        start = first_free_start(self.profiles, self.entries, name, self.strip.slots, self.strip.compute)
        if start is None:
            self._show_hint(f"No free place for {name}; it is added unplaced, and Check will say why.", False)
        self.set_entries([*self.entries, Entry(name, start)])

    @Slot(list)
    def _on_strip_layout_edited(self, placed: list[Entry]) -> None:
        self.entries = placed + [e for e in self.entries if e.start is None]
        self._refresh()

    @Slot(str, bool)
    def _on_strip_hint_changed(self, text: str, ok: bool) -> None:
        self._show_hint(text, ok)

    def _show_hint(self, text: str, ok: bool) -> None:
        self.hint.setText(text)
        self.hint.setStyleSheet("" if ok else f"color: {BAD_COLOR};")

    def _on_profile_group_button_toggled(self, button: QToolButton, checked: bool) -> None:
        if checked:
            self.strip.set_profile(button.text())
            self._refresh()

    @Slot(int)
    def _on_gpu_combo_current_index_changed(self, _index: int) -> None:
        self.select_gpu(self.gpu_combo.currentData())

    @Slot(int)
    def _on_preset_combo_activated(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name in self.presets:
            self._show_hint(f"Preset {name}: the daemon places it.", True)
            self.set_entries([Entry.from_api(p) for p in self.presets[name]], check=True)
        self.preset_combo.setCurrentIndex(0)

    # ------------------------------------------------------------ daemon calls
    @Slot()
    def recommend(self) -> None:
        self.result_view.setPlainText("Asking the daemon for a recommendation…")
        call = self._run(self.conn.client.mig_recommend, self.gpu_uuid, what="recommend a layout")
        call.success(partial(self._on_recommended, self._seq)).run()

    def _on_recommended(self, seq: int, answer: MigRecommendation) -> None:
        if seq != self._seq:
            return
        self._show_hint(f"Recommended: {answer.reason or 'no reason given'}", True)
        self.set_entries([Entry.from_api(p) for p in answer.layout], check=True)

    @Slot()
    def check(self) -> None:
        self._checked_layout = None
        layout = [e.to_api() for e in self.entries]
        self.result_view.setPlainText("Checking with the daemon…")
        self._refresh()
        call = self._run(self.conn.client.mig_plan, self.gpu_uuid, layout, what="check the layout")
        call.success(partial(self._on_plan_read, self._seq)).run()

    def _on_plan_read(self, seq: int, plan: MigPlan) -> None:
        if seq != self._seq:
            return
        self.last_plan = plan
        if plan.valid:
            self.set_entries([Entry.from_api(p) for p in plan.placed])
            self._checked_layout = list(self.entries)
            ops = plan.operations
            lines = [f"<p style='color:{OK_COLOR}'><b>The layout fits.</b> A dry run would perform "
                     f"{len(ops)} operation{'s' if len(ops) != 1 else ''}:</p><ol>"]  # fmt: skip
            lines += [f"<li><code>{html.escape(op)}</code></li>" for op in ops]
            self.result_view.setHtml("".join(lines) + "</ol>")
        else:
            items = "".join(f"<li>{html.escape(sentence(e.reason))}</li>" for e in plan.errors)
            self.result_view.setHtml(f"<p style='color:{BAD_COLOR}'><b>This layout does not fit the GPU:</b></p>"
                                f"<ul>{items}</ul>")  # fmt: skip
        self._refresh()
        self.checked.emit(plan)

    def apply(self, confirm: bool = True) -> None:
        if self._checked_layout is None or self._checked_layout != self.entries:
            return
        gpu = self.gpu.label if self.gpu else "the GPU"
        ops = self.last_plan.operations if self.last_plan else []
        if confirm:
            answer = QMessageBox.question(
                self, "Apply the MIG layout",
                f"Apply {layout_text(self.entries)} to {gpu}?\n\nThis performs {len(ops)} operations, "
                "destroys the instances the plan removes, and is refused while any process uses the GPU.",
                QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )  # fmt: skip
            if answer != QMessageBox.StandardButton.Apply:
                return
        self.apply_button.setEnabled(False)
        self.result_view.setPlainText(f"Applying to {gpu}…")
        layout = [e.to_api() for e in self.entries]
        call = self._run(
            self.conn.client.mig_apply, self.gpu_uuid, layout, False, what=f"apply the layout to {gpu}"
        )
        call.success(partial(self._on_applied, self._seq)).failure(
            partial(self._on_apply_failed, self._seq, gpu)
        )
        call.run()

    def _on_applied(self, seq: int, answer: MigApplied) -> None:
        if seq != self._seq:
            return
        shown = ", ".join(f"{p.profile}@{p.start}" for p in answer.readback) or "no instances (MIG off)"
        self.result_view.setHtml(f"<p style='color:{OK_COLOR}'><b>Applied.</b> Read back from the GPU: "
                            f"{html.escape(shown)}.</p>")  # fmt: skip
        self._checked_layout = None
        self._refresh()
        self.applied.emit(self.gpu_uuid)

    def _on_apply_failed(self, seq: int, gpu: str, err: Exception) -> None:
        if seq != self._seq:
            return
        self.result_view.setHtml(
            f"<p style='color:{BAD_COLOR}'>{html.escape(apply_error_text(err, gpu))}</p>"
        )
        self._refresh()

    def _on_call_failed(self, seq: int, what: str, err: Exception) -> None:
        if seq != self._seq:
            return
        log.warning("could not %s: %s", what, err)
        text = err.message if isinstance(err, ApiError) else str(err)
        self.result_view.setHtml(
            f"<p style='color:{BAD_COLOR}'>Could not {what}: {html.escape(sentence(text))}</p>"
        )
