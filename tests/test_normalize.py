"""The `normalize` stage: each sub-step on real damage made by encoding and mis-decoding."""
from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import opencc
import pyarrow as pa
import pytest

from builder.stages.base import Batch
from builder.stages.normalize import Normalize, NormalizeParams
from builder.text.chars import HAN_RE
from builder.text.damage import DAMAGE_KINDS, inject, read_as_windows_1252
from builder.text.mojibake import lossy_evidence, mojibake_ratio, repair_mojibake

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLEAN = REPO / "tests" / "data" / "normalize" / "clean_zh.txt"
SIMPLIFIED = "我们在说中文，这是一个测试句子：“引号”与（括号）！"
TRADITIONAL = "我們在說中文，這是一個測試句子：「引號」與（括號）！"
PINYIN_ANNOTATION_RE = re.compile(r"[\u4e00-\u9fff][(（][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}[)）]")


def clean_paragraphs() -> list[str]:
    return [line.rstrip("\n") for line in CLEAN.open(encoding="utf-8") if not line.startswith("#")]


def run(text: str, **params) -> tuple[str, Counter]:
    stage = Normalize(NormalizeParams(**params))
    counts: Counter = Counter()
    out, _ = stage.normalize(text, counts)
    return out, counts


# --- mojibake repair ---------------------------------------------------------------------

@pytest.mark.parametrize("original", ["新华社北京电，今天天气很好！", "臺北報導，今天天氣很好！", SIMPLIFIED, TRADITIONAL])
def test_utf8_read_as_gbk_is_reversed(original):
    # Strict GB18030 cannot read every UTF-8 byte string; Windows-style GBK decoders map
    # the bytes they cannot read to U+FFFD, which only a lossy repair can follow.
    damaged = original.encode("utf-8").decode("gb18030", errors="replace")
    assert damaged != original
    repaired, n = repair_mojibake(damaged)
    assert n >= 1
    if "\ufffd" in damaged:
        lost = repaired.count("\ufffd")
        assert 0 < lost <= damaged.count("\ufffd")
        assert len(repaired) == len(original)
        assert sum(a != b for a, b in zip(repaired, original)) == lost
    else:
        assert repaired == original


def test_issue_example_utf8_read_as_gbk_with_a_broken_tail():
    damaged = "我们在说".encode("utf-8")[:9].decode("gbk", errors="ignore") + "ㄨ"
    assert damaged == "鎴戜滑鍦ㄨ"
    assert repair_mojibake(damaged)[0] == "我们在"


@pytest.mark.parametrize(
    "original, legacy",
    [(SIMPLIFIED, "gb18030"), ("更多精校", "gbk"), (TRADITIONAL, "big5hkscs")],
)
@pytest.mark.parametrize("read_as", ["latin-1", "cp1252"])
def test_gbk_and_big5_read_as_latin1_or_cp1252_are_reversed(original, legacy, read_as):
    data = original.encode(legacy)
    damaged = data.decode("latin-1") if read_as == "latin-1" else read_as_windows_1252(data)
    assert repair_mojibake(damaged)[0] == original


def test_issue_example_gbk_read_as_latin1():
    assert "更多精校".encode("gbk").decode("latin-1") == "¸ü¶à¾«Ð£"
    assert repair_mojibake("¸ü¶à¾«Ð£")[0] == "更多精校"


def test_double_encoding_is_peeled_layer_by_layer():
    original = "新华社北京电，今天天气很好！"
    damaged = read_as_windows_1252(original.encode("utf-8").decode("gb18030").encode("utf-8"))
    out, counts = run(damaged, fold_width=False)
    assert out == original
    assert counts["repair_mojibake"] >= 1


def test_mojibake_inside_clean_text_is_repaired_without_touching_the_neighbours():
    text = "前文：" + "我们在说中文".encode("utf-8").decode("gb18030") + "。后文保持不变。"
    assert repair_mojibake(text)[0] == "前文：我们在说中文。后文保持不变。"


def test_lost_bytes_stay_marked_and_are_never_multiplied():
    damaged = SIMPLIFIED.encode("utf-8").decode("gbk", errors="replace")
    assert "\ufffd" in damaged
    repaired, n = repair_mojibake(damaged)
    assert n >= 1
    assert repaired.count("\ufffd") <= damaged.count("\ufffd")
    assert "中文" in repaired and "测试句子" in repaired
    assert mojibake_ratio(repaired) > 0


def test_clean_paragraphs_are_never_repaired():
    converters = {name: opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")}
    paragraphs = clean_paragraphs()
    paragraphs += [converter.convert(p) for converter in converters.values() for p in paragraphs]
    sentences = SHARED / "langid" / "sentences" / "zh.txt"
    if sentences.exists():
        extra = [line.strip() for line in sentences.open(encoding="utf-8") if line.strip()]
        paragraphs += extra + [converters[name].convert(p) for name in ("s2t", "s2tw") for p in extra]
    stage = Normalize(NormalizeParams(fold_width=False))
    changed = []
    for paragraph in paragraphs:
        out, ratio = stage.normalize(paragraph, Counter())
        if out != paragraph or ratio:
            changed.append((paragraph, out, ratio))
    assert len(paragraphs) >= 150
    assert changed == []


@pytest.mark.parametrize("kind", [k for k, (_, reversible) in DAMAGE_KINDS.items() if reversible])
def test_injected_reversible_damage_is_restored(kind):
    rng = random.Random(7)
    stage = Normalize(NormalizeParams(fold_width=False))
    tried = restored = wrong = 0
    for paragraph in clean_paragraphs():
        injected = inject(paragraph, kind, rng, min_len=6)
        if injected is None:
            continue
        out, _ = stage.normalize(injected[0], Counter())
        tried += 1
        restored += out == paragraph
        wrong += out not in (paragraph, injected[0])
    assert tried >= 15
    assert restored >= 0.9 * tried
    assert wrong <= 0.03 * tried


# --- lossy damage is measured, not guessed ----------------------------------------------

def test_lossy_markers_count_as_mojibake():
    kun = ("\ufffd\ufffd".encode("utf-8")).decode("gbk")
    assert kun == "锟斤拷"
    text = f"正文内容{kun}{kun}继续正文"
    assert repair_mojibake(text)[0] == text
    assert lossy_evidence(text) == 6
    assert mojibake_ratio(text) == pytest.approx(6 / len(text))
    assert mojibake_ratio("正文\ufffd\ufffd\ufffd正文") == pytest.approx(3 / 7)
    assert mojibake_ratio(SIMPLIFIED) == 0


def test_question_marks_left_by_a_gb2312_encoder_count_as_mojibake():
    # Traditional characters GB2312 cannot encode become `?` inside the words.
    damaged = "這款驅動只能用於Vista，才能顯示顯卡。".encode("gb2312", errors="replace").decode("gb2312")
    assert "?" in damaged
    assert mojibake_ratio(damaged) > 0
    assert mojibake_ratio("你知道吗?我不知道。") == 0  # a real question mark


# --- ftfy, chosen for Chinese -------------------------------------------------------------

def test_ftfy_keeps_chinese_punctuation_and_fixes_what_it_should():
    text = "他说：“你好！”（真的？）　好，“书名”。&amp; ﬁne"
    out, counts = run(text)
    assert out == "他说：“你好！”（真的？）　好，“书名”。& fine"
    assert counts["ftfy"] == 1


def test_ftfy_is_skipped_on_text_it_cannot_help():
    out, counts = run(SIMPLIFIED + "\nplain ASCII line, 2024.")
    assert counts["ftfy"] == 0 and out == SIMPLIFIED + "\nplain ASCII line, 2024."


# --- pinyin -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("根據(jù)報道", "根據報道"),
        ("重(chóng)新", "重新"),
        ("重(zhòng)要", "重要"),  # heteronyms count
        ("绿(lv4)色", "绿色"),
        ("使用人工智能(AI)技术", "使用人工智能(AI)技术"),
        ("见(注)", "见(注)"),
        ("于(2020)年", "于(2020)年"),
        ("是(yes)", "是(yes)"),
        ("中(jù)文", "中(jù)文"),  # not a reading of 中
    ],
)
def test_pinyin_annotations(text, expected):
    assert run(text)[0] == expected


# --- width and punctuation ---------------------------------------------------------------

def test_fullwidth_letters_and_digits_fold_but_punctuation_stays():
    out, counts = run("ＶＩＰ２０１２会员，价格：１０元（含税）！")
    assert out == "VIP2012会员，价格：10元（含税）！"
    assert counts["fold_width"] == 9


def test_cjk_punctuation_is_optional_and_only_between_chinese():
    text = "變化,使得在哪里?是的:中文(注释)说明AI(人工)智能,他说:“好”,1,000元"
    assert run(text)[0] == text
    out, _ = run(text, cjk_punctuation=True)
    assert out == "變化，使得在哪里？是的：中文（注释）说明AI(人工)智能，他说：“好”,1,000元"


def test_cjk_punctuation_leaves_question_marks_alone_in_text_with_lost_characters():
    damaged = "這款驅動只能用於Vista，才能顯示顯卡。是嗎?是的".encode("gb2312", errors="replace").decode("gb2312")
    out, _ = run(damaged, cjk_punctuation=True)
    assert "？" not in out


# --- invisible junk and whitespace ---------------------------------------------------------

def test_invisible_junk_goes_and_paragraphs_stay():
    text = "\ufeff第一段\u200b文字\u00a0\u00a0结尾  \r\n第二行\x07\ue001\r\n\r\n\r\n\r\n\u3000\u3000第二段\t\n \n"
    out, counts = run(text)
    assert out == "第一段文字 结尾\n第二行\n\n\u3000\u3000第二段"
    assert counts["strip_invisible"] > 0


# --- script conversion ----------------------------------------------------------------------

def test_convert_t2s_records_the_original_script():
    stage = Normalize(NormalizeParams(convert="t2s"))
    assert stage.columns() == {"mojibake_ratio": pa.float32(), "script": pa.string()}
    batch = stage(Batch({"id": ["a", "b"], "text": ["我們在說中文，這是一個測試。", SIMPLIFIED]}))
    assert batch["text"] == ["我们在说中文，这是一个测试。", SIMPLIFIED]
    assert batch["script"] == ["Hant", "Hans"]
    assert batch.counters["normalize.convert"] == 1
    assert "script" not in Normalize(NormalizeParams()).columns()


def test_stage_writes_mojibake_ratio_for_every_row_and_counts():
    stage = Normalize(NormalizeParams())
    clean = "新华社北京电，今天天气很好！"
    damaged = clean.encode("utf-8").decode("gb18030")
    batch = stage(Batch({"id": ["a", "b", "c"], "text": [clean, damaged, "坏\ufffd\ufffd字"]}))
    assert batch["text"][:2] == [clean, clean]
    assert batch["mojibake_ratio"][:2] == [0, 0] and batch["mojibake_ratio"][2] > 0
    assert batch.counters["normalize.repair_mojibake"] == 1
    assert batch.counters["normalize.mojibake_lossy_documents"] == 1
    assert "script" not in batch


# --- the seed page --------------------------------------------------------------------------

def test_seed_page():
    page = SHARED / "seed" / "page.txt"
    if not page.exists():
        pytest.skip("../shared/seed/page.txt is not here")
    text = page.read_text(encoding="utf-8")
    stage = Normalize(NormalizeParams(cjk_punctuation=True))
    batch = stage(Batch({"id": ["seed"], "text": [text]}))
    out = batch["text"][0]
    assert PINYIN_ANNOTATION_RE.search(text) and not PINYIN_ANNOTATION_RE.search(out)
    assert batch.counters["normalize.strip_pinyin"] == 863
    lines = text.split("\n")
    body = PINYIN_ANNOTATION_RE.sub(lambda m: m.group()[0], "\n".join(lines[15:77]))
    body_han = "".join(HAN_RE.findall(body))
    assert len(body_han) > 4500
    assert body_han in "".join(HAN_RE.findall(out))
    assert batch["mojibake_ratio"][0] > 0
    assert lossy_evidence(out) >= 7  # the `?` fragments (我們?cè)谛袆?dòng) ...) are counted
    assert "\u00a0" not in out
