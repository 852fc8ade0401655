"""The contract of ``POST /v1/sft/preview``: what an SFT job would train on, before it is submitted.

The request names a dataset (a file, or an imported dataset's name and version), a model (as the
spec does), the template, what the loss counts, the row length and packing. The answer shows a
few examples rendered with the template in spans (trained or not), the token-length histogram
against ``seq_len``, how many examples would be truncated or dropped, and the first batch as the
model sees it. The names of formats, templates and loss choices are the runtime's (``sft/``);
the wizard offers what ``GET /v1/recipes`` and this answer say, never a list of its own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from trainer_runtime.api.schema.base import AbsPath, Count, Strict, View

Word = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[\w.-]+$")]
FormatName = Literal["alpaca", "sharegpt", "messages", "prompt-completion", "text"]  # sft.formats.FORMATS
LossOn = Literal["all", "completion", "last_turn"]  # sft.render.LOSS_ON
MAX_EXAMPLES = 8


class PreviewDataset(Strict):
    path: AbsPath | None = Field(None, description="a .json, .jsonl or .txt file")
    name: str | None = Field(None, min_length=1, max_length=80, description="an imported dataset")
    version: Count | Literal["latest"] = "latest"
    format: FormatName | None = Field(None, description="the rows' shape; null: detected")
    columns: dict[Word, Word] | None = Field(None, max_length=16, description="our field -> the file's")


class PreviewModel(Strict):
    builtin: Word | None = None
    path: AbsPath | None = None
    hub_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[\w.-]+(/[\w.-]+)?$")


class SftPreviewRequest(Strict):
    dataset: PreviewDataset
    model: PreviewModel
    template: Word | None = Field(None, description="a named template; null: the model's own")
    loss_on: LossOn = "completion"
    seq_len: int = Field(512, ge=8, le=131072)
    packing: bool = True
    batch_size: int = Field(2, ge=1, le=64, description="rows of the first batch shown")
    examples: int = Field(3, ge=1, le=MAX_EXAMPLES, description="examples rendered in spans")


class Span(View):
    text: str
    trained: bool = Field(description="the loss counts these tokens")


class PreviewExample(View):
    where: str = Field(description='"line 12 of data.jsonl"')
    spans: list[Span]
    tokens: int = Field(description="tokens after truncation to seq_len")
    trained_tokens: int
    truncated: bool


class Bin(View):
    start: int = Field(description="token count, inclusive; a bin starting past seq_len counts cut examples")
    end: int = Field(description="token count, exclusive")
    count: int


class SftPreview(View):
    format: str = Field(description="the rows' format used (detected or given)")
    template_label: str = Field(description='"model" (the tokenizer\'s own template) or a template name')
    templates: list[str] = Field(description="every named template (sft.templates.TEMPLATES)")
    examples: list[PreviewExample]
    lengths_histogram: list[Bin] = Field(description="example lengths in tokens, before truncation")
    seq_len: int
    total: int = Field(description="examples read")
    measured: int = Field(description="examples whose length was measured (the first ones, up to a bound)")
    truncated: int = Field(description="measured examples longer than seq_len (cut to it)")
    dropped: int = Field(description="measured examples left without a trained token after truncation")
    first_batch: list[list[int]] = Field(description="the first batch's input token ids, one list per row")
    first_batch_labels: list[list[int]] = Field(
        description="their labels: -100 where the loss is not counted"
    )
    first_batch_tokens: list[list[str]] = Field(description="each input token's text, to show the rows")
    problems: list[str] = Field(description="warnings in sentences (truncation, drops, ...)")


__all__ = [
    "Bin",
    "PreviewDataset",
    "PreviewExample",
    "PreviewModel",
    "SftPreview",
    "SftPreviewRequest",
    "Span",
]
