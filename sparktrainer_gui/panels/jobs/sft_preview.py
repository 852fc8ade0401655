"""The new-job wizard's SFT preview: what the job would train on, as the daemon computes it
(``POST /v1/sft/preview``, through ``Client.sft_preview`` on an ``ops.op``).

Three tabs: a few examples rendered with the chat template, the trained text highlighted and the
masked text dimmed; the token-length histogram against ``train.seq_len`` with how many examples
are truncated or dropped; and the first batch as the model sees it, token by token. A problem the
daemon found (a mapping naming missing fields, a template that does not exist) is its sentence,
shown in red above the tabs. Nothing here knows a format, template or loss choice by name: the
request carries the form's values and the answer says what was used.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGroupBox, QLabel, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from sparktrainer_gui.ops import op
from sparktrainer_gui.panels.jobs.recipe_fields import UNSET_TEXT
from sparktrainer_gui.runtime import RuntimeConnection
from trainer_runtime.api.schema.recipes import RecipeView
from trainer_runtime.api.schema.sft import Bin, SftPreview, SftPreviewRequest
from trainer_runtime.client.client import ApiError, DaemonUnavailable

log = logging.getLogger(__name__)
PREVIEWED = "sft"  # a recipe with fields of this spec section gets the daemon's SFT preview
TEMPLATE_KEY = "sft.template"
PREVIEW_DELAY_MS = 600  # after the last edit: the daemon tokenizes the dataset for each preview
WAITING = "Choose a dataset and a model to see what the job trains on."

TRAINED_STYLE = "background-color:#d7f5dd;color:#0b3d17;font-weight:600;"
MASKED_STYLE = "color:#8a9097;"
OVER_COLOR = QColor("#e8710a")  # bars of examples longer than seq_len
BAR_COLOR = QColor("#4285f4")
SHOWN_TOKENS = 256  # tokens of each first-batch row shown
IGNORE = -100


def request_from_spec(spec: dict[str, Any]) -> SftPreviewRequest | None:
    """The preview request for the wizard's spec mapping (``NewJobWizard.spec_dict()``, valid or
    not), or None while it names no dataset or model the preview could read."""
    ds = spec.get("dataset") or {}
    model = {k: v for k, v in (spec.get("model") or {}).items() if v}
    sft = spec.get("sft") or {}
    train = spec.get("train") or {}
    where = {"name": ds["name"], "version": ds.get("version") or "latest"} if ds.get("name") else {}
    if not where and ds.get("path"):
        where = {"path": ds["path"]}
    if not where or not model:
        return None
    body: dict[str, Any] = {
        "dataset": {**where, "format": ds.get("format") or None, "columns": ds.get("columns") or None},
        "model": model,
        "template": sft.get("template") or None,
        "loss_on": sft.get("loss_on") or "completion",
        "packing": sft.get("packing", True),
    }
    for key, value in (("seq_len", train.get("seq_len")), ("batch_size", train.get("batch_size"))):
        if isinstance(value, int):
            body[key] = value
    try:
        return SftPreviewRequest.model_validate(body, strict=False)
    except ValidationError:
        return None  # the form names the field


def spans_html(spans: list[tuple[str, bool]]) -> str:
    """Rendered text as HTML: trained spans highlighted, masked ones dimmed, whitespace kept."""
    out = []
    for text, trained in spans:
        style = TRAINED_STYLE if trained else MASKED_STYLE
        out.append(f'<span style="{style}">{html.escape(text)}</span>')
    return f'<div style="white-space:pre-wrap;font-family:monospace;">{"".join(out)}</div>'


def examples_html(pv: SftPreview) -> str:
    parts = []
    for ex in pv.examples:
        cut = ", <b>truncated</b>" if ex.truncated else ""
        parts.append(
            f'<p style="margin:6px 0 2px 0;color:#5f6368;">{html.escape(ex.where)}: {ex.tokens} tokens, '
            f"{ex.trained_tokens} trained{cut}</p>"
        )
        parts.append(spans_html([(s.text, s.trained) for s in ex.spans]))
    return "".join(parts)


def batch_html(pv: SftPreview) -> str:
    """Each row of the first batch, token by token (a thin border between tokens): tokens the
    loss counts highlighted, the others dimmed."""
    parts = []
    for i, (toks, labels) in enumerate(zip(pv.first_batch_tokens, pv.first_batch_labels, strict=False)):
        trained = sum(1 for x in labels if x != IGNORE)
        parts.append(
            f'<p style="margin:6px 0 2px 0;color:#5f6368;">row {i}: {len(toks)} tokens, {trained} trained</p>'
        )
        cells = []
        for tok, lab in list(zip(toks, labels, strict=False))[:SHOWN_TOKENS]:
            style = TRAINED_STYLE if lab != IGNORE else MASKED_STYLE
            cells.append(f'<span style="{style}border-right:1px solid #dadce0;">{html.escape(tok)}</span>')
        more = " …" if len(toks) > SHOWN_TOKENS else ""
        parts.append(f'<div style="white-space:pre-wrap;font-family:monospace;">{"".join(cells)}{more}</div>')
    return "".join(parts) or "<p>No batch: no example has a token to train.</p>"


class LengthHistogram(QWidget):
    """Bars of example lengths (tokens, before truncation) with a line at seq_len; the bars past
    it (the examples that will be cut) in orange."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sftLengthHistogram")
        self.bins: list[Bin] = []
        self.seq_len = 0
        self.setMinimumSize(260, 120)

    def sizeHint(self) -> QSize:
        return QSize(360, 160)

    def set_bins(self, bins: list[Bin], seq_len: int) -> None:
        self.bins, self.seq_len = list(bins), seq_len
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        if not self.bins:
            p.end()
            return
        left, bottom, top = 8.0, self.height() - 20.0, 10.0
        width = self.width() - 2 * left
        origin = self.bins[0].start
        span = (self.bins[-1].end - origin) or 1
        peak = max(b.count for b in self.bins) or 1
        for b in self.bins:
            x0 = left + width * (b.start - origin) / span
            x1 = left + width * (b.end - origin) / span
            h = (bottom - top) * b.count / peak
            p.fillRect(QRectF(x0 + 1, bottom - h, max(1.0, x1 - x0 - 2), h),
                       OVER_COLOR if b.start > self.seq_len else BAR_COLOR)  # fmt: skip
        pen = QPen(QColor("#d93025"), 1.5, Qt.PenStyle.DashLine)
        p.setPen(pen)
        xs = left + width * (self.seq_len + 1 - origin) / span
        p.drawLine(int(xs), int(top - 4), int(xs), int(bottom))
        p.setPen(self.palette().text().color())
        p.drawText(QRectF(left, bottom + 2, 60, 16), Qt.AlignmentFlag.AlignLeft, "0")
        at = min(max(xs - 60, left), left + width - 120)  # the label stays inside the widget
        label = f"seq_len {self.seq_len}"
        p.drawText(QRectF(at, bottom + 2, 120, 16), Qt.AlignmentFlag.AlignHCenter, label)
        if span > self.seq_len * 1.3:
            last = f"{self.bins[-1].end - 1}"
            p.drawText(QRectF(left + width - 80, bottom + 2, 80, 16), Qt.AlignmentFlag.AlignRight, last)
        p.end()


class SftPreviewPanel(QGroupBox):
    """The preview's view; the wizard asks the daemon and hands the answer (or its refusal) here."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Preview", parent)
        self.setObjectName("sftPreview")
        self.preview: SftPreview | None = None
        self.summary = QLabel("Choose a dataset and a model to see what the job trains on.", self)
        self.summary.setObjectName("sftPreviewSummary")
        self.summary.setWordWrap(True)
        self.message = QLabel(self)
        self.message.setObjectName("sftPreviewMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.tabs = QTabWidget(self)
        self.examples = QTextBrowser(self)
        self.examples.setObjectName("sftPreviewExamples")
        self.histogram = LengthHistogram(self)
        self.counts = QLabel(self)
        self.counts.setObjectName("sftPreviewCounts")
        self.counts.setWordWrap(True)
        lengths = QWidget(self)
        lay = QVBoxLayout(lengths)
        lay.addWidget(self.histogram, 1)
        lay.addWidget(self.counts)
        self.batch = QTextBrowser(self)
        self.batch.setObjectName("sftPreviewBatch")
        self.tabs.addTab(self.examples, "Examples")
        self.tabs.addTab(lengths, "Lengths")
        self.tabs.addTab(self.batch, "First batch")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        self.setMinimumWidth(420)

    def set_busy(self) -> None:
        self.summary.setText("Rendering the preview in the daemon…")

    def set_waiting(self, why: str) -> None:
        self.preview = None
        self.summary.setText(why)
        self._say("")

    def set_error(self, sentence: str) -> None:
        """The daemon's refusal, as it said it (the field first when it named one)."""
        self.preview = None
        self.summary.setText("No preview: fix this first.")
        self._say(sentence, error=True)
        for w in (self.examples, self.batch):
            w.setHtml("")
        self.histogram.set_bins([], 0)
        self.counts.setText("")

    def set_preview(self, pv: SftPreview) -> None:
        self.preview = pv
        template = (
            "the model's own template" if pv.template_label == "model" else f"template {pv.template_label}"
        )
        self.summary.setText(
            f"{pv.total:,} examples in format {pv.format}, rendered with {template}; trained text is "
            "highlighted, masked text dimmed."
        )
        self._say("\n".join(pv.problems), error=False)
        self.examples.setHtml(examples_html(pv))
        self.batch.setHtml(batch_html(pv))
        self.histogram.set_bins(pv.lengths_histogram, pv.seq_len)
        self.counts.setText(
            f"{pv.truncated:,} of {pv.measured:,} examples are longer than seq_len {pv.seq_len} and will be "
            f"truncated; {pv.dropped:,} will be dropped (no trained token left)."
        )

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #d93025;" if error else "color: #b06000;")
        self.message.setVisible(bool(text))


class WizardPreview(QObject):
    """The wizard's side of the preview: asks the daemon (after a pause in the edits, only when
    what the preview depends on changed), drops answers to an older form, and names the model's
    own template in the template field's empty choice once the daemon said it has one."""

    def __init__(self, conn: RuntimeConnection, parent: QWidget, set_unset_text: Callable[[str, str], None]):
        super().__init__(parent)
        self.conn = conn
        self.panel = SftPreviewPanel(parent)
        self.panel.hide()
        self._set_unset_text = set_unset_text
        self._key: str | None = None  # the request last asked (or being asked)
        self._request: SftPreviewRequest | None = None
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._ask)

    @staticmethod
    def applies(view: RecipeView | None) -> bool:
        """Whether the recipe's fields include the SFT section (its data is previewed)."""
        return view is not None and any(x.key.startswith(PREVIEWED + ".") for x in view.fields)

    def update(self, view: RecipeView | None, spec: dict[str, Any]) -> None:
        shown = self.applies(view)
        self.panel.setVisible(shown)
        req = request_from_spec(spec) if shown else None
        if req is None:
            self._key = None
            self._timer.stop()
            if shown:
                self.panel.set_waiting(WAITING)
            return
        key = req.model_dump_json()
        if key != self._key:
            self._key, self._request = key, req
            self._timer.start()

    @Slot()
    def _ask(self) -> None:
        key, req = self._key, self._request
        if key is None or req is None:
            return
        self.panel.set_busy()
        op(self.conn, self.panel, self.conn.client.sft_preview, req, what="preview the training data") \
            .success(lambda pv: self._on_client_previewed(key, pv)) \
            .failure(lambda err: self._on_client_preview_failed(key, err)).run()  # fmt: skip

    def _on_client_previewed(self, key: str, pv: SftPreview) -> None:
        if key != self._key:
            return  # an answer to an older form
        self.panel.set_preview(pv)
        if self._request is not None and self._request.template is None:
            own = "the model's own" if pv.template_label == "model" else f"(default: {pv.template_label})"
            self._set_unset_text(TEMPLATE_KEY, own)

    def _on_client_preview_failed(self, key: str, err: Exception) -> None:
        if key != self._key:
            return
        if isinstance(err, ApiError) and err.problems:
            sentence = "\n".join(
                f"{p.get('field')}: {p.get('message')}" if p.get("field") else str(p.get("message"))
                for p in err.problems
            )
        elif isinstance(err, ApiError):
            sentence = err.message
        elif isinstance(err, DaemonUnavailable):
            sentence = f"Could not reach the SparkTrainer daemon ({err}); the preview comes when it is back."
            self._key = None  # ask again with the next edit
        else:
            log.error("the preview failed", exc_info=err)
            sentence = f"The preview failed: {err}"
        self.panel.set_error(sentence)
        if self._request is not None and self._request.template is None:
            self._set_unset_text(TEMPLATE_KEY, UNSET_TEXT)


__all__ = [
    "LengthHistogram",
    "WizardPreview",
    "SftPreviewPanel",
    "batch_html",
    "examples_html",
    "request_from_spec",
    "spans_html",
]
