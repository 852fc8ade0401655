"""The Datasets panel against a real daemon: a real drop of file URLs, the import dialog,
the list, the sample grid with thumbnails, cancel, diff and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from tests import dataset_fixtures as fx
from tests.helpers import start_import
from trainer_runtime.datasets.tasks import ImportState


def drop(widget, paths: list[Path]) -> QDropEvent:
    """Send a file manager's drag-enter and drop (file URLs) to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    where = QPoint(widget.width() // 2, widget.height() // 2)
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the panel takes file drags"
    event = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, event)
    return event


@pytest.fixture
def panel(qtbot, daemon, conn):
    from sparktrainer_gui.panels.datasets import DatasetsPanel

    conn.start()
    qtbot.waitUntil(lambda: conn.is_connected, timeout=30_000)
    p = DatasetsPanel(conn)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    yield p
    p.detail.stop()


def import_by_drop(qtbot, panel, folder: Path, name: str | None = None):
    event = drop(panel, [folder])
    assert event.isAccepted()
    dialog = panel.dialog
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=30_000)
    if name:
        dialog.name_edit.setText(name)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    return dialog


def test_a_dropped_image_folder_is_imported_listed_and_shown_with_thumbnails(
    qtbot, panel, daemon, tmp_path, model_tester
):
    model_tester(panel.model)
    model_tester(panel.detail.model)
    src = fx.image_folder(tmp_path / "pets", {"cat": 6, "dog": 4})
    event = drop(panel, [src])
    assert event.isAccepted()
    dialog = panel.dialog
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=30_000)
    assert dialog.format_combo.currentData() == "image-folder"
    assert dialog.modality_combo.currentData() == "image"
    assert "10 items" in dialog.summary_label.text() and "cat (6)" in dialog.summary_label.text()
    assert dialog.thumb_list.count() > 0
    qtbot.waitUntil(lambda: not dialog.thumb_list.item(0).icon().isNull(), timeout=10_000)
    assert dialog.name_edit.text() == "pets"
    dialog.name_edit.setText("../pets")
    assert not dialog.import_button.isEnabled() and "looks like a path" in dialog.name_error.text()
    dialog.name_edit.setText("pets")
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: panel.selected_name() == "pets", timeout=20_000)
    row = panel.model.dataset("pets")
    assert row.items == 10 and row.latest == 1 and row.modality == "image"
    assert [d.name for d in daemon.datasets()] == ["pets"]
    detail = panel.detail
    assert detail.files.currentWidget() is detail.grid
    assert detail.model.rowCount() == 10
    assert dict(detail.histogram.classes()) == {"cat": 6, "dog": 4}
    grid = detail.grid

    def thumbs_shown() -> int:
        return sum(
            1
            for r in range(10)
            if detail.thumbnails.is_cached(e.blob if (e := detail.model.entry(r)) else "")
        )

    qtbot.waitUntil(lambda: thumbs_shown() == 10, timeout=20_000)
    index = detail.model.index(0, 0)
    assert grid.visualRect(index).isValid()
    pixmap = index.data(Qt.ItemDataRole.UserRole + 2)
    assert pixmap is not None and pixmap.width() == 96, "the 16×16 picture, scaled to the cell"
    entry = detail.model.entry(0)
    from PIL import Image

    with Image.open(src / entry.path) as im:
        expected = im.convert("RGB").getpixel((5, 9))
    shown = pixmap.toImage().pixelColor(5 * 6 + 3, 9 * 6 + 3)
    assert (shown.red(), shown.green(), shown.blue()) == expected, "the thumbnail is that file's picture"


def test_the_main_window_takes_a_drop_and_refuses_what_is_not_a_dataset(qtbot, make_window, daemon, tmp_path):
    window, _conn = make_window()
    stray = tmp_path / "notes.docx"
    stray.write_bytes(b"PK\x03\x04")
    drop(window.centralWidget(), [stray])
    assert window.current_panel_key() == "datasets"
    panel = window.panels["datasets"]
    assert "notes.docx is not a dataset" in panel.hint.text()
    assert panel.dialog is None
    drop(window.centralWidget(), [tmp_path / "a", tmp_path / "b"])
    assert "one folder, archive or file at a time" in panel.hint.text()
    corpus = fx.csv_file(tmp_path / "rows.csv", rows=7)
    drop(window.centralWidget(), [corpus])
    dialog = panel.dialog
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=30_000)
    assert dialog.format_combo.currentData() == "csv"
    assert dialog.rows_table.rowCount() == 5 and dialog.rows_table.columnCount() == 3
    dialog.reject()
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n3\n")
    drop(window.centralWidget(), [broken])
    dialog = panel.dialog
    qtbot.waitUntil(
        lambda: "line 3: 1 columns, but the header has 2" in dialog.status_label.text(), timeout=30_000
    )
    assert not dialog.import_button.isEnabled(), "the daemon's sentence, and nothing to import"
    dialog.reject()
    assert daemon.datasets() == []


def test_cancel_of_a_slow_import_leaves_nothing_stored(qtbot, panel, daemon, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    for i in range(12_000):
        (big / f"t{i:05d}.txt").write_text(f"document {i}\n")
    dialog = import_by_drop(qtbot, panel, big)
    qtbot.waitUntil(lambda: dialog.running(), timeout=30_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.task is not None and dialog.task.state is ImportState.CANCELLED, timeout=60_000
    )
    assert dialog.status_label.text() == "Cancelled, nothing was stored."
    assert dialog.isVisible() and dialog.cancel_button.text() == "Close"
    assert daemon.datasets() == []
    assert daemon.dataset_import_status(dialog.task.id).state is ImportState.CANCELLED


def test_diff_and_rollback_from_the_version_list(qtbot, panel, daemon, tmp_path):
    src = fx.image_folder(tmp_path / "pets", {"cat": 3, "dog": 2})
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        import_by_drop(qtbot, panel, src)
    fx.png(src / "dog" / "dog9.png", 99)
    (src / "cat" / "cat0.png").unlink()
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        import_by_drop(qtbot, panel, src)
    qtbot.waitUntil(lambda: getattr(panel.model.dataset("pets"), "latest", None) == 2, timeout=20_000)
    versions = panel.detail.versions
    qtbot.waitUntil(lambda: len(versions.versions) == 2, timeout=20_000)
    versions.select_versions([1, 2])
    assert versions.diff_button.isEnabled() and not versions.rollback_button.isEnabled()
    qtbot.mouseClick(versions.diff_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: versions.diff_dialog is not None, timeout=20_000)
    assert versions.diff_dialog.counts == {"added": 1, "removed": 1, "changed": 0, "labels": 0}

    versions.select_versions([1])

    from PySide6.QtCore import QTimer

    answered: list[bool] = []

    def answer_yes_once_asked() -> None:  # polls from inside the question's own event loop
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and not answered:
            answered.append(True)
            box.button(QMessageBox.StandardButton.Yes).click()

    qtbot.waitUntil(lambda: versions.rollback_button.isEnabled())
    poll = QTimer(interval=20, timeout=answer_yes_once_asked)
    poll.start()
    qtbot.mouseClick(versions.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(answered))
    poll.stop()
    qtbot.waitUntil(lambda: len(versions.versions) == 3, timeout=20_000)
    v1, v3 = daemon.dataset_versions("pets")[0], daemon.dataset_versions("pets")[2]
    assert v3.manifest_hash == v1.manifest_hash
    qtbot.waitUntil(lambda: getattr(panel.model.dataset("pets"), "latest", None) == 3, timeout=20_000)
    assert panel.detail.model.rowCount() == 5
    versions.select_versions([2])
    versions.delete_selected(confirm=False)
    qtbot.waitUntil(lambda: [v.version for v in versions.versions] == [3, 1], timeout=20_000)
    assert [v.version for v in daemon.dataset_versions("pets")] == [1, 3]


def test_the_new_job_wizard_picks_an_imported_dataset_by_name_and_version(qtbot, daemon, conn, tmp_path):
    from sparktrainer_gui.panels.jobs.wizard import NewJobWizard

    task = start_import(daemon, fx.text_corpus(tmp_path / "corpus"), "corpus")
    qtbot.waitUntil(
        lambda: daemon.dataset_import_status(task.id).state is ImportState.COMPLETED, timeout=30_000
    )
    wizard = NewJobWizard(conn)
    qtbot.addWidget(wizard)
    wizard.show()
    picker = wizard.dataset_picker
    qtbot.waitUntil(lambda: picker.name_combo.findData("corpus") >= 0, timeout=15_000)
    picker.use_stored.setChecked(True)
    assert not wizard.form.dataset_path_edit.isEnabled()
    qtbot.waitUntil(lambda: picker.version_combo.findData("1") >= 0, timeout=15_000)
    picker.version_combo.setCurrentIndex(picker.version_combo.findData("1"))
    picker.changed.emit()
    wizard.form.train_max_steps_edit.setText("3")
    qtbot.waitUntil(
        lambda: not wizard._timer.isActive() and wizard.form.submit_button.isEnabled(), timeout=15_000
    )
    assert wizard.spec_dict()["dataset"] == {"name": "corpus", "version": 1}
    with qtbot.waitSignal(wizard.job_submitted, timeout=15_000) as sig:
        qtbot.mouseClick(wizard.form.submit_button, Qt.MouseButton.LeftButton)
    spec = daemon.job(sig.args[0]).spec
    assert spec["dataset"]["name"] == "corpus" and spec["dataset"]["version"] == 1
    assert spec["dataset"]["hash"] == daemon.dataset("corpus").manifest_hash
    daemon.action(sig.args[0], "cancel")


def test_the_grid_pages_entries_in_as_it_scrolls(qtbot, panel, daemon, tmp_path):
    src = tmp_path / "many"
    for i in range(1000):
        fx.png(src / f"img{i:04d}.png", i, size=4)
    with qtbot.waitSignal(panel.dataset_imported, timeout=120_000):
        import_by_drop(qtbot, panel, src)
    detail = panel.detail
    qtbot.waitUntil(
        lambda: detail.model.rowCount() == 1000 and detail.model.entry(0) is not None, timeout=20_000
    )
    assert detail.model.paged.pages() == [0], "only the first page is read for the first screen"
    detail.grid.scrollToBottom()
    qtbot.waitUntil(lambda: detail.model.entry(999) is not None, timeout=20_000)
    assert detail.model.entry(999).path == "img0999.png"
    assert 400 not in [p * 400 for p in detail.model.paged.pages()], "rows scrolled over are never read"


def test_verify_quality_report_and_a_gate_make_a_cleaned_version(qtbot, panel, daemon, tmp_path):
    src = fx.image_folder(tmp_path / "pets", {"cat": 3, "dog": 2})
    (src / "dog" / "copy.png").write_bytes((src / "cat" / "cat0.png").read_bytes())
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        import_by_drop(qtbot, panel, src)
    quality = panel.detail.quality
    qtbot.waitUntil(lambda: quality.verify_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(quality.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "all 6 files match" in quality.status.text(), timeout=20_000)
    assert not quality.gate_buttons["dedupe"].isEnabled()
    qtbot.mouseClick(quality.quality_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: quality.report is not None, timeout=20_000)
    assert quality.tree.topLevelItem(1).text(0) == "Exact duplicates (1)"
    assert quality.gate_buttons["dedupe"].isEnabled()
    qtbot.mouseClick(quality.gate_buttons["dedupe"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Made version 2 without 1 file(s)" in quality.status.text(), timeout=20_000)
    qtbot.waitUntil(lambda: getattr(panel.model.dataset("pets"), "latest", None) == 2, timeout=20_000)
    assert daemon.dataset_version("pets", 1).version.files == 6, "the old version is untouched"
    assert daemon.dataset_version("pets", 2).version.files == 5


def test_a_text_dataset_shows_rows_and_the_start_of_a_file(qtbot, panel, daemon, tmp_path):
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        import_by_drop(qtbot, panel, fx.jsonl_file(tmp_path / "docs.jsonl", rows=5))
    detail = panel.detail
    qtbot.waitUntil(lambda: detail.model.entry(0) is not None, timeout=20_000)
    assert detail.files.currentIndex() == 1 and detail.model.rowCount() == 1
    assert detail.histogram.classes() == []
    detail.rows.selectRow(0)
    qtbot.waitUntil(
        lambda: detail.text_preview.toPlainText().startswith('{"text": "document 0'), timeout=20_000
    )


def test_a_dropped_tbz2_archive_of_tiff_pictures_is_imported(qtbot, panel, daemon, tmp_path):
    """The drop handler takes every archive suffix the daemon reads (.tbz2 was refused before)."""
    import tarfile

    from PIL import Image

    src = tmp_path / "scans"
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (src / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (16, 16), colour).save(src / name / f"{name}{i}.tif")
    archive = tmp_path / "scans.tbz2"
    with tarfile.open(archive, "w:bz2") as tf:
        tf.add(src, arcname="scans")
    event = drop(panel, [archive])
    assert event.isAccepted(), panel.hint.text()
    dialog = panel.dialog
    assert dialog is not None and dialog.name_edit.text() == "scans"
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=30_000)
    assert dialog.format_combo.currentData() == "image-folder"
    with qtbot.waitSignal(panel.dataset_imported, timeout=60_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.selected_name() == "scans", timeout=20_000)
    assert daemon.dataset("scans").classes == {"blue": 3, "red": 3}
    assert dict(panel.detail.histogram.classes()) == {"blue": 3, "red": 3}
