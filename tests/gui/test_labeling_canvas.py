"""The Labeling panel with real mouse events on the canvas viewport: draw, undo/redo,
edit vertices, switch images, and save a version through a real daemon."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from tests.dataset_fixtures import png
from tests.gui.widget_helpers import shown
from tests.helpers import start_import, wait_import
from tests.labels_views import labels_view
from trainer_runtime.api.schema.labels import LabelsView

LEFT = Qt.MouseButton.LeftButton
NO_MODS = Qt.KeyboardModifier.NoModifier


def vp(panel, x: float, y: float) -> QPoint:
    """The viewport pixel that shows image pixel (x, y)."""
    return panel.view.mapFromScene(QPointF(x, y))


def drag(panel, a: tuple[float, float], b: tuple[float, float], steps: int = 4) -> None:
    viewport = panel.view.viewport()
    start, end = vp(panel, *a), vp(panel, *b)
    QTest.mouseMove(viewport, start)
    QTest.mousePress(viewport, LEFT, NO_MODS, start)
    for k in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * (k / steps))
    QTest.mouseRelease(viewport, LEFT, NO_MODS, end)


def click(panel, x: float, y: float, mods=NO_MODS) -> None:
    at = vp(panel, x, y)
    QTest.mouseMove(panel.view.viewport(), at)
    QTest.mouseClick(panel.view.viewport(), LEFT, mods, at)


def local_labels(root: Path, n: int = 3, size: int = 64) -> LabelsView:
    """A ``GET …/labels`` answer for generated images on disk (for canvas-only tests)."""
    images = []
    for i in range(n):
        path = png(root / f"img{i}.png", 10 + i, size)
        images.append(
            {"path": f"img{i}.png", "blob": str(path), "size": path.stat().st_size, "annotation": None}
        )
    return labels_view({"version": 1, "classes": {"classes": [{"id": 0, "name": "cat", "color": "#e6194b"},
                                                  {"id": 1, "name": "dog", "color": "#3cb44b"}], "retired": []},
            "images": images})  # fmt: skip


@pytest.fixture
def panel(qtbot, conn):
    from sparktrainer_gui.panels.labeling import LabelingPanel

    return shown(qtbot, LabelingPanel(conn), (1000, 700))


def open_local(qtbot, panel, root: Path, **kw) -> None:
    panel.session.apply("local", local_labels(root, **kw))
    qtbot.waitUntil(lambda: not panel.scene.image_item.overview.isNull())
    panel.view.fit()


def test_draw_rect_and_polygon_undo_redo(qtbot, panel, tmp_path):
    open_local(qtbot, panel, tmp_path)
    e = panel.editor
    e.set_tool("rect")
    drag(panel, (10, 10), (40, 30))
    assert [s.kind for s in e.state.shapes] == ["rect"]
    (x0, y0), (x1, y1) = e.state.shapes[0].points
    assert abs(x0 - 10) < 1 and abs(y0 - 10) < 1 and abs(x1 - 40) < 1 and abs(y1 - 30) < 1
    e.set_tool("polygon")
    for x, y in ((5, 50), (30, 45), (20, 60)):
        click(panel, x, y)
    click(panel, 5, 50)  # the first point closes it
    assert [s.kind for s in e.state.shapes] == ["rect", "polygon"]
    assert len(e.state.shapes[1].points) == 3
    e.undo_stack.undo()
    assert [s.kind for s in e.state.shapes] == ["rect"]
    assert len(panel.scene.visible_shapes()) == 1
    e.undo_stack.undo()
    assert e.state.shapes == ()
    e.undo_stack.redo()
    e.undo_stack.redo()
    assert [s.kind for s in e.state.shapes] == ["rect", "polygon"]
    assert len(panel.scene.visible_shapes()) == 2


def test_move_vertex_and_edit_polygon(qtbot, panel, tmp_path):
    open_local(qtbot, panel, tmp_path)
    e = panel.editor
    e.set_tool("polygon")
    for x, y in ((10, 10), (50, 10), (50, 50)):
        click(panel, x, y)
    QTest.keyClick(panel.view.viewport(), Qt.Key.Key_Return)
    assert e.state.shapes[0].points == ((10, 10), (50, 10), (50, 50)) or len(e.state.shapes[0].points) == 3
    e.set_tool("select")
    before = e.state.shapes[0].points
    drag(panel, before[1], (58, 20))
    after = e.state.shapes[0].points
    assert abs(after[1][0] - 58) < 1 and abs(after[1][1] - 20) < 1
    assert after[0] == before[0] and after[2] == before[2]
    e.undo_stack.undo()
    assert e.state.shapes[0].points == before
    # double-click on an edge adds a vertex; alt-click removes one
    mid = ((before[0][0] + before[2][0]) / 2, (before[0][1] + before[2][1]) / 2)
    QTest.mouseDClick(panel.view.viewport(), LEFT, NO_MODS, vp(panel, *mid))
    assert len(e.state.shapes[0].points) == 4
    click(panel, *e.state.shapes[0].points[0], mods=Qt.KeyboardModifier.AltModifier)
    assert len(e.state.shapes[0].points) == 3


def test_switch_images_copy_paste_hide_lock(qtbot, panel, tmp_path):
    open_local(qtbot, panel, tmp_path)
    e = panel.editor
    first = e.path
    e.set_tool("rect")
    drag(panel, (5, 5), (20, 25))
    e.set_tool("select")
    click(panel, 12, 15)
    assert e.selected
    e.copy_selection()
    panel.step(1, False)
    assert e.path != first and e.state.shapes == ()
    qtbot.waitUntil(lambda: not panel.scene.image_item.overview.isNull())
    e.paste()
    assert [s.points for s in e.state.shapes] == [e.doc.state(first).shapes[0].points]
    e.toggle_flag("locked")
    before = e.state.shapes[0].points
    drag(panel, (12, 15), (30, 30))
    assert e.state.shapes[0].points == before  # locked: not moved
    e.toggle_flag("hidden")
    assert (
        panel.scene.visible_shapes() == [] and not panel.scene.items_by_id[e.state.shapes[0].id].isVisible()
    )
    panel.step(-1, False)
    assert e.path == first and len(e.state.shapes) == 1
    assert e.doc.state(first).status == "in_progress"


# ---------------------------------------------------------------- with a real daemon
def import_pets(qtbot, daemon, root: Path) -> None:
    for i, cls in enumerate(("cat", "cat", "dog")):
        png(root / cls / f"{cls}{i}.png", 40 + i, 64)
    wait_import(daemon, start_import(daemon, root, "pets"), timeout=30)


def open_pets(qtbot, panel) -> None:
    panel.open_dataset("pets")
    qtbot.waitUntil(lambda: panel.editor.path is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not panel.scene.image_item.overview.isNull(), timeout=15_000)
    panel.view.fit()


def test_draw_switch_and_save_a_version_through_the_daemon(qtbot, daemon, panel, tmp_path):
    from trainer_runtime.client.client import ApiError

    import_pets(qtbot, daemon, tmp_path / "pets")
    open_pets(qtbot, panel)
    e = panel.editor
    first = e.path
    assert e.state.tags in (("cat",), ("dog",))  # the folder's class is a whole-image tag
    e.set_class("dog")
    e.set_tool("rect")
    drag(panel, (8, 8), (30, 40))
    e.set_tool("polygon")
    for x, y in ((40, 10), (60, 12), (50, 30)):
        click(panel, x, y)
    QTest.keyClick(panel.view.viewport(), Qt.Key.Key_Return)
    e.undo_stack.undo()
    e.undo_stack.redo()
    assert [s.kind for s in e.state.shapes] == ["rect", "polygon"]

    # autosave: the draft on the daemon follows the edit within a second
    def drafted() -> bool:
        try:
            draft = daemon.request("GET", "/v1/datasets/pets/labels/draft")["draft"]
        except ApiError:
            return False
        return len(draft["annotations"][first]["shapes"]) == 2

    qtbot.waitUntil(drafted, timeout=5_000)
    panel.step(1, False)
    second = e.path
    assert second != first
    qtbot.waitUntil(lambda: not panel.scene.image_item.overview.isNull(), timeout=15_000)
    e.set_tool("point")
    click(panel, 20, 20)
    e.set_status("needs_review")
    expected = {p: e.doc.state(p).to_json() for p in (first, second)}
    with qtbot.waitSignal(panel.session.saved, timeout=30_000):
        assert panel.session.save_version("boxes from the canvas")
    labels = daemon.request("GET", "/v1/datasets/pets/labels", query={"version": 2})
    got = {i["path"]: i["annotation"] for i in labels["images"]}
    assert got[first] == expected[first]
    assert got[second] == expected[second]
    rect, poly = got[first]["shapes"]
    assert rect["kind"] == "rect" and rect["label"] == "dog"
    assert [[round(v) for v in p] for p in rect["points"]] == [[8, 8], [30, 40]]
    assert [[round(v) for v in p] for p in poly["points"]] == [[40, 10], [60, 12], [50, 30]]
    assert got[second]["status"] == "needs_review" and got[second]["shapes"][0]["kind"] == "point"
    # the draft is gone and the panel reopened the new version
    with pytest.raises(ApiError):
        daemon.request("GET", "/v1/datasets/pets/labels/draft")
    qtbot.waitUntil(lambda: e.doc.base_version == 2, timeout=15_000)


def test_an_invalid_shape_cannot_be_saved_and_is_named(qtbot, daemon, panel, tmp_path):
    from sparktrainer_gui.panels.labeling.document import DocShape, with_shape
    from trainer_runtime.labeling.shapes import Shape

    import_pets(qtbot, daemon, tmp_path / "pets")
    open_pets(qtbot, panel)
    e = panel.editor
    flat = DocShape(e.doc.new_id(), Shape.polygon("dog", [(1, 1), (5, 5), (9, 9)]))
    e.push(with_shape(e.state, flat), "flat polygon")
    messages: list[str] = []
    panel.session.message_posted.connect(messages.append)
    assert not panel.session.save_version("")
    assert messages and e.path in messages[0] and "zero area" in messages[0]
    assert [v.version for v in daemon.dataset_versions("pets")] == [1]


def test_a_draft_is_offered_on_open(qtbot, daemon, panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    import_pets(qtbot, daemon, tmp_path / "pets")
    open_pets(qtbot, panel)
    e = panel.editor
    e.set_class("cat")
    e.set_tool("rect")
    drag(panel, (5, 5), (25, 25))
    path = e.path
    qtbot.waitUntil(lambda: not panel.session.autosave_pending(), timeout=5_000)
    asked: list[str] = []

    def yes(*args):
        asked.append(args[1])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    e.doc.load("other", labels_view({"version": 0, "images": []}))  # forget the working state here
    panel.open_dataset("pets")
    qtbot.waitUntil(lambda: e.doc.dataset == "pets" and bool(e.doc.paths), timeout=15_000)
    assert asked == ["Restore unsaved labels?"]
    assert [s.kind for s in e.doc.state(path).shapes] == ["rect"]


def test_suggestions_of_a_real_prelabel_job_are_accepted_and_rejected(qtbot, daemon, conn, panel, tmp_path):
    """A random tiny YOLOS detector (built in a subprocess: the GUI process stays torch-free)
    runs as a prelabel job on the daemon; its suggestions show on the canvas."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    detector = tmp_path / "yolos"
    code = f"from tests.image_helpers import tiny_yolos_detector; tiny_yolos_detector(__import__('pathlib').Path({str(detector)!r}))"
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=300)
    for i in range(3):
        png(tmp_path / "shots" / f"shot{i}.png", 70 + i, 48)
    wait_import(daemon, start_import(daemon, tmp_path / "shots", "shots"), timeout=30)
    conn.start()
    qtbot.waitUntil(lambda: conn.is_connected, timeout=30_000)
    panel.open_dataset("shots")
    qtbot.waitUntil(lambda: panel.editor.path is not None, timeout=15_000)
    layer, box = panel.suggestions, panel.suggestions_box
    box.start_job(str(detector))
    qtbot.waitUntil(lambda: layer.count() > 0, timeout=240_000)
    e = panel.editor
    here = list(layer.here())
    assert here and all(s.kind == "rect" for s in here)
    assert len(panel.suggestions.items) == len(here)  # dashed items on the canvas
    assert layer.selected == 0
    top = here[0]
    panel.view.setFocus()
    QTest.keyClick(panel.view.viewport(), Qt.Key.Key_Return)  # Enter accepts the selected suggestion
    (shape,) = e.state.shapes
    assert shape.label == top.label and e.doc.classes.by_name(top.label) is not None
    assert [list(p) for p in shape.points] == [
        [min(top.points[0][0], top.points[1][0]), min(top.points[0][1], top.points[1][1])],
        [max(top.points[0][0], top.points[1][0]), max(top.points[0][1], top.points[1][1])],
    ]
    left = len(layer.here())
    assert left == len(here) - 1
    e.undo_stack.undo()  # accepted suggestions are normal, undoable edits
    assert e.state.shapes == ()
    e.undo_stack.redo()
    e.select([])
    if left:
        QTest.keyClick(panel.view.viewport(), Qt.Key.Key_Delete)  # Delete rejects it (no shape is selected)
        assert len(layer.here()) == left - 1 and len(e.state.shapes) == 1
    total = layer.count()
    n = layer.accept_above(0.0)
    assert n == total and layer.count() == 0
    assert sum(len(e.doc.state(p).shapes) for p in e.doc.paths) >= n + 1


def test_in_the_main_window_its_keys_work_and_are_listed(qtbot, conn, tmp_path):
    from sparktrainer_gui.main_window import MainWindow

    window = MainWindow(conn)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.show_panel("labeling")
    panel = window.panels["labeling"]
    qtbot.waitUntil(panel.isVisible)
    open_local(qtbot, panel, tmp_path)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # window shortcuts need the active window
    panel.view.setFocus()
    e = panel.editor
    qtbot.keyClick(panel.view, Qt.Key.Key_2)
    assert e.current_class == "dog"
    qtbot.keyClick(panel.view, Qt.Key.Key_R)
    assert e.tool == "rect" and panel.actions_.tool_rect.isChecked()
    drag(panel, (10, 10), (30, 30))
    assert [s.label for s in e.state.shapes] == ["dog"] and e.selected
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert e.state.shapes == ()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(e.state.shapes) == 1
    first = e.path
    qtbot.keyClick(panel.view, Qt.Key.Key_D)
    assert e.path != first
    window.actions_.shortcuts.trigger()
    rows = dict(window.shortcuts_dialog.rows())
    assert rows["Rectangle tool"] == "R" and rows["Next unlabeled image"] == "Shift+D"
    assert any(g.title == "Labeling" for g in window.action_groups())
    window.show_panel("jobs")
    qtbot.waitUntil(lambda: not panel.isVisible())
    assert not panel.actions_.tool_rect.isEnabled()


def test_resize_by_a_handle_move_by_dragging_and_zoom_and_pan(qtbot, panel, tmp_path):
    from PySide6.QtCore import QPointF as P
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    open_local(qtbot, panel, tmp_path)
    e = panel.editor
    e.set_tool("rect")
    drag(panel, (10, 10), (30, 30))
    e.set_tool("select")
    drag(panel, (30, 30), (44, 50))  # the south-east corner handle
    assert [[round(v) for v in p] for p in e.state.shapes[0].points] == [[10, 10], [44, 50]]
    drag(panel, (20, 20), (25, 22))  # inside: move
    assert [[round(v) for v in p] for p in e.state.shapes[0].points] == [[15, 12], [49, 52]]
    assert e.undo_stack.count() == 3
    # the wheel zooms about the cursor: the image pixel under it stays under it
    view, viewport = panel.view, panel.view.viewport()
    at = vp(panel, 40, 20)
    zoom = view.zoom()
    wheel = QWheelEvent(P(at), P(viewport.mapToGlobal(at)), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        NO_MODS, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(viewport, wheel)
    assert view.zoom() == pytest.approx(zoom * 1.44)
    under = view.mapToScene(at)
    assert abs(under.x() - 40) < 1.5 and abs(under.y() - 20) < 1.5
    # the middle button pans
    before = view.mapToScene(viewport.rect().center())
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, NO_MODS, at)
    QTest.mouseMove(viewport, at + QPoint(50, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, NO_MODS, at + QPoint(50, 0))
    after = view.mapToScene(viewport.rect().center())
    assert before.x() - after.x() == pytest.approx(50 / view.zoom(), abs=1 / view.zoom())  # 50 screen px
    assert after.y() == pytest.approx(before.y()) and len(e.state.shapes) == 1


def test_class_rename_merge_and_recolour_are_undoable_and_keep_ids(qtbot, panel, tmp_path):
    open_local(qtbot, panel, tmp_path)
    e = panel.editor
    e.set_class("dog")
    e.set_tool("rect")
    drag(panel, (10, 10), (30, 30))
    e.toggle_tag("cat")
    assert e.rename_class("dog", "puppy")
    assert e.state.shapes[0].label == "puppy" and e.doc.classes.by_name("puppy").id == 1
    assert e.current_class == "puppy" and "puppy" in panel.classes.list.item(1).text()
    assert not e.rename_class("puppy", "cat")  # taken: a sentence, nothing changes
    assert e.merge_classes("puppy", "cat")
    assert e.state.shapes[0].label == "cat" and e.doc.classes.names() == ["cat"]
    assert e.doc.classes.retired == (1,) and e.doc.classes.next_id() == 2
    assert e.add_class("bird") and e.doc.classes.by_name("bird").id == 2  # ids never come back
    assert e.recolour_class("bird", "#123456") and e.color("bird") == "#123456"
    for _ in range(4):
        e.undo_stack.undo()
    assert e.state.shapes[0].label == "dog" and e.doc.classes.names() == ["cat", "dog"]
    assert panel.classes.list.count() == 2


def test_tags_from_a_classifier_trained_here_are_suggested_and_accepted(qtbot, daemon, conn, panel, tmp_path):
    """The whole pre-labelling loop: a small CNN is trained as a job on a labelled dataset, then the
    Labeling panel starts a prelabel job with its final/ folder on unlabeled copies of the pictures;
    the suggested tags are mostly right and Enter makes one an ordinary (undoable) tag."""
    import shutil

    from tests.graph_helpers import make_image_folder

    src = make_image_folder(tmp_path / "shapes", per_class=16)  # 3 classes of 16×16 PNGs
    wait_import(daemon, start_import(daemon, src, "shapes"), timeout=30)
    spec = {"name": "cnn", "recipe": "image-classification", "model": {"builtin": "small-cnn"},
            "dataset": {"name": "shapes", "eval_fraction": 0.25},
            "train": {"max_steps": 30, "batch_size": 16, "lr": 0.01, "eval_every": 10, "seed": 1}}  # fmt: skip
    job = daemon.wait(daemon.submit(spec).id, timeout=300)
    assert job.state == "COMPLETED", job.reason
    flat = tmp_path / "flat"  # the same pictures without labels; the true class is in the name
    flat.mkdir()
    for picture in sorted(src.glob("*/00*.png")):
        shutil.copy(picture, flat / f"{picture.parent.name}-{picture.name}")
    wait_import(daemon, start_import(daemon, flat, "unlabeled"), timeout=30)

    conn.start()
    qtbot.waitUntil(lambda: conn.is_connected, timeout=30_000)
    panel.open_dataset("unlabeled")
    qtbot.waitUntil(lambda: panel.editor.path is not None, timeout=15_000)
    layer, e = panel.suggestions, panel.editor
    panel.suggestions_box.start_job(str(Path(job.job_dir) / "final"))
    qtbot.waitUntil(lambda: layer.count() > 0, timeout=240_000)
    assert len(layer.pending) == len(e.doc.paths) == 30  # one top tag per unlabeled picture
    right = sum(s[0].label == Path(p).name.split("-")[0] for p, s in layer.pending.items())
    assert right / 30 >= 0.75, f"only {right} of 30 suggested tags are right"
    here = list(layer.here())
    assert here and all(s.kind == "tag" for s in here)
    top = here[0]
    assert e.state.tags == ()
    panel.view.setFocus()
    QTest.keyClick(panel.view.viewport(), Qt.Key.Key_Return)  # Enter accepts it
    assert e.state.tags == (top.label,)
    e.undo_stack.undo()
    assert e.state.tags == ()
