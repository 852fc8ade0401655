"""Feeds a :class:`CurvesWidget` with one job attempt's metrics: the full history
from the daemon, page by page (``after_id`` paging, parsed off the main thread),
then the live points of ``metrics_added``. Live points that arrive while the
history is loading wait until it is in, so the series only ever appends; a step
seen twice keeps one point (the series dedupe by step). Every call is an ``op`` bound to
this feed's parent view."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.jobs.curves import CurvesWidget
from sparktrainer_gui.panels.jobs.series import group_points
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.jobs import MetricPoint, MetricsPage
from trainer_runtime.client.client import Client

log = logging.getLogger(__name__)
PAGE = 50_000


def fetch_page(
    client: Client, job_id: str, attempt: int, after_id: int, limit: int = PAGE
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int, int]:
    """One page of history, grouped into arrays (runs on a worker thread)."""
    reply = client.request(
        "GET", f"/v1/jobs/{job_id}/metrics", query={"after_id": after_id, "limit": limit, "attempt": attempt}
    )
    page: MetricsPage = parse(MetricsPage, reply)
    return group_points(page.points), page.last_id, len(page.points)


class MetricsFeed(QObject):
    loaded = Signal(str, int)  # job id, points in the history
    load_failed = Signal(str)  # a sentence

    def __init__(self, conn: RuntimeConnection, curves: CurvesWidget, parent: QObject | None = None):
        super().__init__(parent)
        self.conn, self.curves = conn, curves
        self.job_id: str | None = None
        self.attempt = 0
        self.loading = False
        self._gen = 0
        self._pending: list[MetricPoint] = []
        self._count = 0
        conn.metrics_added.connect(self._on_conn_metrics_added)

    def load(self, job_id: str | None, attempt: int = 1) -> None:
        """Forget the current curves and load ``job_id``'s attempt from the start."""
        self._gen += 1
        self.job_id, self.attempt = job_id, attempt
        self._pending, self._count = [], 0
        self.curves.clear()
        self.loading = job_id is not None
        if job_id is not None:
            self._fetch(self._gen, 0)

    def _fetch(self, gen: int, after_id: int) -> None:
        assert self.job_id is not None
        op(self.conn, self, fetch_page, self.conn.client, self.job_id, self.attempt, after_id,
           what="load the metrics").success(lambda r: self._on_page(gen, r)) \
            .failure(lambda e: self._on_error(gen, e)).run()  # fmt: skip

    def _on_page(self, gen: int, result: tuple[dict[str, Any], int, int]) -> None:
        if gen != self._gen:
            return  # an answer for a job that is no longer shown
        arrays, last_id, n = result
        self.curves.add_arrays(arrays)
        self._count += n
        if n >= PAGE:
            self._fetch(gen, last_id)
            return
        self.loading = False
        pending, self._pending = self._pending, []
        if pending:
            self.curves.add_points(pending)
        self.loaded.emit(self.job_id or "", self._count)

    def _on_error(self, gen: int, err: Exception) -> None:
        if gen != self._gen:
            return
        log.warning("loading the metrics of %s failed", self.job_id, exc_info=err)
        self.loading = False
        self.load_failed.emit(f"Could not load the metrics of this job: {err}. Select it again to retry.")

    @Slot(str, int, list)
    def _on_conn_metrics_added(self, job_id: str, attempt: int, points: list[MetricPoint]) -> None:
        if job_id != self.job_id or attempt != self.attempt:
            return
        if self.loading:
            self._pending.extend(points)
        else:
            self.curves.add_points(points)
