"""The Datasets panel screenshot (used by ``docs/screenshots.py``): a generated image-folder
dataset of simple shapes (four classes of different sizes), imported through the daemon,
shown with its sample grid and class histogram; then the import dialog, and the new-job wizard
set to train an image classifier on that dataset."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from screenshot_app import main_window, running_daemon

CLASSES = {"circle": 140, "square": 95, "triangle": 70, "cross": 35}


def make_shapes(root: Path) -> Path:
    """One folder per class of 64×64 pictures: a coloured shape on a light background."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(7)
    for cls, n in CLASSES.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            bg = tuple(rng.randint(200, 250) for _ in range(3))
            fg = tuple(rng.randint(20, 180) for _ in range(3))
            im = Image.new("RGB", (64, 64), bg)
            d = ImageDraw.Draw(im)
            s = rng.randint(18, 28)
            cx, cy = rng.randint(s + 2, 62 - s), rng.randint(s + 2, 62 - s)
            box = (cx - s, cy - s, cx + s, cy + s)
            if cls == "circle":
                d.ellipse(box, fill=fg)
            elif cls == "square":
                d.rectangle(box, fill=fg)
            elif cls == "triangle":
                d.polygon([(cx, cy - s), (cx - s, cy + s), (cx + s, cy + s)], fill=fg)
            else:
                w = max(4, s // 3)
                d.rectangle((cx - s, cy - w, cx + s, cy + w), fill=fg)
                d.rectangle((cx - w, cy - s, cx + w, cy + s), fill=fg)
            im.save(root / cls / f"{cls}-{i:03d}.png")
    return root


def import_shapes(client: Any, home: Path) -> str:
    src = make_shapes(home / "screenshot-sources" / "shapes")
    from trainer_runtime.api.schema.datasets import ImportRequest
    from trainer_runtime.datasets.tasks import ImportState

    task = client.import_dataset(ImportRequest(path=str(src), name="shapes"))
    deadline = time.monotonic() + 120
    while not (task := client.dataset_import_status(task.id)).is_terminal:
        if time.monotonic() > deadline:
            raise RuntimeError("the shapes import did not finish in 2 minutes")
        time.sleep(0.2)
    if task.state is not ImportState.COMPLETED:
        raise RuntimeError(f"the shapes import ended {task.state}: {task.error}")
    return "shapes"


def capture_datasets(
    window: Any, client: Any, home: Path, pump: Callable[..., bool], save: Callable[..., Any]
) -> None:
    name = import_shapes(client, home)
    size = window.size()
    window.resize(1440, 900)
    window.show_panel("datasets")
    panel = window.panels["datasets"]
    panel.reload()
    pump(20, lambda: panel.select_dataset(name))
    detail = panel.detail
    pump(20, lambda: detail.model.entry(0) is not None)

    def thumbs_on_screen() -> bool:
        first = detail.grid.indexAt(detail.grid.viewport().rect().topLeft()).row()
        for row in range(max(0, first), min(detail.model.rowCount(), max(0, first) + 30)):
            e = detail.model.entry(row)
            if e is None or not detail.thumbnails.is_cached(e.blob):
                detail.grid.viewport().update()
                return False
        return True

    pump(20, thumbs_on_screen)
    boundary = detail.model.index(CLASSES["circle"] + 6, 0)  # the last circles and the first crosses
    detail.grid.scrollTo(boundary, detail.grid.ScrollHint.PositionAtCenter)
    pump(20, thumbs_on_screen)
    detail.grid.setCurrentIndex(boundary)
    pump(1.0)
    save(window, "datasets")
    window.resize(size)
    capture_import_dialog(panel, home, pump, save)
    capture_image_job_wizard(window, name, pump, save)


def capture_import_dialog(
    panel: Any, home: Path, pump: Callable[..., bool], save: Callable[..., Any]
) -> None:
    """The import dialog for the same folder: detected format, classes and preview thumbnails."""
    panel.import_paths([home / "screenshot-sources" / "shapes"])
    dialog = panel.dialog
    pump(20, lambda: dialog.preview is not None)
    dialog.name_edit.setText("shapes-v2")
    pump(
        10,
        lambda: all(not dialog.thumb_list.item(i).icon().isNull() for i in range(dialog.thumb_list.count())),
    )
    save(dialog, "datasets-import")
    dialog.reject()


def capture_image_job_wizard(
    window: Any, name: str, pump: Callable[..., bool], save: Callable[..., Any]
) -> None:
    """The new-job wizard set to train the small CNN on the imported image dataset."""
    from sparktrainer_gui.panels.jobs.wizard import NewJobWizard

    wizard = NewJobWizard(window.conn, window)
    combo = wizard.form.recipe_combo
    combo.setCurrentIndex(combo.findData("image-classification"))
    combo.activated.emit(combo.currentIndex())  # as a user's pick does
    wizard.form.name_edit.setText("shapes-cnn")
    wizard.show()
    picker = wizard.dataset_picker
    pump(10, lambda: picker.name_combo.findData(name) >= 0)
    picker.use_stored.setChecked(True)
    picker.name_combo.setCurrentIndex(picker.name_combo.findData(name))
    picker.name_combo.activated.emit(picker.name_combo.currentIndex())
    pump(10, lambda: wizard.form.submit_button.isEnabled())
    pump(0.5)
    save(wizard, "new-job-wizard-image")
    wizard.close()


def capture_datasets_only(home: Path, pump: Callable[..., bool], save: Callable[..., Any]) -> None:
    with running_daemon() as client, main_window(home) as window:
        pump(30, lambda: window.conn.is_connected)
        capture_datasets(window, client, home, pump, save)
