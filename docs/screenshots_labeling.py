"""The Labeling panel's screenshot (``docs/images/labeling.png``), used by ``docs/screenshots.py``:
a generated street picture imported as a dataset through the real daemon, opened in the
panel, labeled with a few boxes, a road polygon and a point (the class list beside it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from screenshot_app import main_window, running_daemon

W, H = 960, 600


def street(path: Path, seed: int) -> Path:
    """A simple street scene: sky, road, cars, a sign and a person."""
    import random

    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    for y in range(H // 2):  # sky
        d.line([(0, y), (W, y)], fill=(120 + y // 6, 170 + y // 8, 230))
    d.rectangle([0, H // 2, W, H], fill=(92, 128, 84))  # grass
    d.polygon([(380, H // 2), (580, H // 2), (W - 40, H), (40, H)], fill=(70, 70, 76))  # road
    for k in range(6):
        d.rectangle([470, H // 2 + 20 + 50 * k, 490, H // 2 + 45 + 50 * k], fill=(230, 230, 220))
    for x, y, w, h, c in ((170, 380, 210, 110, (200, 40, 40)), (560, 340, 150, 80, (40, 80, 190)),
                          (430, 318, 80, 50, (230, 200, 60))):  # fmt: skip
        d.rounded_rectangle([x, y, x + w, y + h], radius=14, fill=c)
        d.ellipse([x + 15, y + h - 20, x + 55, y + h + 14], fill=(25, 25, 25))
        d.ellipse([x + w - 55, y + h - 20, x + w - 15, y + h + 14], fill=(25, 25, 25))
        d.rectangle([x + 25, y + 10, x + w - 25, y + h // 2 - 4], fill=(180, 210, 230))
    d.rectangle([800, 190, 808, 330], fill=(90, 90, 90))  # a sign
    d.regular_polygon((804, 190, 34), 8, fill=(200, 30, 30))
    d.ellipse([118, 300, 142, 324], fill=(230, 190, 160))  # a person
    d.rectangle([116, 324, 144, 380], fill=(60, 60, 150))
    for _ in range(40):  # some texture
        x, y = rnd.randrange(W), rnd.randrange(H // 2, H)
        d.point((x, y), fill=(60, 100, 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def import_streets(client: Any, home: Path, n: int = 14) -> str:
    folder = home / "streets"
    for i in range(n):
        street(folder / f"street_{i:03d}.png", i)
    from trainer_runtime.api.schema.datasets import ImportRequest

    task = client.import_dataset(ImportRequest(path=str(folder), name="streets"))
    deadline = time.monotonic() + 120
    while not client.dataset_import_status(task.id).is_terminal:
        if time.monotonic() > deadline:
            raise RuntimeError("the streets import did not complete")
        time.sleep(0.2)
    return "streets"


def capture_labeling(window: Any, client: Any, home: Path, pump: Callable[..., bool],
                     save: Callable[..., Any]) -> None:  # fmt: skip
    from trainer_runtime.labeling.shapes import Shape

    name = import_streets(client, home)
    size = window.size()
    window.resize(1600, 940)
    window.show_panel("labeling")
    panel = window.panels["labeling"]
    panel.open_dataset(name)
    pump(30, lambda: panel.editor.path is not None and not panel.scene.image_item.overview.isNull())
    e = panel.editor
    for cls in ("car", "person", "road", "sign"):
        e.add_class(cls)
    for path in e.doc.paths[8:11]:  # some progress in the list
        e.push(e.doc.state(path).__class__(W, H, "done"), "done", path)
    e.set_class("road")
    e.add_shape(Shape.polygon("road", [(380, H / 2), (580, H / 2), (W - 40, H), (40, H)]))
    e.set_class("car")
    for x, y, w, h in ((170, 380, 210, 124), (560, 340, 150, 94), (430, 318, 80, 64)):
        e.add_shape(Shape.rect("car", x - 4, y - 4, x + w + 4, y + h + 4))
    e.add_shape(Shape.rect("person", 112, 296, 148, 384))
    e.add_shape(Shape.point("sign", 804, 190))
    e.toggle_tag("road")
    first = e.doc.state(e.path).shapes[1]
    e.select([first.id])
    e.set_tool("rect")
    panel.view.fit()
    pump(1.0)
    save(window, "labeling")
    window.resize(size)


def capture_labeling_only(home: Path, pump: Callable[..., bool], save: Callable[..., Any]) -> None:
    with running_daemon() as client, main_window(home) as window:
        pump(30, lambda: window.conn.is_connected)
        capture_labeling(window, client, home, pump, save)
