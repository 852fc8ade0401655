"""Named chat templates for tokenizers that have none, each the same text as its family's official one.

A model fine-tuned on one prompt format and then prompted in another answers badly, so each template
here renders exactly what the family's official ``chat_template`` renders (tests render the same
conversations with both through transformers and compare the strings; the official copies and where
they come from are in ``tests/data/sft/templates/SOURCE.md``). Where the official template refuses a
conversation (gemma has no system role; mistral needs a user turn first), ours refuses it the same way,
with the official message, and ``render`` turns that into a sentence naming the example.

Each template wraps the assistant's text and its end-of-turn token in ``{% generation %}`` so the loss
mask comes from the renderer itself (transformers' ``return_assistant_tokens_mask``). The
end-of-turn token is trained, because that is what teaches the model to stop; the role header
before it and any newline after it are not.

Every tag strips the whitespace before it (``{%-``, ``{{-``), so the layout below never reaches the
rendered text: only the quoted strings do.
"""

from __future__ import annotations

from typing import Any

CHATML = """
{%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\\n' }}
    {%- if message['role'] == 'assistant' %}
        {%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}
        {{- '\\n' }}
    {%- else %}
        {{- message['content'] + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Qwen2.5-Instruct: ChatML with a default system prompt, tools in the system turn and tool results
# sent back as user turns holding <tool_response> blocks.
QWEN = """
{%- set default_system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' %}
{%- set has_system = messages[0]['role'] == 'system' %}
{%- set system_text = messages[0]['content'] if has_system else default_system %}
{%- if tools %}
    {{- '<|im_start|>system\\n' + system_text + '\\n\\n# Tools\\n\\nYou may call one or more functions to '
        + 'assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> '
        + 'XML tags:\\n<tools>' }}
    {%- for tool in tools %}
        {{- '\\n' + (tool | tojson) }}
    {%- endfor %}
    {{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments '
        + 'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{"name": <function-name>, "arguments": '
        + '<args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\n' + system_text + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message['role'] == 'assistant' %}
        {{- '<|im_start|>assistant\\n' }}
        {%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}
        {{- '\\n' }}
    {%- elif message['role'] == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- elif not (loop.first and message['role'] == 'system') %}
        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Meta-Llama-3-Instruct: a header per turn, the text trimmed, <|eot_id|> after each turn.
LLAMA_3 = """
{%- for message in messages %}
    {%- if loop.first %}{{- bos_token }}{%- endif %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}
    {%- if message['role'] == 'assistant' %}
        {%- generation %}{{- message['content'] | trim + '<|eot_id|>' }}{%- endgeneration %}
    {%- else %}
        {{- message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# Mistral-7B-Instruct-v0.3 (mistral-common's v3 SentencePiece template): system text goes in front of
# the last user turn, consecutive turns of one role are joined, the conversation opens with a user.
MISTRAL = """
{%- set ns = namespace(system=[], turns=[], last_user=-1, space=false) %}
{%- for message in messages %}
    {%- if message['role'] == 'system' %}
        {%- set ns.system = ns.system + [message['content']] %}
    {%- elif ns.turns and ns.turns[-1]['role'] == message['role'] and message['role'] != 'tool' %}
        {%- set merged = ns.turns[-1]['content'] + '\\n\\n' + message['content'] %}
        {%- set ns.turns = ns.turns[:-1] + [{'role': message['role'], 'content': merged}] %}
    {%- else %}
        {%- set ns.turns = ns.turns + [{'role': message['role'], 'content': message['content']}] %}
    {%- endif %}
{%- endfor %}
{%- for turn in ns.turns %}
    {%- if turn['role'] == 'user' %}{% set ns.last_user = loop.index0 %}{% endif %}
{%- endfor %}
{{- bos_token }}
{%- if ns.turns and ns.turns[0]['role'] != 'user' %}
    {{- raise_exception('Conversation must start with a user message, got ' + ns.turns[0]['role'] + '.') }}
{%- endif %}
{%- for turn in ns.turns %}
    {%- if loop.index0 > 0 and turn['role'] == 'tool' and ns.turns[loop.index0 - 1]['role'] == 'user' %}
        {{- raise_exception("Unexpected role 'tool' after role 'user'") }}
    {%- endif %}
    {%- if loop.index0 > 0 and turn['role'] not in ['user', 'assistant', 'tool'] %}
        {{- raise_exception('Only user, assistant and tool roles are supported, got ' + turn['role'] + '.') }}
    {%- endif %}
    {%- if turn['role'] == 'user' %}
        {%- if loop.index0 == ns.last_user and tools %}
            {{- '[AVAILABLE_TOOLS] ' + (tools | tojson) + '[/AVAILABLE_TOOLS]' }}
        {%- endif %}
        {{- '[INST] ' }}
        {%- if loop.index0 == ns.last_user and ns.system %}{{- ns.system | join('\\n\\n') + '\\n\\n' }}{%- endif %}
        {{- turn['content'] + '[/INST]' }}
        {%- set ns.space = not loop.last %}
    {%- elif turn['role'] == 'assistant' %}
        {%- if ns.space %}{{- ' ' }}{% set ns.space = false %}{%- endif %}
        {%- generation %}{{- turn['content'] + eos_token }}{%- endgeneration %}
    {%- elif turn['role'] == 'tool' %}
        {{- raise_exception('Tool message must have a call_id or tool_call_id of 9 characters or numbers.') }}
    {%- endif %}
{%- endfor %}
"""

# gemma-2-it: no system role, strict user/model alternation, the assistant is called "model".
GEMMA = """
{{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {{- raise_exception('System role not supported') }}
{%- endif %}
{%- for message in messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'assistant' %}
        {{- '<start_of_turn>model\\n' }}
        {%- generation %}{{- message['content'] | trim + '<end_of_turn>' }}{%- endgeneration %}
        {{- '\\n' }}
    {%- else %}
        {{- '<start_of_turn>' + message['role'] + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<start_of_turn>model\\n' }}
{%- endif %}
"""

# Phi-3 / Phi-3.5-mini-instruct: <|role|> headers, <|end|> after each turn, roles other than these
# three are left out, and the conversation ends with eos unless a generation prompt follows.
PHI_3 = """
{%- for message in messages %}
    {%- if message['role'] == 'system' and message['content'] %}
        {{- '<|system|>\\n' + message['content'] + '<|end|>\\n' }}
    {%- elif message['role'] == 'user' %}
        {{- '<|user|>\\n' + message['content'] + '<|end|>\\n' }}
    {%- elif message['role'] == 'assistant' %}
        {{- '<|assistant|>\\n' }}
        {%- generation %}{{- message['content'] + '<|end|>' }}{%- endgeneration %}
        {{- '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|assistant|>\\n' }}
{%- else %}
    {{- eos_token }}
{%- endif %}
"""

# Stanford Alpaca's prompt (train.py PROMPT_DICT["prompt_no_input"]) with the answer and eos right
# after "### Response:", as its training joined them; further turns follow after a blank line.
ALPACA = """
{%- set default_system = 'Below is an instruction that describes a task. Write a response that '
    + 'appropriately completes the request.' %}
{%- if messages[0]['role'] == 'system' %}
    {{- messages[0]['content'] + '\\n\\n' }}
{%- else %}
    {{- default_system + '\\n\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message['role'] == 'user' %}
        {{- '### Instruction:\\n' + message['content'] + '\\n\\n### Response:' }}
    {%- elif message['role'] == 'assistant' %}
        {%- generation %}{{- message['content'] + eos_token }}{%- endgeneration %}
        {%- if not loop.last %}{{- '\\n\\n' }}{%- endif %}
    {%- elif not (loop.first and message['role'] == 'system') %}
        {{- raise_exception('The alpaca template renders system, user and assistant turns, not '
            + message['role'] + '.') }}
    {%- endif %}
{%- endfor %}
"""

TEMPLATES: dict[str, str] = {
    "chatml": CHATML.strip(),
    "llama-3": LLAMA_3.strip(),
    "mistral": MISTRAL.strip(),
    "gemma": GEMMA.strip(),
    "phi-3": PHI_3.strip(),
    "qwen": QWEN.strip(),
    "alpaca": ALPACA.strip(),
}


class TemplateError(ValueError):
    """No usable chat template; ``str(err)`` says which to name in ``sft.template``."""


def _names() -> str:
    return ", ".join(TEMPLATES)


def resolve(tokenizer: Any, name: str | None) -> tuple[str, str]:
    """(template text, label): the named one, or with ``name`` None the tokenizer's own (label "model")."""
    if name is None or name == "model":
        own = getattr(tokenizer, "chat_template", None)
        if isinstance(own, dict):  # several named templates: transformers uses "default"
            own = own.get("default")
        if not isinstance(own, str) or not own.strip():
            raise TemplateError(
                "The model's tokenizer has no chat_template, so it does not say how to format a conversation; "
                f"set sft.template to one of {_names()} (the one of the model's family)."
            )
        return own, "model"
    if name not in TEMPLATES:
        raise TemplateError(
            f"sft.template {name!r} does not exist; choose one of {_names()}, or leave it empty "
            "to use the model's own template."
        )
    return TEMPLATES[name], name


# -- rendering without transformers (the daemon's submit check) ------------------------------------

RENDER_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, KeyError, IndexError)


def render_problem(where: str, err: Exception) -> str:
    """The sentence for a conversation the template refuses (its own exception, named with the example)."""
    return (
        f"{where}: the chat template cannot render this conversation ({err}); fix the roles "
        "of this example or choose another sft.template."
    )


def _environment() -> Any:
    """A sandboxed jinja2 environment like the one transformers renders chat templates in: the same
    whitespace rules, ``raise_exception``, ``strftime_now``, a ``tojson`` that keeps non-ASCII text,
    and ``{% generation %}`` accepted (it only marks text; here the body is rendered as is)."""
    import datetime
    import json

    from jinja2 import nodes
    from jinja2.exceptions import TemplateError as JinjaError
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body).set_lineno(lineno)

    def raise_exception(message: str) -> None:
        raise JinjaError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
               sort_keys: bool = False) -> str:  # fmt: skip
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    return env


def renderer(template: str) -> Any:
    """``render(messages, tools=None, add_generation_prompt=False, **special) -> str`` for
    ``template``, with jinja2 alone (the same text transformers' ``apply_chat_template`` renders);
    ``ValueError`` when the template does not parse."""
    from jinja2.exceptions import TemplateError as JinjaError

    try:
        compiled = _environment().from_string(template)
    except JinjaError as err:
        raise ValueError(f"the chat template does not parse ({err}); choose another sft.template.") from None

    def render(messages: list[dict[str, Any]], tools: Any = None, add_generation_prompt: bool = False,
               **special: str) -> str:  # fmt: skip
        return compiled.render(
            messages=messages, tools=tools, add_generation_prompt=add_generation_prompt, **special
        )

    return render


def check_renders(template: str, examples: list[Any], special: dict[str, str]) -> None:
    """Render each chat example (``formats.Example``) with ``template`` and its ``special`` tokens
    (``bos_token``, ``eos_token``, ...); ``ValueError`` with :func:`render_problem`'s sentence for the
    first it refuses. Uses jinja2 alone, so the daemon can run it at submit."""
    import json

    from jinja2.exceptions import TemplateError as JinjaError

    render = renderer(template)
    refusals: tuple[type[Exception], ...] = (JinjaError, *RENDER_ERRORS)
    for ex in examples:
        if not ex.messages:  # format "text": no template
            continue
        messages = [{"role": m.role, "content": m.content} for m in ex.messages]
        try:
            render(messages, json.loads(ex.tools) if ex.tools else None, **special)
        except refusals as err:
            raise ValueError(render_problem(ex.where, err)) from None
