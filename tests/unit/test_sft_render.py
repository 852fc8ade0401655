"""The loss mask from the rendered template's character offsets, checked token by token against
transformers' own ``return_assistant_tokens_mask`` and against the families' official templates
(issue 13, "Loss masking")."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from trainer_runtime.sft.formats import Example, FormatError, Message, read_examples
from trainer_runtime.sft.render import IGNORE, encode, render_preview
from trainer_runtime.sft.templates import TEMPLATES

DATA = Path(__file__).resolve().parents[1] / "data" / "sft"
OFFICIAL = {
    "chatml": "teknium-OpenHermes-2.5-Mistral-7B.jinja",
    "llama-3": "meta-llama-Meta-Llama-3-8B-Instruct.jinja",
    "qwen": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "gemma": "google-gemma-2-2b-it.jinja",
    "phi-3": "microsoft-Phi-3.5-mini-instruct.jinja",
    "mistral": "mistralai-mistral-common-v3_spm.jinja",
}
FAMILY = {  # special tokens the family's tokenizer has (bos, eos, then the template's markers)
    "chatml": ("", "<|im_end|>", "<|im_start|>"),
    "qwen": ("", "<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "llama-3": ("<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"),
    "mistral": ("<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]"),
    "gemma": ("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"),
    "phi-3": ("<s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"),
    "alpaca": ("<s>", "</s>"),
}


@cache
def _tokenizer(family: str) -> PreTrainedTokenizerFast:
    """A small byte-level BPE trained on the test data, with the family's special tokens: merges
    span word boundaries as real tokenizers' do, so the mask is tested where it can go wrong."""
    bos, eos, *markers = FAMILY[family]
    specials = [t for t in (bos, eos, *markers) if t]
    corpus = [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.json*"))]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=900, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=bos or None, eos_token=eos)


def _conversation(family: str) -> Example:
    """Line 2 of the OpenAI cookbook file: a system prompt and four user/assistant turns."""
    _, examples = read_examples(DATA / "messages_openai_toy_chat.jsonl")
    ex = examples[1]
    if family == "gemma":  # gemma has no system role (its official template refuses one)
        ex = Example(messages=ex.messages[1:], where=ex.where)
    return ex


def _messages(ex: Example) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in ex.messages]


@pytest.mark.parametrize("family", sorted(FAMILY))
def test_mask_equals_transformers_assistant_tokens_mask(family: str):
    tok, ex = _tokenizer(family), _conversation(family)
    ours = encode(tok, TEMPLATES[family], ex)
    theirs = tok.apply_chat_template(
        _messages(ex),
        chat_template=TEMPLATES[family],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    n = len(theirs["input_ids"])
    assert ours.input_ids[:n] == theirs["input_ids"]
    assert [int(label != IGNORE) for label in ours.labels[:n]] == theirs["assistant_masks"]
    assert sum(theirs["assistant_masks"]) > 4  # four answers, each several tokens
    # Only an eos the template did not write may follow, trained: the answer's stop.
    assert ours.input_ids[n:] in ([], [tok.eos_token_id])
    assert all(label == tok.eos_token_id for label in ours.labels[n:])


@pytest.mark.parametrize("family", sorted(OFFICIAL))
def test_model_template_without_marks_gives_the_same_mask(family: str):
    # A model's own (official) template has no {% generation %}: spans come from rendering prefixes
    # (or, for mistral, which moves the system text to the last user turn, from the answers' text).
    tok, ex = _tokenizer(family), _conversation(family)
    official = (DATA / "templates" / OFFICIAL[family]).read_text(encoding="utf-8")
    assert not re.search(r"\{%-?\s*generation", official)
    assert encode(tok, official, ex) == encode(tok, TEMPLATES[family], ex)


def test_trained_text_is_each_answer_with_its_end_of_turn():
    tok, ex = _tokenizer("qwen"), _conversation("qwen")
    runs = render_preview(tok, TEMPLATES["qwen"], ex)
    trained = [text for text, keep in runs if keep]
    answers = [m.content for m in ex.messages if m.role == "assistant"]
    assert trained == [a + "<|im_end|>" for a in answers]
    text = "".join(t for t, _ in runs)
    assert text == tok.apply_chat_template(_messages(ex), chat_template=TEMPLATES["qwen"], tokenize=False)


def test_loss_on_all_and_last_turn():
    tok, ex = _tokenizer("chatml"), _conversation("chatml")
    every = encode(tok, TEMPLATES["chatml"], ex, loss_on="all")
    assert every.labels == every.input_ids
    last = render_preview(tok, TEMPLATES["chatml"], ex, loss_on="last_turn")
    assert [t for t, keep in last if keep] == ["It's easy to learn!<|im_end|>"]
    completion = encode(tok, TEMPLATES["chatml"], ex, loss_on="completion")
    last_only = encode(tok, TEMPLATES["chatml"], ex, loss_on="last_turn")
    trained = sum(label != IGNORE for label in completion.labels)
    assert 0 < sum(label != IGNORE for label in last_only.labels) < trained < len(completion.labels)


def test_eos_is_added_only_where_the_template_does_not_end_with_it():
    ex = _conversation("llama-3")
    gemma = encode(_tokenizer("gemma"), TEMPLATES["gemma"], _conversation("gemma"))
    assert gemma.input_ids[-1] == _tokenizer("gemma").eos_token_id and gemma.labels[-1] != IGNORE
    llama = encode(_tokenizer("llama-3"), TEMPLATES["llama-3"], ex)  # ends with <|eot_id|>, its eos
    eot = _tokenizer("llama-3").eos_token_id
    assert llama.input_ids[-1] == eot and llama.input_ids.count(eot) == len(
        ex.messages
    )  # one per turn, none added
    phi = encode(_tokenizer("phi-3"), TEMPLATES["phi-3"], ex)  # the template closes with eos itself
    assert phi.input_ids.count(_tokenizer("phi-3").eos_token_id) == 1


def test_truncation_is_counted_and_a_prompt_longer_than_seq_len_is_refused():
    tok, ex = _tokenizer("chatml"), _conversation("chatml")
    full = encode(tok, TEMPLATES["chatml"], ex)
    cut = encode(tok, TEMPLATES["chatml"], ex, seq_len=len(full.input_ids) - 5)
    assert cut.truncated and cut.length_before_truncation == len(full.input_ids)
    assert cut.input_ids == full.input_ids[:-5] and cut.labels == full.labels[:-5]
    assert not full.truncated and full.length_before_truncation == len(full.input_ids)
    first = next(i for i, label in enumerate(full.labels) if label != IGNORE)
    with pytest.raises(FormatError) as err:
        encode(tok, TEMPLATES["chatml"], ex, seq_len=first)
    assert str(err.value) == (
        f"line 2 of messages_openai_toy_chat.jsonl: the prompt before the first answer is {first} tokens, so "
        f"with seq_len {first} no answer token is left to train on; raise seq_len above {first} or shorten this example."
    )


def test_roles_the_template_cannot_render_name_the_example():
    _, examples = read_examples(DATA / "messages_openai_toy_chat.jsonl")
    with pytest.raises(FormatError) as err:
        encode(_tokenizer("gemma"), TEMPLATES["gemma"], examples[0])
    assert str(err.value) == (
        "line 1 of messages_openai_toy_chat.jsonl: the chat template cannot render this conversation (System "
        "role not supported); fix the roles of this example or choose another sft.template."
    )


def test_text_format_trains_every_token_and_ends_with_eos():
    tok = _tokenizer("alpaca")
    _, examples = read_examples(DATA / "text_c4_demo.jsonl", limit=1)
    enc = encode(tok, "", examples[0])
    assert enc.labels == enc.input_ids and enc.input_ids[-1] == tok.eos_token_id


@pytest.mark.parametrize(
    ("file", "family"),
    [
        ("alpaca_identity.json", "alpaca"),
        ("sharegpt_fastchat_dummy.json", "llama-3"),
        ("sharegpt_glaive_toolcall.json", "qwen"),
        ("messages_openai_toy_chat.jsonl", "phi-3"),
        ("prompt_completion_mlx_wwdc25.jsonl", "mistral"),
    ],
)
def test_real_files_encode_with_answers_trained_and_prompts_masked(file: str, family: str):
    tok = _tokenizer(family)
    _, examples = read_examples(DATA / file)
    for ex in examples:
        enc = encode(tok, TEMPLATES[family], ex)
        trained = sum(label != IGNORE for label in enc.labels)
        assert 0 < trained < len(enc.labels), ex.where
    if file.startswith("sharegpt_glaive"):
        text = "".join(t for t, _ in render_preview(tok, TEMPLATES[family], examples[0]))
        assert json.loads(examples[0].tools or "")[0]["function"]["name"] in text


def test_preview_runs_cover_the_whole_text_in_order():
    tok = _tokenizer("gemma")
    ex = Example(
        messages=(Message("user", "Hi"), Message("assistant", "Hello there")), where="example 1 of t.json"
    )
    runs = render_preview(tok, TEMPLATES["gemma"], ex)
    assert runs == [
        ("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", False),
        ("Hello there<end_of_turn>", True),
        ("\n", False),
        ("<eos>", True),
    ]
