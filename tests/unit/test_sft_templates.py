"""Our named chat templates render exactly what each family's official template renders, through
transformers' own renderer, and refuse what the official one refuses (issue 13, "Templates")."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

from trainer_runtime.sft.templates import TEMPLATES, TemplateError, resolve

OFFICIAL = Path(__file__).resolve().parents[1] / "data" / "sft" / "templates"
REFERENCE = {
    "chatml": "teknium-OpenHermes-2.5-Mistral-7B.jinja",
    "llama-3": "meta-llama-Meta-Llama-3-8B-Instruct.jinja",
    "qwen": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "gemma": "google-gemma-2-2b-it.jinja",
    "phi-3": "microsoft-Phi-3.5-mini-instruct.jinja",
    "mistral": "mistralai-mistral-common-v3_spm.jinja",
}
SPECIAL = {  # each family's real bos/eos strings, which the templates print
    "chatml": {"eos_token": "<|im_end|>"},
    "qwen": {"eos_token": "<|im_end|>"},
    "llama-3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "gemma": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "phi-3": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "mistral": {"bos_token": "<s>", "eos_token": "</s>"},
    "alpaca": {"eos_token": "</s>"},
}
SYSTEM = {"role": "system", "content": "You are a terse assistant."}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def _u(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _a(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


CONVERSATIONS = {
    "single turn": [_u("What is 2+2?"), _a("4")],
    "system and multi-turn": [SYSTEM, _u(" Hi there "), _a(" Hello! "), _u("Name a colour."), _a("Blue.")],
    "open question (generation prompt)": [_u("Tell me a joke."), _a("No."), _u("Please?")],
    "system only before the question": [SYSTEM, _u("Where is Oslo?")],
    "tool result": [
        _u("Weather in Oslo?"),
        _a('{"name": "get_weather"}'),
        {"role": "tool", "content": "12 C"},
        _a("12 C."),
    ],
    "two users in a row": [_u("First."), _u("Second."), _a("Both read.")],
}


def _tokenizer(family: str) -> PreTrainedTokenizerFast:
    # Rendering only reads the special tokens' strings; the vocabulary does not matter here.
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")), **SPECIAL[family]
    )


def _render(
    tok: PreTrainedTokenizerFast, template: str, conversation: list[dict], prompt: bool, tools: list | None
) -> str:
    try:
        return str(
            tok.apply_chat_template(
                conversation,
                tools=tools,
                chat_template=template,
                tokenize=False,
                add_generation_prompt=prompt,
            )
        )
    except (
        jinja2.TemplateError,
        ValueError,
        TypeError,
    ) as err:  # the official template's refusal is part of what ours must match
        return f"refused: {type(err).__name__}"


@pytest.mark.parametrize("family", sorted(REFERENCE))
def test_named_template_renders_the_official_text(family: str):
    official = (OFFICIAL / REFERENCE[family]).read_text(encoding="utf-8")
    tok = _tokenizer(family)
    compared = refused = 0
    for name, conversation in CONVERSATIONS.items():
        for prompt in (False, True):
            for tools in (None, TOOLS):
                theirs = _render(tok, official, conversation, prompt, tools)
                ours = _render(tok, TEMPLATES[family], conversation, prompt, tools)
                assert ours == theirs, f"{family}, {name}, generation prompt {prompt}, tools {bool(tools)}"
                compared += 1
                refused += theirs.startswith("refused")
    assert compared - refused >= 8  # conversations are rendered and compared, not only refused alike


def test_the_comparison_can_fail():
    tok = _tokenizer("chatml")
    assert _render(tok, TEMPLATES["chatml"], CONVERSATIONS["single turn"], False, None) != _render(
        tok, TEMPLATES["qwen"], CONVERSATIONS["single turn"], False, None
    )


def test_refusals_match_the_official_ones():
    gemma, mistral = _tokenizer("gemma"), _tokenizer("mistral")
    with pytest.raises(Exception, match="System role not supported"):
        gemma.apply_chat_template(
            [SYSTEM, _u("hi"), _a("yo")], chat_template=TEMPLATES["gemma"], tokenize=False
        )
    with pytest.raises(Exception, match="Conversation roles must alternate"):
        gemma.apply_chat_template(
            [_u("hi"), _u("again"), _a("yo")], chat_template=TEMPLATES["gemma"], tokenize=False
        )
    with pytest.raises(Exception, match="Conversation must start with a user message, got assistant"):
        mistral.apply_chat_template(
            [SYSTEM, _a("yo"), _u("hi")], chat_template=TEMPLATES["mistral"], tokenize=False
        )


def test_alpaca_matches_stanford_training_prompt():
    prompt = (OFFICIAL / "tatsu-lab-stanford_alpaca-prompt_no_input.txt").read_text(encoding="utf-8")
    tok = _tokenizer("alpaca")
    text = tok.apply_chat_template(
        [_u("Give three tips."), _a("Sleep, eat, move.")], chat_template=TEMPLATES["alpaca"], tokenize=False
    )
    # Stanford's train.py joins source and target: prompt_no_input, then the output, then eos.
    assert text == prompt.format(instruction="Give three tips.") + "Sleep, eat, move." + "</s>"
    multi = tok.apply_chat_template(
        [_u("a"), _a("b"), _u("c"), _a("d")], chat_template=TEMPLATES["alpaca"], tokenize=False
    )
    assert (
        multi.endswith("### Instruction:\nc\n\n### Response:d</s>") and "b</s>\n\n### Instruction:" in multi
    )


def test_every_named_template_marks_assistant_text_for_the_mask():
    for name, template in TEMPLATES.items():
        assert "{%- generation %}" in template and "{%- endgeneration %}" in template, name
    tok = _tokenizer("chatml")
    out = tok.apply_chat_template(
        [_u("hi"), _a("hello")],
        chat_template=TEMPLATES["chatml"],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    assert sum(out["assistant_masks"]) > 0


def test_resolve_uses_the_model_template_or_the_named_one():
    tok = _tokenizer("chatml")
    with pytest.raises(TemplateError) as err:
        resolve(tok, None)
    assert str(err.value) == (
        "The model's tokenizer has no chat_template, so it does not say how to format a conversation; set "
        "sft.template to one of chatml, llama-3, mistral, gemma, phi-3, qwen, alpaca (the one of the model's family)."
    )
    tok.chat_template = "{{ messages[0]['content'] }}"
    assert resolve(tok, None) == ("{{ messages[0]['content'] }}", "model")
    assert resolve(tok, "qwen") == (TEMPLATES["qwen"], "qwen")
    with pytest.raises(TemplateError) as err:
        resolve(tok, "llama-2")
    assert str(err.value) == (
        "sft.template 'llama-2' does not exist; choose one of chatml, llama-3, mistral, gemma, phi-3, qwen, "
        "alpaca, or leave it empty to use the model's own template."
    )


def test_qwen_renders_tools_from_a_sharegpt_file():
    from trainer_runtime.sft.formats import read_examples

    _, examples = read_examples(OFFICIAL.parent / "sharegpt_glaive_toolcall.json", limit=1)
    ex = examples[0]
    msgs = [{"role": m.role, "content": m.content} for m in ex.messages]
    tok = _tokenizer("qwen")
    tools = json.loads(ex.tools or "")
    ours = tok.apply_chat_template(msgs, tools=tools, chat_template=TEMPLATES["qwen"], tokenize=False)
    theirs = tok.apply_chat_template(
        msgs, tools=tools, chat_template=(OFFICIAL / REFERENCE["qwen"]).read_text(), tokenize=False
    )
    assert ours == theirs and '"name": "search_recipes"' in ours and "<tool_response>" in ours


def _model_templates() -> dict[str, str]:
    found = {}
    for config in sorted((OFFICIAL.parents[1] / "models").glob("*/tokenizer_config.json")):
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        if isinstance(template, str):
            found[f"model {config.parent.name}"] = template
    return found


def test_the_daemons_renderer_renders_and_refuses_what_transformers_does():
    """The submit check renders with jinja2 alone (the daemon has no transformers): for every named,
    official and model template, each conversation gives transformers' text, or a refusal where it refuses."""
    from trainer_runtime.sft.templates import renderer

    templates = {
        **{f"named {k}": (v, k) for k, v in TEMPLATES.items()},
        **{f"official {k}": ((OFFICIAL / f).read_text(encoding="utf-8"), k) for k, f in REFERENCE.items()},
        **{k: (v, "llama-3" if "llama" in k else "chatml") for k, v in _model_templates().items()},
    }
    assert len(templates) >= len(TEMPLATES) + len(REFERENCE) + 5
    compared = refused = 0
    for label, (template, family) in templates.items():
        tok, render = _tokenizer(family), renderer(template)
        for name, conversation in CONVERSATIONS.items():
            for prompt in (False, True):
                for tools in (None, TOOLS):
                    theirs = _render(tok, template, conversation, prompt, tools)
                    try:
                        ours = render(conversation, tools, prompt, **SPECIAL[family])
                    except (jinja2.TemplateError, ValueError, TypeError) as err:
                        ours = f"refused: {type(err).__name__}"
                    if theirs.startswith("refused"):
                        assert ours.startswith("refused"), (
                            f"{label}, {name}: transformers refuses, ours renders"
                        )
                        refused += 1
                    else:
                        assert ours == theirs, (
                            f"{label}, {name}, generation prompt {prompt}, tools {bool(tools)}"
                        )
                        compared += 1
    assert compared > 100 and refused > 0


def test_the_submit_check_names_the_example_a_template_refuses(tmp_path: Path):
    from trainer_runtime.sft.formats import read_examples
    from trainer_runtime.sft.templates import check_renders

    path = tmp_path / "chats.jsonl"
    rows = [[_u("hi"), _a("yo")], [SYSTEM, _u("hi"), _a("yo")]]
    path.write_text("\n".join(json.dumps({"messages": r}) for r in rows), encoding="utf-8")
    _, examples = read_examples(path)
    check_renders(TEMPLATES["chatml"], examples, SPECIAL["chatml"])  # chatml takes a system turn
    with pytest.raises(ValueError) as err:
        check_renders(TEMPLATES["gemma"], examples, SPECIAL["gemma"])
    assert str(err.value) == (
        "line 2 of chats.jsonl: the chat template cannot render this conversation (System role not "
        "supported); fix the roles of this example or choose another sft.template."
    )
