"""The shell: panels, command palette, shortcuts window, remembered geometry, themes, start-up."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from sparktrainer_gui import launch, theme


def test_palette_filters_and_enter_switches_panel(qtbot, make_window):
    window, _ = make_window(autostart=False, wait_connected=False)
    assert window.current_panel_key() == "jobs"
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(
        lambda: getattr(window, "palette_popup", None) is not None and window.palette_popup.isVisible()
    )
    palette = window.palette_popup
    assert palette.visible_texts()[0].startswith("Panel: Go to Jobs")
    assert any("New job" in t for t in palette.visible_texts())
    qtbot.keyClicks(palette.edit, "sett")
    assert palette.visible_texts() == ["Panel: Go to Settings"]
    qtbot.keyClick(palette.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.current_panel_key() == "settings")
    assert window.stack.currentWidget() is window.panels["settings"]
    assert not palette.isVisible()


def test_ctrl_number_switches_panels_and_ctrl_f_focuses_the_filter(qtbot, make_window):
    window, _ = make_window(autostart=False, wait_connected=False)
    number = list(window.panels).index("settings") + 1
    qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.ControlModifier)
    assert window.current_panel_key() == "settings"
    assert window.stack.currentWidget() is window.panels["settings"]  # built on first show
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_panel_key() == "jobs"
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.panels["jobs"].filter_edit.hasFocus())


def test_shortcuts_window_is_generated_from_the_actions(qtbot, make_window):
    window, _ = make_window(autostart=False, wait_connected=False)
    window.actions_.shortcuts.trigger()
    dialog = window.shortcuts_dialog
    qtbot.waitUntil(dialog.isVisible)
    rows = dict(dialog.rows())
    assert rows["New job"] == "Ctrl+N"
    assert rows["Command palette"] == "Ctrl+K"
    assert rows["Filter jobs"] == "Ctrl+F"
    assert rows["Pause or resume"] == "Space"
    assert rows["Delete"] == "Del"
    assert rows["Go to Settings"] == f"Ctrl+{list(window.panels).index('settings') + 1}"
    expected = {
        a.text().replace("&", "").rstrip("…") for a in window.all_actions() if not a.shortcut().isEmpty()
    }
    assert set(rows) == expected


def test_geometry_and_last_panel_are_restored(qtbot, make_window, isolated_qsettings):
    first, _ = make_window(autostart=False, wait_connected=False)
    first.resize(1100, 640)  # not the default 1280x800 (the offscreen screen is 800x800)
    size = (first.width(), first.height())
    assert size != (1280, 800)
    first.show_panel("settings")
    first.close()
    assert (isolated_qsettings / "SparkTrainerTests" / "gui-tests.ini").exists()  # not the user's settings

    second, _ = make_window(autostart=False, wait_connected=False)
    assert second.current_panel_key() == "settings"
    # The offscreen screen is 800x800 and the window's minimum width is more than that, so Qt
    # fits a restored width to the screen; the height (and that it is not the default) is exact.
    assert second.height() == size[1]
    assert second.width() <= size[0]


def test_the_banner_shows_while_no_daemon_answers(qtbot, make_window):
    window, conn = make_window(autostart=False, wait_connected=False)
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert "Lost the connection to the runtime: the SparkTrainer daemon is not running" in (
        window.banner.message.text()
    )
    qtbot.mouseClick(window.banner.retry, Qt.MouseButton.LeftButton)  # never blocks the window
    assert "Reconnecting" in window.banner.hint.text()
    assert not conn.is_connected


def test_theme_switch_is_applied_and_persisted(qtbot, make_window):
    window, _ = make_window(autostart=False, wait_connected=False)
    app = QApplication.instance()
    with qtbot.waitSignal(theme.notifier.theme_changed) as blocker:
        window.actions_.theme_dark.trigger()
    assert blocker.args == ["dark"]
    assert QSettings().value(theme.SETTINGS_KEY) == "dark"
    assert theme.saved_mode() == "dark"
    assert "dark theme" in app.styleSheet()
    assert window.actions_.theme_dark.isChecked()
    assert theme.apply_theme(app, "light") == "light"
    assert "light theme" in app.styleSheet()
    assert window.actions_.theme_light.isChecked()
    assert theme.apply_theme(app, "system") in ("light", "dark")
    assert theme.saved_mode() == "system"


def test_launch_routes_gui_and_cli(monkeypatch):
    calls = []
    monkeypatch.setattr("sparktrainer_gui.app.main", lambda argv: calls.append(("gui", argv)) or 0)
    monkeypatch.setattr("trainer_runtime.cli.main.main", lambda argv: calls.append(("cli", argv)) or 0)
    assert launch.main([]) == 0
    assert launch.main(["gui"]) == 0
    assert launch.main(["jobs", "list"]) == 0
    assert calls == [("gui", []), ("gui", []), ("cli", ["jobs", "list"])]


def test_space_and_delete_act_on_the_selected_job(qtbot, make_window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window, _ = make_window(autostart=False, wait_connected=False)
    panel = window.panels["jobs"]
    from tests.unit.test_gui_jobs_state import row
    from trainer_runtime.api.schema.jobs import JobState

    panel.jobs.upsert(row("j1", JobState.COMPLETED, name="finished"))
    panel.jobs.upsert(row("j2", JobState.RUNNING, name="running", devices=["cpu:0"]))
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel
    )
    panel.select_job("j1")
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert asked and "finished" in asked[0]  # confirmation first; Cancel deletes nothing
    assert panel.model.row_of("j1") == 0

    panel.select_job("j2")
    qtbot.keyClick(panel.table, Qt.Key.Key_Space)  # pause: the call fails (no daemon) → status bar
    qtbot.waitUntil(lambda: "Could not pause running" in window.statusBar().currentMessage(), timeout=10_000)


def test_only_the_shown_panel_is_built_at_start_and_the_rest_follow(qtbot, make_window):
    window, _ = make_window(autostart=False, wait_connected=False)
    shown = window.current_panel_key()
    assert [k for k in window.panels if window.panels.is_built(k)] == [shown]
    assert window.stack.currentWidget() is window.panels[shown]
    menus_before = [a.text() for a in window.menuBar().actions()]
    window.build_remaining_panels()
    qtbot.waitUntil(lambda: all(window.panels.is_built(k) for k in window.panels))
    for index, key in enumerate(window.panels):  # each page is the panel, in sidebar order
        assert window.stack.widget(index) is window.panels[key]
    menus_after = [a.text() for a in window.menuBar().actions()]
    assert menus_after[-1] == "&Help" and set(menus_before) <= set(menus_after)
    assert window.current_panel_key() == shown and window.stack.currentWidget() is window.panels[shown]


def test_the_panel_registry_matches_the_panel_classes():
    from sparktrainer_gui.panels import PANELS

    for spec in PANELS:
        cls = spec.load()
        assert (cls.title, cls.icon) == (spec.title, spec.icon), spec.key


def test_start_up_imports_only_the_shown_panel(tmp_path):
    """In a fresh process: building the window imports the Jobs panel's modules, not the others'."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SPARKTRAINER_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path)}
    code = (
        "import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
        "from sparktrainer_gui.main_window import MainWindow; from sparktrainer_gui.runtime import RuntimeConnection;"
        "w = MainWindow(RuntimeConnection(autostart_daemon=False));"
        "print(sorted({m.split('.')[2] for m in sys.modules if m.startswith('sparktrainer_gui.panels.')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == "['jobs']"
