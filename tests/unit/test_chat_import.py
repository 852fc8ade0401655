"""Chat and instruction files import as modality ``chat`` with their format shown; COCO files stay
COCO. The files are real ones from public repositories (``tests/data/sft/SOURCE.md``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests import dataset_fixtures as fx
from trainer_runtime.datasets.errors import DatasetError
from trainer_runtime.sft.formats import read_examples
from trainer_runtime.worker.sft_preview import histogram

DATA = Path(__file__).resolve().parents[1] / "data" / "sft"

REAL = [
    ("alpaca_identity.json", "alpaca", 25, ["instruction", "input", "output"]),
    ("sharegpt_fastchat_dummy.json", "sharegpt", 20, ["id", "conversations"]),
    ("sharegpt_glaive_toolcall.json", "sharegpt", 8, ["conversations", "tools"]),
    ("messages_openai_toy_chat.jsonl", "messages", 4, ["messages"]),
    ("prompt_completion_mlx_wwdc25.jsonl", "prompt-completion", 20, ["prompt", "completion"]),
]


@pytest.mark.parametrize(("name", "chat_format", "examples", "fields"), REAL)
def test_real_chat_files_preview_and_import_as_chat_with_their_format(
    svc, name, chat_format, examples, fields
):
    src = DATA / name
    pv = svc.preview(src)
    assert (pv["format"], pv["modality"], pv["items"]) == ("chat", "chat", examples)
    assert pv["meta"]["chat_format"] == chat_format and pv["meta"]["fields"] == fields
    assert pv["samples"] and all(isinstance(v, (str, int, float, bool, type(None)))
                                 for s in pv["samples"] for v in s.values())  # fmt: skip
    v = svc.import_(src, "chat")
    assert (v.meta["format"], v.meta["modality"], v.meta["chat_format"]) == ("chat", "chat", chat_format)
    # the sft recipe's jobs get the file as it is (materialize "files"): the SFT reader reads it
    _, path = svc.materialize_files("chat")
    fmt, got = read_examples(path)
    assert fmt == chat_format and len(got) == examples


def test_a_text_jsonl_stays_a_text_dataset(svc):
    pv = svc.preview(DATA / "text_c4_demo.jsonl")
    assert (pv["format"], pv["modality"], pv["meta"].get("text_field")) == ("jsonl", "text", "text")


def test_a_coco_file_is_still_coco_and_a_chat_json_no_longer_is(svc, tmp_path):
    coco = fx.coco(tmp_path / "coco")
    assert svc.preview(coco)["format"] == "coco"
    lone = next((coco).glob("*.json"), None) or next(coco.rglob("*.json"))
    with pytest.raises(
        DatasetError, match="COCO"
    ):  # a lone COCO file is read as COCO (and says what it lacks)
        svc.preview(lone)
    chat = shutil.copy(DATA / "alpaca_identity.json", tmp_path / "data.json")
    assert svc.preview(Path(chat))["format"] == "chat"


def test_a_chat_object_holding_one_list_is_chat(svc, tmp_path):
    rows = json.loads((DATA / "alpaca_identity.json").read_text())[:3]
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"train": rows}))
    pv = svc.preview(path)
    assert (pv["format"], pv["items"], pv["meta"]["chat_format"]) == ("chat", 3, "alpaca")


def test_a_folder_of_chat_files_imports_as_one_dataset(svc, tmp_path):
    folder = tmp_path / "chats"
    folder.mkdir()
    rows = json.loads((DATA / "alpaca_identity.json").read_text())
    (folder / "a.json").write_text(json.dumps(rows[:10]))
    (folder / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[10:]))
    pv = svc.preview(folder)
    assert (pv["format"], pv["files"], pv["items"], pv["meta"]["chat_format"]) == ("chat", 2, 25, "alpaca")


def test_files_of_two_chat_formats_are_refused_naming_both(svc, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(DATA / "alpaca_identity.json", folder / "a.json")
    shutil.copy(DATA / "sharegpt_fastchat_dummy.json", folder / "s.json")
    with pytest.raises(DatasetError, match=r"'a.json' is alpaca, 's.json' is sharegpt"):
        svc.preview(folder)


def test_a_broken_example_is_refused_with_the_readers_sentence(svc, tmp_path):
    rows = json.loads((DATA / "alpaca_identity.json").read_text())[:4]
    rows[2]["output"] = ""
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(DatasetError, match=r"broken.json.*example 3") as err:
        svc.preview(path)
    assert "output" in str(err.value)


def test_mixed_shapes_in_one_jsonl_are_refused(svc, tmp_path):
    alpaca = json.loads((DATA / "alpaca_identity.json").read_text())[:3]
    lines = [json.dumps(r) for r in alpaca] + [json.dumps({"prompt": "2+2?", "completion": "4"})]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="mixed.jsonl"):
        svc.preview(path, fmt="chat")


def test_histogram_has_an_edge_at_seq_len_and_counts_every_length():
    bins = histogram([3, 10, 64, 65, 200], 64)
    assert any(b["end"] == 65 for b in bins) and bins[0]["start"] == 1
    assert sum(b["count"] for b in bins) == 5
    over = sum(b["count"] for b in bins if b["start"] > 64)
    assert over == 2  # 64 tokens fit a 64-token row; 65 and 200 are cut
    assert bins[-1]["end"] > 200 and len(bins) <= 48
    assert len(histogram(list(range(1, 100_000, 97)), 64)) <= 48
