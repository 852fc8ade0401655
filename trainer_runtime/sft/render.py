"""One example into token ids and labels: the chat template renders it, character spans say what is trained.

The loss mask is never found by searching the token ids for strings such as "### Response:": a
template renders its header differently at a turn boundary than inside a sentence, and a tokenizer
may merge the header's last character with the answer's first. Instead the rendered text is cut
into character spans (which characters are the assistant's), the text is tokenized once with a fast
tokenizer's ``offset_mapping``, and a token is trained when it covers any assistant character — the
rule transformers applies for ``return_assistant_tokens_mask``, so both masks agree token by token.

The spans come from the template itself where it marks assistant text with ``{% generation %}``
(all of ours do). A model's own template usually does not; then the conversation is rendered
prefix by prefix — ``messages[:k]`` with the generation prompt, against ``messages[:k+1]`` — and the
assistant's span is what the turn added, up to where the whole conversation's text parts from it
(an end-of-conversation eos that only the shorter render has is left out that way). A template that
rewrites earlier turns when more follow (mistral puts the system text in the last user turn) breaks
the prefix property; then the span is the answer's own text, found in order after the previous one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from trainer_runtime.sft.formats import Example, FormatError
from trainer_runtime.sft.templates import RENDER_ERRORS, render_problem

LOSS_ON = ("all", "completion", "last_turn")
IGNORE = -100


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]  # -100 = not trained; otherwise equal to input_ids (the model shifts)
    where: str
    truncated: bool
    length_before_truncation: int


@dataclass
class _Rendered:
    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    trained: list[bool]


def _messages(example: Example) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in example.messages]


def _special(tokenizer: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(tokenizer.special_tokens_map).items() if isinstance(v, str)}


def _render(
    tokenizer: Any,
    template: str,
    example: Example,
    messages: list[dict[str, str]],
    *,
    prompt: bool,
    marks: bool = False,
) -> tuple[str, list[tuple[int, int]]]:
    """The template's text for these messages (and its generation spans); its refusal as a FormatError."""
    import jinja2
    from transformers.utils.chat_template_utils import render_jinja_template

    tools = json.loads(example.tools) if example.tools else None
    refusals: tuple[type[Exception], ...] = (jinja2.TemplateError, *RENDER_ERRORS)
    try:
        result: Any = render_jinja_template(  # annotated as str; it returns (texts, generation spans)
            conversations=[messages],
            tools=tools,
            chat_template=template,
            return_assistant_tokens_mask=marks,
            add_generation_prompt=prompt,
            **_special(tokenizer),
        )
    except refusals as err:
        raise FormatError(render_problem(example.where, err)) from err
    texts, spans = result
    return texts[0], [(int(a), int(b)) for a, b in (spans[0] if spans else [])]


def _has_marks(template: str) -> bool:
    return re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None


def _turn_end(upto: str, full: str, eos: str) -> int:
    """Where the turn ends in ``full``: all of ``upto`` when the conversation goes on from it, else
    ``upto`` less the eos the template closes a conversation with; -1 when neither is a prefix."""
    if full.startswith(upto):
        return len(upto)
    bare = upto[: -len(eos)].rstrip() if eos and upto.endswith(eos) else ""
    return len(bare) if bare and full.startswith(bare) else -1


def _trim(text: str, start: int, end: int, eos: str) -> int:
    """End a prefix-found span at the turn's own last mark: not at the newline after it, nor at an eos
    the template adds after a blank (Phi-3 closes the conversation with "<|end|>\\n" + eos)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    if eos and text[start:end].endswith(eos):
        head = text[start : end - len(eos)]
        if head and head[-1].isspace():
            end = start + len(head.rstrip())
    return end


def assistant_spans(tokenizer: Any, template: str, example: Example) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and, per assistant turn in order, the characters that turn trains."""
    msgs = _messages(example)
    if _has_marks(template):
        return _render(tokenizer, template, example, msgs, prompt=False, marks=True)
    full, _ = _render(tokenizer, template, example, msgs, prompt=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    eos = tokenizer.eos_token or ""
    for k, msg in enumerate(msgs):
        if msg["role"] != "assistant":
            continue
        span = None
        if k > 0:
            before, _ = _render(tokenizer, template, example, msgs[:k], prompt=True)
            upto, _ = _render(tokenizer, template, example, msgs[: k + 1], prompt=False)
            end = _turn_end(upto, full, eos)
            end = _trim(full, len(before), end, eos) if end > len(before) else -1
            if full.startswith(before) and len(before) >= cursor and end > len(before):
                span = (len(before), end)
        if span is None:  # the template rewrote earlier turns: take the answer's own text, in order
            content = msg["content"].strip()
            start = full.find(content, cursor)
            if not content or start < 0:
                raise FormatError(
                    f"{example.where}: assistant turn {k + 1} cannot be located in the text the model's chat "
                    "template renders; set sft.template to a named template, which marks assistant text."
                )
            end = start + len(content)
            gap = full[end:].lstrip(" ")
            if eos and gap.startswith(eos):
                end = len(full) - len(gap) + len(eos)
            span = (start, end)
        spans.append(span)
        cursor = span[1]
    return full, spans


def _rendered(tokenizer: Any, template: str, example: Example, loss_on: str) -> _Rendered:
    if loss_on not in LOSS_ON:
        raise ValueError(f"loss_on {loss_on!r} is not one of {', '.join(LOSS_ON)}.")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "SFT needs a fast tokenizer (a tokenizer.json file) for its character offsets; this model's "
            "tokenizer is a slow one."
        )
    eos_id = tokenizer.eos_token_id
    if example.text is not None:  # format "text": every token trained
        enc = tokenizer(example.text, add_special_tokens=True, return_offsets_mapping=True)
        text, spans, ends_with_answer = example.text, [(0, len(example.text))], True
        loss_on = "all"
    else:
        text, spans = assistant_spans(tokenizer, template, example)
        if not spans:
            raise FormatError(f"{example.where}: the chat template rendered no assistant text to train on.")
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ends_with_answer = example.messages[-1].role == "assistant"
    ids = list(enc["input_ids"])
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    chosen = spans[-1:] if loss_on == "last_turn" else spans
    trained = [loss_on == "all" or any(e > s0 and s < e0 for s0, e0 in chosen) for s, e in offsets]
    eos_text = tokenizer.eos_token or ""
    if (
        eos_id is not None
        and ends_with_answer
        and not text.rstrip().endswith(eos_text)
        and (not ids or ids[-1] != eos_id)
    ):
        ids.append(eos_id)
        offsets.append((len(text), len(text) + len(eos_text)))
        text += eos_text
        trained.append(True)  # the last turn is an answer, trained by every loss_on: this is its stop
    return _Rendered(text, ids, offsets, trained)


def encode(
    tokenizer: Any, template: str, example: Example, loss_on: str = "completion", seq_len: int | None = None
) -> Encoded:
    """Token ids and labels of one example, cut to ``seq_len`` (counted in ``truncated``)."""
    r = _rendered(tokenizer, template, example, loss_on)
    labels = [t if keep else IGNORE for t, keep in zip(r.ids, r.trained, strict=True)]
    if not any(r.trained):
        raise FormatError(f"{example.where}: nothing in this example is trained with loss_on {loss_on!r}.")
    n = len(r.ids)
    if seq_len is not None and n > seq_len:
        first = r.trained.index(True)
        if first >= seq_len:
            raise FormatError(
                f"{example.where}: the prompt before the first answer is {first} tokens, so with seq_len "
                f"{seq_len} no answer token is left to train on; raise seq_len above {first} or shorten "
                "this example."
            )
        return Encoded(r.ids[:seq_len], labels[:seq_len], example.where, True, n)
    return Encoded(r.ids, labels, example.where, False, n)


def render_preview(
    tokenizer: Any, template: str, example: Example, loss_on: str = "completion"
) -> list[tuple[str, bool]]:
    """The rendered text in runs of (text, trained?), for showing trained tokens bright and masked ones dim."""
    r = _rendered(tokenizer, template, example, loss_on)
    flags = [False] * len(r.text)
    for (s, e), keep in zip(r.offsets, r.trained, strict=True):
        if keep:
            flags[s:e] = [True] * (e - s)
    runs: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, len(r.text) + 1):
        if i == len(r.text) or flags[i] != flags[start]:
            runs.append((r.text[start:i], flags[start]))
            start = i
    return runs
