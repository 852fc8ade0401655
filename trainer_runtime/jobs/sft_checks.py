"""Checks of an sft job's inputs on disk (the daemon runs them at submit on its input-check
threads, the worker again at start), and the check that keeps chat data out of next-token
training.

What is checked before a job is queued: the dataset file reads in its format (the first
``CHECK_EXAMPLES`` examples, so a broken row near the top is named with its line), the template
resolves (a named one exists; without a name the model's tokenizer has its own) and renders
those examples (with jinja2 alone: a template's own refusal, such as gemma's "System role not
supported", is named with the example), and the model folder is a causal LM with a tokenizer
(``model_checks``).

``train.seq_len`` against the shortest prompt is checked with the folder's ``tokenizer.json``
through the ``tokenizers`` library. This module imports neither torch nor transformers (the daemon
runs it): where that needs them (a built-in model's tokenizer, made by the job; a sentencepiece-only
folder) the worker checks at start, and the preview shows it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from trainer_runtime.jobs.spec import SpecError
from trainer_runtime.userfiles import UserFileError, check_file, display, read_bytes

if TYPE_CHECKING:
    from trainer_runtime.jobs.spec import JobSpec

log = logging.getLogger(__name__)

WHERE = "dataset.path"
SUFFIXES = (".json", ".jsonl", ".txt")
CHECK_EXAMPLES = 200  # examples read at submit (the worker reads them all)
MAX_PROBE = 16 << 20  # bytes read to judge whether a causal-lm file is chat data
PROBE_ROWS = 200
BUILTIN_TEMPLATE = "chatml"  # a built-in model's tokenizer is trained by the job and has no template


def template_name(spec: JobSpec) -> str | None:
    """The template the job asks for: ``sft.template``, else chatml for a built-in model (its
    tokenizer is made by the job), else None (the model's own)."""
    name = spec.sft.template if spec.sft else None
    if name is None and spec.model.builtin:
        return BUILTIN_TEMPLATE
    return name


def check_sft_inputs(spec: JobSpec) -> None:
    """Every submit-time check of the sft recipe; SpecError names the field and why."""
    examples = check_sft_dataset(spec)
    if spec.model.path:
        from trainer_runtime.jobs.checks import check_model_folder
        from trainer_runtime.jobs.model_checks import check_lora_targets

        # a config.json naming its model_type, a decoder (model_checks.check_causal_lm_folder), a tokenizer
        check_model_folder(spec.model.path, causal_lm=True)
        if spec.adapter and spec.lora and spec.lora.target_modules:
            check_lora_targets(spec.model.path, spec.lora.target_modules)
    config = _tokenizer_config(spec.model.path)
    template = check_template(spec, config)
    if template is not None:  # the template's own refusals (gemma: no system role), named with the example
        from trainer_runtime.sft.templates import check_renders

        try:
            check_renders(template, examples, _special_tokens(config))
        except ValueError as err:
            raise SpecError([(WHERE, str(err))]) from None
        if spec.model.path:
            check_prompt_room(spec, template, examples, _special_tokens(config))
    # A built-in model's tokenizer is trained by the job, a sentencepiece-only folder needs
    # transformers: for those the worker checks seq_len at start (worker/sft.py check_seq_len).


MAX_TOKENIZER_JSON = 256 << 20


def check_prompt_room(spec: JobSpec, template: str, examples: list[Any], special: dict[str, str]) -> None:
    """``train.seq_len`` must leave room for a trained token after the shortest prompt: the prompts
    of the checked examples are rendered (jinja2) and counted with the folder's ``tokenizer.json``
    through the ``tokenizers`` library (no torch, no transformers). Skipped where the folder has no
    tokenizer.json or it does not load (the worker's own check at start still holds)."""
    loss_on = spec.sft.loss_on if spec.sft else "completion"
    if loss_on == "all" or not spec.model.path:
        return
    try:
        raw = read_bytes(Path(spec.model.path) / "tokenizer.json", "tokenizer.json", MAX_TOKENIZER_JSON)
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(raw.decode("utf-8"))
    except Exception as err:  # noqa: BLE001 - a tokenizer this library cannot read is the worker's to judge
        log.debug("prompt-room check skipped: %s", err)
        return
    from trainer_runtime.sft.templates import renderer

    render = renderer(template)
    shortest: tuple[int, str] | None = None
    for ex in examples:
        turns = [i for i, m in enumerate(ex.messages) if m.role == "assistant"]
        if not turns:
            continue
        upto = turns[-1] if loss_on == "last_turn" else turns[0]
        messages = [{"role": m.role, "content": m.content} for m in ex.messages[:upto]]
        try:
            tools = json.loads(ex.tools) if ex.tools else None
            prompt = render(messages, tools, True, **special)
        except Exception:  # noqa: BLE001 - a prefix the template refuses: the full render was checked
            continue
        n = len(tok.encode(prompt, add_special_tokens=False).ids)
        if shortest is None or n < shortest[0]:
            shortest = (n, ex.where)
    if shortest is not None and spec.train.seq_len < shortest[0]:
        n, where = shortest
        raise SpecError(
            [
                (
                    "train.seq_len",
                    f"train.seq_len {spec.train.seq_len} is shorter than the shortest prompt ({n} tokens, "
                    f"{where}): no answer token would be trained. Raise train.seq_len above {n}.",
                )
            ]
        )


def check_sft_dataset(spec: JobSpec, limit: int | None = CHECK_EXAMPLES) -> list[Any]:
    """The first ``limit`` examples of the dataset file, read in the spec's format and columns."""
    from trainer_runtime.sft.formats import FormatError, read_examples

    ds = spec.dataset
    p = Path(ds.path or "")
    if p.is_dir():
        raise SpecError(
            [(WHERE, f"dataset path is a folder, expected a .json, .jsonl or .txt file: {display(p)}")]
        )
    if p.suffix.lower() not in SUFFIXES:
        raise SpecError(
            [
                (
                    WHERE,
                    f"unsupported dataset file '{display(p.name)}': recipe sft reads .json, .jsonl or .txt files",
                )
            ]
        )
    try:
        check_file(p, "dataset file")
    except UserFileError as err:
        raise SpecError([(WHERE, err.message)]) from None
    try:
        fmt, examples = read_examples(p, ds.format, ds.columns, ds.text_field, limit=limit)
    except FormatError as err:
        raise SpecError([(WHERE, f"{display(p.name)}: {err}")]) from None
    except OSError as err:
        raise SpecError(
            [(WHERE, f"could not read the dataset file {display(p)}: {err.strerror or err}")]
        ) from None
    if not examples:
        raise SpecError([(WHERE, f"dataset file {display(p)} holds no examples")])
    log.debug("%s: %s data, %d examples checked", p.name, fmt, len(examples))
    return examples


def _tokenizer_config(path: str | None) -> dict[str, Any]:
    """A model folder's ``tokenizer_config.json``, read with json ({} when absent or unreadable)."""
    if not path:
        return {}
    try:
        config = json.loads(
            read_bytes(Path(path) / "tokenizer_config.json", "tokenizer_config.json", 16 << 20)
        )
    except (UserFileError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    return config if isinstance(config, dict) else {}


def _special_tokens(config: dict[str, Any]) -> dict[str, str]:
    """The special tokens a template may print (``bos_token``, ``eos_token``, ...) from a tokenizer
    config; placeholders where it names none (a built-in model)."""
    found: dict[str, str] = {"bos_token": "<s>", "eos_token": "</s>"}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = config.get(key)
        if isinstance(value, dict):  # an AddedToken written out
            value = value.get("content")
        if isinstance(value, str):
            found[key] = value
    return found


def _folder_template(path: str, config: dict[str, Any]) -> str | None:
    """The chat template a model folder's tokenizer carries, read with json: ``chat_template.jinja``
    (transformers 4.43+ saves it there) or ``tokenizer_config.json``'s ``chat_template``."""
    folder = Path(path)
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        try:
            return read_bytes(jinja, "chat_template.jinja", 1 << 20).decode("utf-8")
        except (UserFileError, UnicodeDecodeError):
            return None
    value = config.get("chat_template")
    if isinstance(value, list):  # several named templates: the default one
        value = next(
            (t.get("template") for t in value if isinstance(t, dict) and t.get("name") == "default"), None
        )
    return value if isinstance(value, str) else None


def check_template(spec: JobSpec, config: dict[str, Any]) -> str | None:
    """The template text the job will use (None: a hub model, whose tokenizer is not here yet);
    ``config`` is the model folder's tokenizer config (``_tokenizer_config``)."""
    from trainer_runtime.sft.templates import TemplateError, resolve

    name = template_name(spec)
    if spec.model.hub_id and name is None:
        return None
    own = _folder_template(spec.model.path, config) if spec.model.path else None
    try:
        text, _label = resolve(SimpleNamespace(chat_template=own), name)
    except TemplateError as err:
        raise SpecError([("sft.template", str(err))]) from None
    return text


# ----------------------------------------------------------------------------- causal-lm


def _probe_rows(p: Path) -> list[dict[str, Any]]:
    """Up to ``PROBE_ROWS`` JSON objects of a file, whatever its suffix: a JSON array (or an object
    holding one list of rows), else JSON lines. [] when it is not JSON rows."""
    try:
        raw = read_bytes(p, "dataset file", MAX_PROBE, head=True)
    except UserFileError:
        return []  # the file checks name that
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        try:
            doc = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            doc = None
        if isinstance(doc, dict):
            lists = [v for v in doc.values() if isinstance(v, list)]
            doc = lists[0] if len(lists) == 1 else [doc]
        if isinstance(doc, list):
            return [r for r in doc[:PROBE_ROWS] if isinstance(r, dict)]
    rows: list[dict[str, Any]] = []
    for line in stripped.splitlines():
        if len(rows) >= PROBE_ROWS:
            break
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return []
        if isinstance(row, dict):
            rows.append(row)
    return rows


def chat_data_problem(path: str | Path, text_field: str = "text") -> str | None:
    """Why next-token training must not read ``path`` (it holds chat or instruction rows), or None.

    Next-token training on such a file "works" and learns the wrong thing: the raw JSON of an
    alpaca file renamed to .txt, or the answers alone with ``text_field: output``."""
    from trainer_runtime.sft.formats import FormatError, detect_format

    p = Path(path)
    rows = _probe_rows(p)
    if not rows:
        return None
    try:
        fmt = detect_format(rows, p.name)
    except FormatError:
        return None
    if fmt == "text":
        return None
    field = (
        f" (text_field '{text_field}' would train on that one field alone)" if text_field != "text" else ""
    )
    return (
        f"{display(p.name)} holds {fmt} data: chat/instruction rows, not text{field}. Next-token training "
        f"would learn the rows' JSON or a part of each; use recipe 'sft', which renders them with a chat template."
    )


def refuse_chat_data(spec: JobSpec) -> None:
    """For recipes other than sft that read text (causal-lm): SpecError when the file is chat data."""
    if spec.recipe == "sft" or not spec.dataset.path:
        return
    problem = chat_data_problem(spec.dataset.path, spec.dataset.text_field)
    if problem:
        raise SpecError([(WHERE, problem)])
