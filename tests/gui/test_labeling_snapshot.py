"""Pixel snapshot of the labeling canvas: pinned size, fixed image, fixed shapes (a box, a
polygon, a point, a selected box with handles, a dashed suggestion with its score, a
whole-image tag).

Regenerate the reference after an intended change with
``SPARKTRAINER_UPDATE_SNAPSHOTS=1 pytest tests/gui/test_labeling_snapshot.py`` and look at it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QFont, QImage

from tests.gui.test_curves_snapshot import CHANNEL_TOLERANCE, MAX_DIFFERENT, SNAPSHOTS, _to_array
from tests.labels_views import labels_view, suggestions_view

SIZE = (640, 420)
IMAGE = (320, 200)


def _image() -> QImage:
    y, x = np.mgrid[0 : IMAGE[1], 0 : IMAGE[0]]
    rgb = np.stack([(x * 255 // IMAGE[0]), (y * 255 // IMAGE[1]), np.full_like(x, 140)], axis=-1).astype(
        np.uint8
    )
    rgb[(x // 40 + y // 40) % 2 == 0] //= 2  # a checker pattern over the gradient
    data = np.ascontiguousarray(rgb)
    return QImage(data.data, IMAGE[0], IMAGE[1], IMAGE[0] * 3, QImage.Format.Format_RGB888).copy()


@pytest.fixture
def canvas(qtbot):
    from sparktrainer_gui.panels.labeling.editor import LabelEditor
    from sparktrainer_gui.panels.labeling.scene import LabelScene
    from sparktrainer_gui.panels.labeling.suggestions import SuggestionLayer
    from sparktrainer_gui.panels.labeling.view import LabelView
    from trainer_runtime.labeling.shapes import Shape

    editor = LabelEditor()
    scene = LabelScene(editor)
    view = LabelView(scene)
    view.setFont(QFont("DejaVu Sans", 9))
    qtbot.addWidget(view)
    view.setFixedSize(*SIZE)
    classes = [{"id": 0, "name": "car", "color": "#e6194b"}, {"id": 1, "name": "road", "color": "#3cb44b"},
               {"id": 2, "name": "sign", "color": "#4363d8"}]  # fmt: skip
    labels = {"version": 1, "classes": {"classes": classes, "retired": []},
              "images": [{"path": "a.png", "blob": "", "annotation": {"w": IMAGE[0], "h": IMAGE[1], "status": "done",
                                                                       "tags": ["road"], "shapes": []}}]}  # fmt: skip
    editor.doc.load("snap", labels_view(labels))
    editor.open_image("a.png")
    scene.image_item.set_image(_image(), IMAGE)
    editor.set_class("car")
    editor.add_shape(Shape.rect("car", 20, 30, 110, 90))
    editor.add_shape(Shape.polygon("road", [(130, 190), (200, 110), (260, 110), (310, 190)]))
    editor.add_shape(Shape.point("sign", 280, 40))
    editor.add_shape(Shape.rect("car", 150, 20, 230, 70))  # added last: selected, with handles
    layer = SuggestionLayer(editor, scene)
    layer.load(suggestions_view({"a.png": [{"kind": "rect", "label": "sign", "score": 0.87,
                                            "points": [[30, 120], [90, 175]]}]}))  # fmt: skip
    view.tags = [("road", "#3cb44b")]
    view.show()
    qtbot.waitExposed(view, timeout=20_000)
    view.fit()
    qtbot.waitUntil(lambda: scene.image_item.smooth, timeout=20_000)  # the view settled
    return view


def test_labeling_canvas_snapshot(canvas, qtbot):
    got = canvas.grab().toImage()
    assert (got.width(), got.height()) == SIZE
    ref_path = SNAPSHOTS / "labeling_canvas.png"
    if os.environ.get("SPARKTRAINER_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        assert got.save(str(ref_path))
        pytest.skip(f"reference snapshot written to {ref_path}")
    assert ref_path.exists(), f"no reference {ref_path}; run with SPARKTRAINER_UPDATE_SNAPSHOTS=1"
    ref, cur = _to_array(QImage(str(ref_path))), _to_array(got)
    assert ref.shape == cur.shape
    diff = np.abs(ref.astype(np.int16) - cur.astype(np.int16)).max(axis=2)
    share = float(np.mean(diff > CHANNEL_TOLERANCE))
    if share > MAX_DIFFERENT:
        out = Path(os.environ.get("TMPDIR", "/tmp")) / "labeling-canvas-actual.png"
        got.save(str(out))
        pytest.fail(f"{share:.2%} of the pixels differ from {ref_path} (actual image: {out})")


def test_snapshot_scene_has_what_it_shows(canvas):
    scene = canvas.label_scene
    assert [s.kind for s in scene.visible_shapes()] == ["rect", "polygon", "point", "rect"]
    assert len(scene.items_by_id) == 1  # the selected box, lifted out with its handles
