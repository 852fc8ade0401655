"""The labeling panel's image side: big pictures decode downscaled off the main thread and
in full detail for a zoomed-in region, broken files are reported and skipped, and the
image list stays a thin model over 12,000 images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.gui.widget_helpers import shown
from tests.labels_views import labels_view


@pytest.fixture
def panel(qtbot, conn):
    from sparktrainer_gui.panels.labeling import LabelingPanel

    return shown(qtbot, LabelingPanel(conn), (1000, 700))


def image_entry(path: Path) -> dict:
    return {"path": path.name, "blob": str(path), "size": path.stat().st_size, "annotation": None}


def test_a_big_image_shows_downscaled_then_a_zoomed_region_in_full_detail(qtbot, panel, tmp_path):
    from sparktrainer_gui.panels.labeling.images import OVERVIEW_SIDE

    y, x = np.mgrid[0:3000, 0:4000]
    arr = np.stack([x % 256, y % 256, (x // 16 + y // 16) % 2 * 255], axis=-1).astype(np.uint8)
    big = tmp_path / "big.jpg"
    Image.fromarray(arr).save(big, quality=90)
    panel.session.apply("local", labels_view({"version": 1, "images": [image_entry(big)]}))
    image = panel.scene.image_item
    qtbot.waitUntil(lambda: not image.overview.isNull(), timeout=15_000)
    assert max(image.overview.width(), image.overview.height()) == OVERVIEW_SIDE  # not 4000×3000 in memory
    assert (image.full.width(), image.full.height()) == (4000, 3000)
    assert panel.editor.size() == (4000.0, 3000.0)  # the image's real size, from its header
    panel.view.actual_size()  # 1:1: the overview (0.51 px per image px) is too coarse
    qtbot.waitUntil(lambda: image.region is not None, timeout=15_000)
    rect, detail = image.region
    assert detail.width() / rect.width() == pytest.approx(1.0, abs=0.02)  # one decoded px per image px
    assert rect.contains(panel.view.visible_image_rect())
    panel.view.fit()
    assert image.region is None  # zoomed out: the overview is enough again


def test_a_broken_image_is_reported_and_skipped(qtbot, panel, tmp_path):
    from tests.dataset_fixtures import png

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    good = png(tmp_path / "good.png", 1, 32)
    messages: list[str] = []
    panel.message_posted.connect(messages.append)
    panel.session.apply(
        "local", labels_view({"version": 1, "images": [image_entry(broken), image_entry(good)]})
    )
    qtbot.waitUntil(lambda: bool(panel.scene.image_item.message), timeout=15_000)
    assert "cannot be shown" in panel.scene.image_item.message and messages and "broken.png" in messages[-1]
    panel.step(1, False)
    qtbot.waitUntil(lambda: not panel.scene.image_item.overview.isNull(), timeout=15_000)
    assert panel.editor.path == "good.png" and panel.scene.image_item.message == ""


def test_the_image_list_is_a_thin_model_over_12000_images(qtbot, model_tester):
    from sparktrainer_gui.panels.labeling.document import ImageState, LabelDocument
    from sparktrainer_gui.panels.labeling.image_list import ImageListModel, PathRole, StatusRole

    doc = LabelDocument()
    images = [{"path": f"img/{i:05d}.jpg", "blob": "", "annotation": None} for i in range(12_000)]
    doc.load("big", labels_view({"version": 1, "images": images}))
    model = ImageListModel(doc)
    model_tester(model)
    t0 = time.process_time()  # this process's CPU time: other processes' load does not count
    model.refilter()
    assert model.rowCount() == 12_000
    assert model.index(11_999).data(PathRole) == "img/11999.jpg"
    doc.set_state("img/00007.jpg", ImageState(status="done"))
    assert model.index(7).data(StatusRole) == "done"
    model.set_filter("done")
    assert model.rowCount() == 1 and model.index(0).data(PathRole) == "img/00007.jpg"
    model.set_filter("unlabeled")
    assert model.rowCount() == 11_999
    assert (
        time.process_time() - t0 < 2.0
    )  # filters over 12,000 images take milliseconds (plus the tester's checks)
