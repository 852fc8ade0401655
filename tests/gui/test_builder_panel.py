"""The Builder panel driven like a user: layers dragged from the palette onto the canvas,
ports connected with a real mouse drag, a parameter set in the inspector, shapes and errors
shown on the canvas, undo/redo of everything, save and reopen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QSpinBox

from sparktrainer_gui.panels.builder import BuilderPanel
from sparktrainer_gui.panels.builder.items import NodeItem
from sparktrainer_gui.panels.builder.palette import MIME_LAYER
from tests.gui.widget_helpers import shown

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def panel(qtbot, conn) -> BuilderPanel:
    return shown(qtbot, BuilderPanel(conn), (1400, 900))


def drop_layer(panel: BuilderPanel, layer_type: str, at: QPoint) -> None:
    """Drag ``layer_type`` from the palette onto the canvas at ``at`` (viewport pixels).

    The mime data is what the palette's own drag carries (its model's ``mimeData`` for the
    row). ``QDrag.exec`` runs a nested loop that waits for the platform's mouse, which the
    offscreen platform never delivers, so the drag's events are delivered to the canvas
    viewport directly: the same enter / move / drop events a real drag produces."""
    index = panel.palette.index_of(layer_type)
    assert index.isValid(), f"{layer_type} is not shown in the palette"
    mime = panel.palette.proxy.mimeData([index])
    assert mime.hasFormat(MIME_LAYER)
    viewport = panel.view.viewport()
    copy, no_mods = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at, copy, mime, LEFT, no_mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted(), "the canvas refused the palette's drag"
    QApplication.sendEvent(viewport, QDragMoveEvent(at, copy, mime, LEFT, no_mods))
    drop = QDropEvent(QPointF(at), copy, mime, LEFT, no_mods)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()


def view_point(panel: BuilderPanel, scene_point: QPointF) -> QPoint:
    return panel.view.mapFromScene(scene_point)


def mouse_drag(qtbot, panel: BuilderPanel, start: QPoint, end: QPoint, steps: int = 6) -> None:
    viewport = panel.view.viewport()
    QTest.mousePress(viewport, LEFT, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * i / steps)
    QTest.mouseRelease(viewport, LEFT, Qt.KeyboardModifier.NoModifier, end)


def connect_by_mouse(qtbot, panel: BuilderPanel, src: NodeItem, dst: NodeItem, dst_port: str = "in") -> None:
    mouse_drag(
        qtbot,
        panel,
        view_point(panel, src.output_anchor("out")),
        view_point(panel, dst.input_anchor(dst_port)),
    )


def node_of_type(panel: BuilderPanel, layer_type: str) -> NodeItem:
    (item,) = [i for i in panel.editor.scene.node_items.values() if i.layer.type == layer_type]
    return item


def test_palette_filters_as_you_type(panel, qtbot):
    assert {"Input", "Linear", "Conv2d", "Output"} <= set(panel.palette.visible_layers())
    qtbot.keyClicks(panel.palette.filter_edit, "conv")
    shown = panel.palette.visible_layers()
    assert "Conv2d" in shown and "ConvTranspose2d" in shown and "Linear" not in shown
    panel.palette.filter_edit.clear()
    assert "Linear" in panel.palette.visible_layers()


def test_build_connect_edit_undo_redo_save_reopen(panel, qtbot, tmp_path: Path):
    scene, editor = panel.editor.scene, panel.editor

    # Two layers dragged from the palette land where they were dropped.
    drop_layer(panel, "Input", QPoint(250, 300))
    drop_layer(panel, "Linear", QPoint(650, 300))
    qtbot.waitUntil(lambda: len(scene.node_items) == 2)
    inp, lin = node_of_type(panel, "Input"), node_of_type(panel, "Linear")
    assert inp.sceneBoundingRect().contains(panel.view.mapToScene(QPoint(250, 300)))
    qtbot.waitUntil(lambda: bool(lin.errors))  # its input is not connected yet
    assert "not connected" in lin.toolTip() or "connect" in lin.toolTip().lower()

    # A real mouse drag from Input's output port to Linear's input port connects them.
    connect_by_mouse(qtbot, panel, inp, lin)
    qtbot.waitUntil(lambda: len(scene.edge_items) == 1)
    (edge,) = scene.edge_items.values()
    qtbot.waitUntil(lambda: edge.label == "3×32×32" and lin.shape_text == "→ 3×32×64")
    assert not lin.errors

    # Select Linear with a click; the inspector shows its parameters; set out_features to 10.
    QTest.mouseClick(panel.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier,
                     view_point(panel, lin.mapToScene(QPointF(90, 8))))  # fmt: skip
    qtbot.waitUntil(lambda: panel.inspector.node_id == lin.node_id)
    spin = panel.inspector.editors["out_features"]
    assert isinstance(spin, QSpinBox) and spin.value() == 64
    spin.selectAll()
    qtbot.keyClicks(spin, "10")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lin.shape_text == "→ 3×32×10")
    assert editor.graph.nodes[lin.node_id].params["out_features"] == 10
    assert "3×32×10" in panel.inspector.stats.text()

    # A connection whose shapes do not fit: Linear (3×32×10) into an LSTM marks the LSTM red.
    drop_layer(panel, "LSTM", QPoint(1000, 300))
    qtbot.waitUntil(lambda: len(scene.node_items) == 3)
    lstm = node_of_type(panel, "LSTM")
    connect_by_mouse(qtbot, panel, lin, lstm)
    qtbot.waitUntil(lambda: len(scene.edge_items) == 2)
    qtbot.waitUntil(lambda: any("(3, 32, 10)" in e for e in lstm.errors))
    assert not lstm.warning_only and "(3, 32, 10)" in lstm.toolTip()
    assert "problem" in panel.status.text()

    # A node cannot feed itself: the rubber band is refused and the graph is unchanged.
    with qtbot.waitSignal(panel.message_posted) as refused:
        connect_by_mouse(qtbot, panel, lin, lin)
    assert "itself" in refused.args[0] and len(editor.graph.edges) == 2

    # Moving a node by its title is one undoable step.
    before = editor.graph.nodes[lstm.node_id].pos
    start = view_point(panel, lstm.mapToScene(QPointF(60, 10)))
    mouse_drag(qtbot, panel, start, start + QPoint(0, 120))
    qtbot.waitUntil(lambda: editor.graph.nodes[lstm.node_id].pos != before)
    assert editor.graph.nodes[lstm.node_id].pos[1] > before[1] + 60

    # Undo everything (move, edge, add, param, edge, adds): an empty graph; redo it all back.
    final = editor.graph.to_dict()
    steps = editor.undo_stack.count()
    assert steps == 7, [editor.undo_stack.text(i) for i in range(steps)]
    panel.actions_.undo.trigger()
    assert editor.graph.nodes[lstm.node_id].pos == before
    while editor.undo_stack.canUndo():
        panel.actions_.undo.trigger()
    assert not editor.graph.nodes and not scene.node_items and not scene.edge_items
    while editor.undo_stack.canRedo():
        panel.actions_.redo.trigger()
    assert editor.graph.to_dict() == final
    qtbot.waitUntil(lambda: node_of_type(panel, "Linear").shape_text == "→ 3×32×10")
    assert node_of_type(panel, "LSTM").errors

    # Save, reopen in a fresh panel: the same graph, drawn the same way.
    path = tmp_path / "net.graph.json"
    assert panel.save_to(path)
    assert json.loads(path.read_text())["format"] == "sparktrainer-graph"
    other = BuilderPanel(panel.conn)
    qtbot.addWidget(other)
    assert other.open_path(path)
    assert other.editor.graph.to_dict() == final
    assert len(other.editor.scene.edge_items) == 2
    qtbot.waitUntil(lambda: node_of_type(other, "Linear").shape_text == "→ 3×32×10")


def test_invalid_value_shows_the_sentence_and_is_not_applied(panel, qtbot):
    panel.new_from_template("MLP")
    scene = panel.editor.scene
    inp = node_of_type(panel, "Input")
    scene.clearSelection()
    inp.setSelected(True)
    qtbot.waitUntil(lambda: panel.inspector.node_id == inp.node_id)
    edit = panel.inspector.editors["shape"]
    edit.clear()
    qtbot.keyClicks(edit, "16, 0")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    error = panel.inspector.errors["shape"]
    qtbot.waitUntil(error.isVisible)
    assert error.text() and panel.editor.graph.nodes[inp.node_id].params["shape"] == (16,)
    assert not panel.editor.undo_stack.canUndo()
    edit.clear()
    qtbot.keyClicks(edit, "20")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not error.isVisible())
    qtbot.waitUntil(lambda: node_of_type(panel, "Input").shape_text == "→ 20")


def test_copy_paste_group_collapse_layout_and_delete(panel, qtbot, tmp_path: Path):
    panel.new_from_template("MLP")
    editor, scene = panel.editor, panel.editor.scene
    ids = list(editor.graph.nodes)
    editor.select(ids[1:3])  # Linear, ReLU
    assert editor.copy_selection() == 2
    pasted = editor.paste()
    assert len(pasted) == 2 and len(editor.graph.nodes) == 9
    assert len([e for e in editor.graph.edges if e.src in pasted and e.dst in pasted]) == 1

    editor.select(ids[1:5])
    gid = editor.group_selection("hidden")
    group_item = scene.group_items[gid]
    qtbot.waitUntil(lambda: not scene.node_items[ids[2]].isVisible())
    assert group_item.ins == ["16"] and group_item.outs == ["64"]
    # Double-clicking the block's title expands it (one undoable step).
    panel.view.centerOn(group_item)
    title = view_point(panel, group_item.sceneBoundingRect().topLeft() + QPointF(40, 12))
    QTest.mouseDClick(panel.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, title)
    qtbot.waitUntil(lambda: scene.node_items[ids[2]].isVisible())
    assert not editor.groups.groups[gid].collapsed
    editor.undo_stack.undo()
    assert editor.groups.groups[gid].collapsed and not scene.node_items[ids[2]].isVisible()
    editor.toggle_group(gid)
    qtbot.waitUntil(lambda: scene.node_items[ids[2]].isVisible())

    editor.auto_layout()
    pos = {n: node.pos for n, node in editor.graph.nodes.items()}
    for e in editor.graph.edges:  # every edge runs right, or on to the next band below
        assert pos[e.dst][0] > pos[e.src][0] or pos[e.dst][1] > pos[e.src][1] + 50
    rects = [scene.node_items[n].sceneBoundingRect() for n in pos]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    editor.undo_stack.undo()
    assert {n: node.pos for n, node in editor.graph.nodes.items()} != pos
    editor.undo_stack.redo()

    path = tmp_path / "grouped.graph.json"
    assert panel.save_to(path)
    assert panel.open_path(path)
    assert list(panel.editor.groups.groups) == [gid]

    panel.editor.select(pasted)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert len(panel.editor.graph.nodes) == 7
    panel.actions_.undo.trigger()
    assert len(panel.editor.graph.nodes) == 9


def test_a_future_version_file_is_refused_with_its_sentence(panel, tmp_path: Path, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *a: shown.append(text))
    path = tmp_path / "future.graph.json"
    path.write_text(json.dumps({"format": "sparktrainer-graph", "version": 99, "nodes": [], "edges": []}))
    assert not panel.open_path(path)
    assert shown and "newer" in shown[0]


def test_in_the_main_window_its_shortcuts_act_only_while_it_is_shown(qtbot, conn):
    from sparktrainer_gui.main_window import MainWindow

    window = MainWindow(conn)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.show_panel("builder")
    panel = window.panels["builder"]
    qtbot.waitUntil(panel.isVisible)
    assert any(g.title == "Builder" for g in window.action_groups())
    panel.new_from_template("MLP")
    panel.editor.select([next(iter(panel.editor.graph.nodes))])
    panel.editor.delete_selection()
    assert len(panel.editor.graph.nodes) == 6 and panel.actions_.undo.isEnabled()
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(panel.editor.graph.nodes) == 7
    window.show_panel("jobs")
    qtbot.waitUntil(lambda: not panel.isVisible())
    assert not panel.actions_.redo.isEnabled() and not panel.actions_.paste.isEnabled()


def test_cycles_are_refused_and_an_edge_is_deleted_by_clicking_it(panel, qtbot):
    editor, scene = panel.editor, panel.editor.scene
    drop_layer(panel, "Input", QPoint(200, 250))
    drop_layer(panel, "Concat", QPoint(500, 250))
    drop_layer(panel, "Linear", QPoint(800, 250))
    inp, cat, lin = (node_of_type(panel, t) for t in ("Input", "Concat", "Linear"))
    connect_by_mouse(qtbot, panel, inp, cat)
    connect_by_mouse(qtbot, panel, cat, lin)
    assert len(editor.graph.edges) == 2
    with qtbot.waitSignal(panel.message_posted) as refused:
        connect_by_mouse(qtbot, panel, lin, cat)  # Concat takes many inputs, but not its own output
    assert "cycle" in refused.args[0] and len(editor.graph.edges) == 2

    # Rename in the inspector: the title on the canvas follows; undo puts it back.
    editor.select([lin.node_id])
    qtbot.waitUntil(lambda: panel.inspector.node_id == lin.node_id)
    name_edit = panel.inspector.editors["__name__"]
    name_edit.selectAll()
    qtbot.keyClicks(name_edit, "classifier")
    qtbot.keyClick(name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lin.title == "classifier")
    editor.undo_stack.undo()
    qtbot.waitUntil(lambda: lin.title != "classifier" and name_edit.text() == lin.title)

    # Click the middle of the Concat → Linear edge, press Delete: only that edge goes.
    edge = next(e for e in scene.edge_items.values() if e.edge.dst == lin.node_id)
    scene.clearSelection()
    QTest.mouseClick(
        panel.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, view_point(panel, edge.midpoint())
    )
    assert edge.isSelected()
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert [(e.src, e.dst) for e in editor.graph.edges] == [(inp.node_id, cat.node_id)]
    qtbot.waitUntil(lambda: bool(lin.errors) and lin.warning_only)  # unconnected again: amber
    editor.undo_stack.undo()
    assert len(editor.graph.edges) == 2


def test_wheel_zooms_to_the_cursor_middle_drag_pans_and_the_minimap_moves_the_view(panel, qtbot):
    from PySide6.QtGui import QWheelEvent

    panel.new_from_template("Small CNN")
    view, viewport = panel.view, panel.view.viewport()
    view.fit()
    cursor = QPoint(300, 200)
    under = view.mapToScene(cursor)
    zoom = view.zoom()
    wheel = QWheelEvent(QPointF(cursor), QPointF(viewport.mapToGlobal(cursor)), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)  # fmt: skip
    QApplication.sendEvent(viewport, wheel)
    assert view.zoom() == pytest.approx(zoom * 1.15, rel=1e-3)
    after = view.mapToScene(cursor)
    assert abs(after.x() - under.x()) < 3 / view.zoom() and abs(after.y() - under.y()) < 3 / view.zoom()

    centre = view.mapToScene(viewport.rect().center())
    middle = Qt.MouseButton.MiddleButton
    QTest.mousePress(viewport, middle, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(viewport, QPoint(300, 250))
    QTest.mouseRelease(viewport, middle, Qt.KeyboardModifier.NoModifier, QPoint(300, 250))
    moved = view.mapToScene(viewport.rect().center()) - centre
    assert moved.x() == pytest.approx(100 / view.zoom(), abs=2) and moved.y() == pytest.approx(
        50 / view.zoom(), abs=2
    )

    minimap = view.minimap
    qtbot.waitUntil(minimap.isVisible)
    minimap.refit()
    corner = QPoint(minimap.viewport().width() - 5, minimap.viewport().height() // 2)
    target = minimap.mapToScene(corner)
    QTest.mouseClick(minimap.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)
    now = view.mapToScene(viewport.rect().center())
    assert abs(now.x() - target.x()) < 5 / view.zoom()


def test_a_theme_switch_redraws_the_canvas_in_the_new_colours(panel, qtbot, qapp):
    from PySide6.QtGui import QColor

    from sparktrainer_gui import theme

    panel.new_from_template("MLP")
    scene = panel.editor.scene
    light = scene.backgroundBrush().texture().toImage().pixelColor(10, 10)
    theme.apply_theme(qapp, "dark", persist=False)
    try:
        dark = scene.backgroundBrush().texture().toImage().pixelColor(10, 10)
        assert dark == QColor(theme.PALETTES["dark"]["window"]) and dark != light
    finally:
        theme.apply_theme(qapp, "light", persist=False)
