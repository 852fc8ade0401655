"""SFT file formats read from real files of public projects, and every bad input answered with a
sentence naming the line or example and the field (issue 13, "Bad input gets a clear answer")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trainer_runtime.sft.formats import (
    FormatError,
    Message,
    detect_format,
    read_examples,
    summarize,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sft"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- real files ---------------------------------------------------------------------------------------


def test_alpaca_file_from_llama_factory_becomes_one_question_and_answer_each():
    fmt, examples = read_examples(DATA / "alpaca_identity.json")
    assert fmt == "alpaca" and len(examples) == 25
    first = examples[0]
    assert first.messages == (
        Message("user", "hi"),
        Message(
            "assistant",
            "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?",
        ),
    )
    assert first.where == "example 1 of alpaca_identity.json"


def test_sharegpt_without_tools_maps_human_and_gpt(tmp_path: Path):
    fmt, examples = read_examples(DATA / "sharegpt_fastchat_dummy.json")
    assert fmt == "sharegpt" and len(examples) == 20
    assert [m.role for m in examples[0].messages] == ["user", "assistant", "user", "assistant"]
    assert examples[0].messages[1].content.startswith("I am Vicuna")
    assert all(e.tools is None for e in examples)


def test_sharegpt_with_tools_keeps_the_tools_and_maps_function_call_and_observation():
    fmt, examples = read_examples(DATA / "sharegpt_glaive_toolcall.json")
    assert fmt == "sharegpt"
    first = examples[0]
    roles = [m.role for m in first.messages]
    assert roles[:6] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    call = json.loads(first.messages[3].content)  # the function_call turn, trained as the assistant's
    assert call["name"] == "search_recipes"
    tools = json.loads(first.tools or "")
    assert tools[0]["type"] == "function" and tools[0]["function"]["name"] == "search_recipes"


def test_openai_messages_from_the_cookbook_keep_system_and_every_turn():
    fmt, examples = read_examples(DATA / "messages_openai_toy_chat.jsonl")
    assert fmt == "messages" and len(examples) == 4
    assert [m.role for m in examples[1].messages] == ["system"] + ["user", "assistant"] * 4
    assert examples[1].where == "line 2 of messages_openai_toy_chat.jsonl"


def test_prompt_completion_pairs_from_mlx_examples():
    fmt, examples = read_examples(DATA / "prompt_completion_mlx_wwdc25.jsonl")
    assert fmt == "prompt-completion" and len(examples) == 20
    assert examples[0].messages[0] == Message("user", "How many yards did Patrick Mahomes throw for?")
    assert examples[0].messages[1].role == "assistant"


def test_text_jsonl_and_txt_documents(tmp_path: Path):
    fmt, examples = read_examples(DATA / "text_c4_demo.jsonl")
    assert fmt == "text" and len(examples) == 10 and examples[0].messages == () and examples[0].text
    doc = tmp_path / "notes.txt"
    doc.write_text("First document,\nstill first.\n\n\n  \nSecond one.\n", encoding="utf-8")
    fmt, examples = read_examples(doc)
    assert fmt == "text"
    assert [e.text for e in examples] == ["First document,\nstill first.", "Second one.\n"]
    assert examples[1].where == "document 2 (line 6) of notes.txt"


def test_summarize_names_format_count_and_fields():
    s = summarize(DATA / "sharegpt_glaive_toolcall.json")
    assert (s.format, s.examples, s.fields, s.problem) == ("sharegpt", 8, ("conversations", "tools"), None)


def test_limit_reads_only_the_first_rows():
    _, examples = read_examples(DATA / "prompt_completion_mlx_wwdc25.jsonl", limit=3)
    assert len(examples) == 3


# -- shapes the reader completes ----------------------------------------------------------------------


def test_alpaca_with_system_history_and_input(tmp_path: Path):
    row = {
        "instruction": "Translate.",
        "input": "Bonjour",
        "output": "Hello",
        "system": "You translate French.",
        "history": [["Who are you?", "A translator."]],
    }
    _, [ex] = read_examples(_jsonl(tmp_path / "a.jsonl", [row]))
    assert ex.messages == (
        Message("system", "You translate French."),
        Message("user", "Who are you?"),
        Message("assistant", "A translator."),
        Message("user", "Translate.\n\nBonjour"),
        Message("assistant", "Hello"),
    )


def test_openai_typed_text_parts_and_tool_calls(tmp_path: Path):
    row = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Take "}, {"type": "text", "text": "off."}],
            },
            {
                "role": "assistant",
                "tool_calls": [
                    {"type": "function", "function": {"name": "takeoff", "arguments": '{"altitude": 100}'}}
                ],
            },
            {"role": "tool", "content": "ok"},
            {"role": "assistant", "content": "Airborne."},
        ],
        "tools": [{"type": "function", "function": {"name": "takeoff", "parameters": {"type": "object"}}}],
    }
    _, [ex] = read_examples(_jsonl(tmp_path / "m.jsonl", [row]))
    assert ex.messages[0] == Message("user", "Take off.")
    assert json.loads(ex.messages[1].content) == {"name": "takeoff", "arguments": {"altitude": 100}}
    assert [m.role for m in ex.messages] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(ex.tools or "")[0]["function"]["name"] == "takeoff"


def test_columns_map_other_field_names(tmp_path: Path):
    rows = [{"question": "2+2?", "answer": "4"}]
    path = _jsonl(tmp_path / "qa.jsonl", rows)
    fmt, [ex] = read_examples(
        path, format="prompt-completion", columns={"prompt": "question", "completion": "answer"}
    )
    assert fmt == "prompt-completion" and ex.messages == (Message("user", "2+2?"), Message("assistant", "4"))
    sharegpt = [{"dialog": [{"speaker": "human", "text": "hi"}, {"speaker": "gpt", "text": "hello"}]}]
    path = _jsonl(tmp_path / "s.jsonl", sharegpt)
    _, [ex] = read_examples(
        path, format="sharegpt", columns={"conversations": "dialog", "from": "speaker", "value": "text"}
    )
    assert ex.messages == (Message("user", "hi"), Message("assistant", "hello"))


def test_sharegpt_shaped_turns_under_messages_are_detected(tmp_path: Path):
    row = {"messages": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    fmt, [ex] = read_examples(_jsonl(tmp_path / "x.jsonl", [row]))
    assert fmt == "sharegpt" and ex.messages[1] == Message("assistant", "hello")


def test_json_object_holding_one_list_of_rows(tmp_path: Path):
    path = tmp_path / "wrapped.json"
    path.write_text(
        json.dumps({"data": [{"prompt": "a", "completion": "b"}], "version": 1}), encoding="utf-8"
    )
    assert read_examples(path)[0] == "prompt-completion"


def test_formats_module_imports_neither_torch_nor_transformers():
    code = (
        "import sys, trainer_runtime.sft, trainer_runtime.sft.formats, trainer_runtime.sft.templates;"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- bad input: each message names the line/example and the field --------------------------------------


def test_mixed_formats_in_one_file(tmp_path: Path):
    rows = [
        {"instruction": "a", "output": "b"},
        {"instruction": "c", "output": "d"},
        {"prompt": "e", "completion": "f"},
    ]
    with pytest.raises(FormatError) as err:
        read_examples(_jsonl(tmp_path / "mixed.jsonl", rows))
    assert str(err.value) == (
        "line 3 of mixed.jsonl is prompt-completion (fields 'prompt', 'completion') but line 1 of mixed.jsonl "
        "is alpaca; one file holds one format, so split it or fix that row."
    )


def test_conversation_without_an_assistant_turn(tmp_path: Path):
    rows = [{"messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hi"}]}]
    with pytest.raises(FormatError) as err:
        read_examples(_jsonl(tmp_path / "chat.jsonl", rows))
    assert str(err.value) == (
        "line 1 of chat.jsonl has no assistant turn (roles found: system, user); an SFT example needs an "
        "answer to learn from."
    )


def test_empty_content_names_the_turn(tmp_path: Path):
    rows = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "  "}]}]
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(FormatError) as err:
        read_examples(path)
    assert str(err.value) == (
        "example 1 of empty.json: field conversations[2].value is empty; every turn needs text "
        "(remove the row or fill it)."
    )


def test_empty_alpaca_output(tmp_path: Path):
    with pytest.raises(FormatError, match=r"^line 2 of a\.jsonl: field output is empty"):
        read_examples(
            _jsonl(
                tmp_path / "a.jsonl",
                [{"instruction": "a", "output": "b"}, {"instruction": "c", "output": ""}],
            )
        )


def test_non_utf8_line_is_named(tmp_path: Path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"prompt": "a", "completion": "b"}\n{"prompt": "caf\xe9", "completion": "b"}\n')
    with pytest.raises(FormatError) as err:
        read_examples(path)
    assert (
        str(err.value)
        == "line 2 of latin1.jsonl is not valid UTF-8 (byte 0xe9 at column 16); save the file as UTF-8."
    )
    js = tmp_path / "latin1.json"
    js.write_bytes(b'[\n{"prompt": "a", "completion": "b"},\n{"prompt": "caf\xe9", "completion": "b"}]')
    with pytest.raises(
        FormatError, match=r"^line 3 of latin1\.json is not valid UTF-8 \(byte 0xe9 at column 16\)"
    ):
        read_examples(js)


def test_unknown_role_lists_the_roles(tmp_path: Path):
    rows = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "bot", "value": "yo"}]}]
    with pytest.raises(FormatError) as err:
        read_examples(_jsonl(tmp_path / "r.jsonl", rows))
    assert str(err.value) == (
        "line 1 of r.jsonl: turn 2 of conversations has role 'bot'; roles are human, user, gpt, assistant, "
        "system, function_call, observation, tool."
    )


def test_mapping_naming_a_field_that_is_not_there(tmp_path: Path):
    path = _jsonl(tmp_path / "qa.jsonl", [{"question": "a", "reply": "b"}])
    with pytest.raises(FormatError) as err:
        read_examples(
            path, format="prompt-completion", columns={"prompt": "question", "completion": "answer"}
        )
    assert str(err.value) == (
        "dataset.columns maps 'completion' to 'answer', but line 1 of qa.jsonl has no field 'answer' "
        "(fields found: 'question', 'reply'); set dataset.columns: {completion: <your field>}."
    )


def test_mapping_naming_a_key_the_format_does_not_have(tmp_path: Path):
    path = _jsonl(tmp_path / "qa.jsonl", [{"prompt": "a", "completion": "b"}])
    with pytest.raises(
        FormatError,
        match=r"^dataset\.columns names 'answer', which format prompt-completion does not have; its keys are prompt, completion, system\.$",
    ):
        read_examples(path, format="prompt-completion", columns={"answer": "completion"})


def test_ambiguous_or_unknown_shape_names_the_fields_and_what_to_set(tmp_path: Path):
    with pytest.raises(FormatError) as err:
        read_examples(_jsonl(tmp_path / "dpo.jsonl", [{"prompt": "p", "chosen": "c", "rejected": "r"}]))
    msg = str(err.value)
    assert msg.startswith(
        "line 1 of dpo.jsonl has fields 'prompt', 'chosen', 'rejected', which match no format"
    )
    assert "set dataset.format and map your fields with dataset.columns" in msg
    both = {"instruction": "a", "output": "b", "prompt": "c", "completion": "d"}
    with pytest.raises(
        FormatError, match=r"^example 1 of rows fits more than one format \(alpaca and prompt-completion;"
    ):
        detect_format([both], "rows")


def test_typed_image_part_is_refused(tmp_path: Path):
    row = {
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            {"role": "assistant", "content": "a cat"},
        ]
    }
    with pytest.raises(FormatError) as err:
        read_examples(_jsonl(tmp_path / "img.jsonl", [row]))
    assert str(err.value).startswith(
        "line 1 of img.jsonl: part 1 of messages[1].content is of type 'image_url'; only text parts"
    )


def test_invalid_json_line_and_unknown_format_name(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"prompt": "a", "completion": "b"}\n{"prompt": "a" "completion": "b"}\n', encoding="utf-8"
    )
    with pytest.raises(
        FormatError,
        match=r"^line 2 of bad\.jsonl is not valid JSON \(Expecting ',' delimiter at column 16\)\.$",
    ):
        read_examples(path)
    with pytest.raises(
        FormatError, match=r"^dataset\.format 'chatml' is not one we read; choose one of alpaca, sharegpt"
    ):
        read_examples(path, format="chatml")


def test_summarize_reports_the_problem_instead_of_raising(tmp_path: Path):
    rows = [{"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": ""}]
    s = summarize(_jsonl(tmp_path / "pc.jsonl", rows))
    assert s.format == "prompt-completion" and s.examples == 2 and s.fields == ("prompt", "completion")
    assert (
        s.problem
        == "line 2 of pc.jsonl: field completion is empty; every turn needs text (remove the row or fill it)."
    )
