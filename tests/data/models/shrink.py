"""Shrink the real tokenizers of tests/data/models/<family>/ to a few thousand entries.

Re-runnable: ``python tests/data/models/shrink.py SOURCE_ROOT [FAMILY ...]`` where
``SOURCE_ROOT/<family>/`` holds the original files named in that family's SOURCE.md (as they are in
the public repositories). Every output is written to ``tests/data/models/<family>/``.

The rules, the same for every family, so a shrunk tokenizer behaves like the real one on the
text it still covers:

- the pre-tokenizer, normalizer, decoder, post-processor and BPE options are the real file's;
- the regular vocabulary keeps the first ``KEEP[family]`` ids (BPE vocabularies are ordered by
  merge rank, so these are the most frequent pieces, and they include every byte / byte-fallback
  token), plus, for sentencepiece vocabularies, the word-start mark "▁" and the single ASCII
  letters ranked later (numbered right after the kept range); a merge is kept only when its two
  parts and its result are all kept;
- special and added tokens are all kept, with their flags: those whose real id is inside the kept
  range keep it, the others are renumbered in their original order right after the kept range
  (``tokenizer_config.json``'s ``added_tokens_decoder`` is renumbered the same way);
- config.json and tokenizer_config.json are otherwise copied as they are (chat templates intact).
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEEP = {"llama-3": 2000, "qwen2.5": 2000, "mistral": 3000, "phi-3": 2000, "gemma-2": 2000, "bert": 3000}


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(data, path: Path) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _remap(ids: list[int], keep: int, start: int | None = None) -> dict[int, int]:
    """Old id → new id for special/added tokens: kept ids stay, the rest follow ``start`` (default
    ``keep``) in order."""
    out, nxt = {}, keep if start is None else start
    for old in sorted(ids):
        if old < keep:
            out[old] = old
        else:
            out[old] = nxt
            nxt += 1
    return out


def _word_start(vocab: dict[str, int], keep: int) -> list[tuple[str, int]]:
    """Sentencepiece vocabularies rank the bare word-start mark "▁" and some single letters late
    (Llama-2's "▁" is id 29871): without them every word would fall back to bytes. They are kept
    too, numbered right after the kept range, in their original order."""
    return [(p, i) for p, i in vocab.items() if i >= keep and len(p) == 1 and (p == "▁" or p.isascii())]


def _split_merge(m) -> tuple[str, str]:
    if isinstance(m, str):
        a, b = m.split(" ", 1)
        return a, b
    return m[0], m[1]


def _kept_merges(merges, vocab: dict[str, int]) -> list[str]:
    out = []
    for m in merges:
        a, b = _split_merge(m)
        if a in vocab and b in vocab and a + b in vocab:
            out.append(f"{a} {b}")
    return out


def _tokenizer_config(src: Path, mapping: dict[int, int], extra: dict | None = None) -> dict:
    cfg = _load(src)
    decoder = cfg.get("added_tokens_decoder") or {}
    cfg["added_tokens_decoder"] = {str(mapping[int(k)]): v for k, v in decoder.items()}
    cfg.pop("tokenizer_file", None)  # a path on the publisher's machine
    cfg.update(extra or {})
    return cfg


def _shrink_tokenizer_json(data: dict, keep: int) -> tuple[dict, dict[int, int]]:
    """A sentencepiece-style BPE tokenizer.json (Llama-2 / Mistral / Phi-3 layout)."""
    model = data["model"]
    vocab = {piece: i for piece, i in model["vocab"].items() if i < keep}
    for piece, _ in sorted(_word_start(model["vocab"], keep), key=lambda kv: kv[1]):
        vocab[piece] = len(vocab)
    mapping = _remap([t["id"] for t in data["added_tokens"]], keep, len(vocab))
    for tok in data["added_tokens"]:
        tok["id"] = mapping[tok["id"]]
    model["vocab"] = vocab
    model["merges"] = _kept_merges(model["merges"], vocab)
    _fix_post_processor(data.get("post_processor"), mapping)
    return data, mapping


def _fix_post_processor(proc, mapping: dict[int, int]) -> None:
    if not proc:
        return
    for sub in proc.get("processors", []):
        _fix_post_processor(sub, mapping)
    for spec in (proc.get("special_tokens") or {}).values():
        spec["ids"] = [mapping.get(i, i) for i in spec["ids"]]


def sentencepiece_family(family: str, src: Path, dst: Path) -> None:
    data, mapping = _shrink_tokenizer_json(_load(src / "tokenizer.json"), KEEP[family])
    _dump(data, dst / "tokenizer.json")
    _dump(_tokenizer_config(src / "tokenizer_config.json", mapping), dst / "tokenizer_config.json")
    shutil.copy(src / "config.json", dst / "config.json")


def qwen(src: Path, dst: Path) -> None:
    keep = KEEP["qwen2.5"]
    vocab = {piece: i for piece, i in _load(src / "vocab.json").items() if i < keep}
    lines = src.joinpath("merges.txt").read_text(encoding="utf-8").splitlines()
    header = [x for x in lines[:1] if x.startswith("#")]
    merges = _kept_merges([x for x in lines if x and not x.startswith("#")], vocab)
    _dump(vocab, dst / "vocab.json")
    (dst / "merges.txt").write_text("\n".join(header + merges) + "\n", encoding="utf-8")
    cfg = _load(src / "tokenizer_config.json")
    mapping = _remap([int(k) for k in cfg["added_tokens_decoder"]], keep)
    _dump(_tokenizer_config(src / "tokenizer_config.json", mapping), dst / "tokenizer_config.json")
    shutil.copy(src / "config.json", dst / "config.json")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table (byte-level BPE's alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def llama3(src: Path, dst: Path) -> None:
    """Meta's tiktoken file (base64 token, rank per line) → a byte-level BPE tokenizer.json laid out
    as meta-llama's own tokenizer.json (Split on Llama-3's regex + ByteLevel, ignore_merges, BOS
    added by a TemplateProcessing post-processor)."""
    keep = KEEP["llama-3"]
    ranks: dict[bytes, int] = {}
    for line in src.joinpath("tokenizer.model").read_text(encoding="utf-8").splitlines():
        if line:
            tok, rank = line.split()
            if int(rank) < keep:
                ranks[base64.b64decode(tok)] = int(rank)
    enc = _bytes_to_unicode()

    def s(b: bytes) -> str:
        return "".join(enc[x] for x in b)

    vocab = {s(t): r for t, r in ranks.items()}
    merges = []
    for tok, _rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        pairs = [(tok[:i], tok[i:]) for i in range(1, len(tok)) if tok[:i] in ranks and tok[i:] in ranks]
        pairs.sort(key=lambda p: (ranks[p[0]], ranks[p[1]]))
        merges += [f"{s(a)} {s(b)}" for a, b in pairs]
    cfg = _load(src / "tokenizer_config.json")
    mapping = _remap([int(k) for k in cfg["added_tokens_decoder"]], keep)
    added = [
        {"id": mapping[int(k)], "content": v["content"], "single_word": v["single_word"],
         "lstrip": v["lstrip"], "rstrip": v["rstrip"], "normalized": v["normalized"], "special": v["special"]}
        for k, v in sorted(cfg["added_tokens_decoder"].items(), key=lambda kv: int(kv[0]))
    ]  # fmt: skip
    bos = next(t for t in added if t["content"] == "<|begin_of_text|>")
    data = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": {
            "type": "Sequence",
            "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                {
                    "type": "TemplateProcessing",
                    "single": [
                        {"SpecialToken": {"id": bos["content"], "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                    ],
                    "pair": [
                        {"SpecialToken": {"id": bos["content"], "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": bos["content"], "type_id": 1}},
                        {"Sequence": {"id": "B", "type_id": 1}},
                    ],
                    "special_tokens": {
                        bos["content"]: {"id": bos["content"], "ids": [bos["id"]], "tokens": [bos["content"]]}
                    },
                },
            ],
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
            "vocab": vocab, "merges": merges,
        },
    }  # fmt: skip
    _dump(data, dst / "tokenizer.json")
    template = src.joinpath("chat_template.jinja").read_text(encoding="utf-8")
    extra = {"chat_template": template, "eos_token": "<|eot_id|>"}  # the Instruct model's, as its card says
    _dump(_tokenizer_config(src / "tokenizer_config.json", mapping, extra), dst / "tokenizer_config.json")
    config = _load(src / "config.json")
    config.pop("quantization_config", None)  # the 8-bit copy's; the model itself is bf16
    _dump(config, dst / "config.json")


def gemma2(src: Path, dst: Path, pieces_from: Path) -> None:
    """Gemma's own 256k vocabulary is not in any snapshot (tokenizer.model is 4.2 MB, tokenizer.json
    17 MB; files of 4 MiB and more are left out). The layout is Gemma's: its 217 leading special and
    added tokens at their real ids, the 256 byte-fallback pieces right after them (ids 217-472, as
    in Gemma), then regular pieces; the tokenizer is built by transformers' own GemmaTokenizer, so
    its normalizer / pre-tokenizer / decoder are the ones transformers uses for Gemma. The regular
    pieces are Llama-2's (from the Phi-3 tokenizer.json in ``pieces_from``), in rank order: the
    same sentencepiece ▁ convention, not Gemma's own pieces."""
    from transformers.models.gemma.tokenization_gemma import GemmaTokenizer

    keep = KEEP["gemma-2"]
    cfg = _load(src / "tokenizer_config.json")
    decoder = {int(k): v for k, v in cfg["added_tokens_decoder"].items()}
    vocab: dict[str, int] = {}
    for old, tok in sorted(decoder.items()):
        if old < keep:
            vocab[tok["content"]] = old
    nxt = max(vocab.values()) + 1
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = nxt
        nxt += 1
    donor = _load(pieces_from / "tokenizer.json")["model"]
    for piece, i in sorted(donor["vocab"].items(), key=lambda kv: kv[1]):
        if nxt >= keep:
            break
        if i >= 3 + 256 and piece not in vocab:  # after Llama-2's <unk> <s> </s> and byte pieces
            vocab[piece] = nxt
            nxt += 1
    for piece, _ in sorted(_word_start(donor["vocab"], keep), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = nxt
            nxt += 1
    mapping = _remap(list(decoder), keep, nxt)
    merges = _kept_merges(donor["merges"], vocab)
    tok = GemmaTokenizer(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges])
    backend = tok._tokenizer
    from tokenizers import AddedToken

    backend.add_tokens(
        [
            AddedToken(v["content"], single_word=v["single_word"], lstrip=v["lstrip"], rstrip=v["rstrip"],
                       normalized=v["normalized"], special=v["special"])
            for _, v in sorted(decoder.items())
        ]
    )  # fmt: skip
    data = json.loads(backend.to_str())
    for t in data["added_tokens"]:  # the tail tokens got the next free ids, which is _remap's order
        assert t["id"] == mapping[next(k for k, v in decoder.items() if v["content"] == t["content"])]
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": "<bos>", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "<bos>", "type_id": 1}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
    }
    _dump(data, dst / "tokenizer.json")
    _dump(_tokenizer_config(src / "tokenizer_config.json", mapping), dst / "tokenizer_config.json")
    shutil.copy(src / "config.json", dst / "config.json")


def bert(src: Path, dst: Path) -> None:
    """WordPiece vocab.txt: the first ids hold [PAD], [unused*], [UNK], [CLS], [SEP], [MASK], the
    single characters and the most frequent words; later words fall back to pieces or [UNK]."""
    lines = src.joinpath("vocab.txt").read_text(encoding="utf-8").splitlines()[: KEEP["bert"]]
    (dst / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = _load(src / "tokenizer_config.json")
    cfg.pop("tokenizer_file", None)
    cfg.pop("special_tokens_map_file", None)
    _dump(cfg, dst / "tokenizer_config.json")
    shutil.copy(src / "config.json", dst / "config.json")


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    families = argv[1:] or list(KEEP)
    for family in families:
        src, dst = root / family, HERE / family
        dst.mkdir(exist_ok=True)
        if family in ("mistral", "phi-3"):
            sentencepiece_family(family, src, dst)
        elif family == "qwen2.5":
            qwen(src, dst)
        elif family == "llama-3":
            llama3(src, dst)
        elif family == "gemma-2":
            gemma2(src, dst, root / "phi-3")
        elif family == "bert":
            bert(src, dst)
        print(f"{family}: {sum(p.stat().st_size for p in dst.iterdir()) / 1e6:.2f} MB in {dst}")


if __name__ == "__main__":
    main(sys.argv[1:])
