"""The job detail's Generations tab: an sft job's answers to its eval prompts, newest step first,
read through ``Client.generations`` off the main thread; a real job's answers appear in it."""

from __future__ import annotations

from pathlib import Path

import yaml

from sparktrainer_gui.panels.jobs.detail_tabs import GENERATIONS_TAB, add_generations_tab
from sparktrainer_gui.panels.jobs.generations_view import EMPTY, GenerationsView
from tests.gui.widget_helpers import shown
from trainer_runtime.api.schema.jobs import Generation, GenerationList
from trainer_runtime.jobs.spec import parse_spec

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
WAIT_MS = 120_000


def test_rows_are_newest_step_first_and_a_row_shows_its_whole_output(qtbot, conn, monkeypatch) -> None:
    asked: list[tuple[str, int | None]] = []
    answers = [
        Generation(step=50, prompt="What is 6 times 7?", output="6 times 7 is 41.", time=1.0),
        Generation(step=50, prompt="Is 15 even?", output="15 is odd.", time=1.0),
        Generation(step=100, prompt="What is 6 times 7?", output="6 times 7 is 42.\nDone.", time=2.0),
    ]

    def generations(job_id: str, attempt: int | None = None) -> GenerationList:
        asked.append((job_id, attempt))
        return GenerationList(generations=answers)

    monkeypatch.setattr(conn.client, "generations", generations)
    view = shown(qtbot, GenerationsView(conn), (700, 400))
    assert view.note.text() == EMPTY
    view.set_job("job-1")
    qtbot.waitUntil(lambda: view.table.rowCount() == 3)
    assert asked[0] == ("job-1", None)
    cells = [[view.table.item(r, c).text() for c in range(3)] for r in range(3)]
    assert [c[0] for c in cells] == ["100", "50", "50"]
    assert cells[1][1:] == ["What is 6 times 7?", "6 times 7 is 41."]
    assert "⏎" in cells[0][2]  # a line break is shown in the row, the text kept whole below
    assert view.output.toPlainText().endswith("6 times 7 is 42.\nDone.")
    view.table.selectRow(2)
    assert "15 is odd." in view.output.toPlainText() and "Is 15 even?" in view.output.toPlainText()
    assert "3 answers at 2 step(s)" in view.note.text()


def test_a_real_sft_jobs_generations_reach_the_tab(qtbot, conn, daemon, tmp_path) -> None:
    from PySide6.QtWidgets import QTabWidget

    data = yaml.safe_load((SAMPLES / "tiny-sft.yaml").read_text())
    data["dataset"]["path"] = str(SAMPLES / data["dataset"]["path"])
    data["sft"]["eval_prompts"] = ["What is 6 times 7?"]
    data["train"].update(max_steps=4, eval_every=2, checkpoint_every=4, batch_size=2)
    job = daemon.submit(parse_spec(data).to_dict())
    tabs = shown(qtbot, QTabWidget(), (800, 500))
    view = add_generations_tab(tabs, conn)
    assert tabs.tabText(tabs.indexOf(view)) == GENERATIONS_TAB
    tabs.setCurrentWidget(view)
    view.set_job(job.id)
    # the tab re-reads every 5 s while it is shown, as the worker appends a step's answers
    qtbot.waitUntil(lambda: any(g.step == 4 for g in view.generations), timeout=WAIT_MS)
    steps = {g.step for g in view.generations}
    assert {2, 4} <= steps and all(g.prompt == "What is 6 times 7?" for g in view.generations)
    assert view.table.rowCount() == len(view.generations)
    assert view.table.item(0, 0).text() == "4"
