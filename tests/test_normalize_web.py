"""`normalize` on what real web pages do: Latin words next to mojibake, invisible paragraph
separators, full-width punctuation inside numbers (issue #15, items 1, 8 and 9)."""
from __future__ import annotations

from collections import Counter

import pytest

from builder.stages.normalize import Normalize, NormalizeParams
from builder.text.damage import read_as_windows_1252
from builder.text.mojibake import reads_as_latin_word, repair_mojibake

STAGE = Normalize(NormalizeParams(cjk_punctuation=True))


def normalize(text: str) -> str:
    return STAGE.normalize(text, Counter())[0]


def gbk_as_latin1(text: str) -> str:
    return text.encode("gbk").decode("latin-1")


# --- item 9: valid Latin text is never "repaired" ------------------------------------------

EUROPEAN = [
    "Ministerul Afacerilor Externe al României anunță că România și Bulgária au semnat acordul.",
    "Le théâtre de l'Odéon à Paris présente une pièce très célèbre cet été.",
    "Die Größe und Qualität der Brücken in Österreich überraschen viele Besucher.",
    "A informação não é válida para São Paulo e João Pessoa, disse a organização.",
    "Thành phố Hồ Chí Minh và Hà Nội là hai đô thị lớn nhất của Việt Nam.",
]


@pytest.mark.parametrize("sentence", EUROPEAN)
def test_european_text_next_to_chinese_is_left_alone(sentence):
    text = f"外交部发言人表示：{sentence}（新华社）\n{sentence}"
    assert normalize(text) == text


@pytest.mark.parametrize("sentence", EUROPEAN)
def test_mojibake_on_the_same_line_as_european_words_is_repaired_and_the_words_stay(sentence):
    damaged = gbk_as_latin1("中国新闻网报道") + " " + sentence
    assert normalize(damaged) == "中国新闻网报道 " + sentence
    glued = read_as_windows_1252("新华社消息".encode("gbk")) + sentence
    assert repair_mojibake(glued)[0] == "新华社消息" + sentence


def test_mojibake_glued_to_the_front_of_a_word_is_repaired():
    assert normalize(gbk_as_latin1("中国新闻") + "România") == "中国新闻România"
    assert normalize(gbk_as_latin1("安装") + "Windows" + gbk_as_latin1("系统")) == "安装Windows系统"
    assert normalize(gbk_as_latin1("ABC中国")) == "ABC中国"


@pytest.mark.parametrize("word", ["România", "Größe", "informação", "théâtre", "ÖSTERREICH", "Bulgária", "célèbre"])
def test_real_words_read_as_words(word):
    assert reads_as_latin_word(word)


@pytest.mark.parametrize("mojibake_word", ["ÖÐÎÄ", "µÄ", "Äã", "ÊÇ", "ég", "Kì", "Wúå", "BÆÎ", "ÖÐÎÄWindows", "ØÆU"])
def test_mojibake_does_not_read_as_a_word(mojibake_word):
    assert not reads_as_latin_word(mojibake_word)


# --- item 1: invisible characters between text ---------------------------------------------

def test_private_use_paragraph_marks_become_line_breaks():
    # A CMS that writes U+E40C where paragraphs end: title, byline and body must stay apart.
    text = (
        "全国夏粮收购进度过半\ue40c本报记者 王晓东\ue40c本报北京7月20日电 记者从国家粮食局获悉，收购进度过半。"
        "\ue40c\u3000\u3000各地粮食部门加强市场监测，确保农民售粮顺畅。\ue40c今年小麦质量总体较好。（完）\ue40c责任编辑：李明"
    )
    counts: Counter = Counter()
    out, _ = STAGE.normalize(text, counts)
    assert out.split("\n") == [
        "全国夏粮收购进度过半",
        "本报记者 王晓东",
        "本报北京7月20日电 记者从国家粮食局获悉，收购进度过半。",
        "\u3000\u3000各地粮食部门加强市场监测，确保农民售粮顺畅。",
        "今年小麦质量总体较好。（完）",
        "责任编辑：李明",
    ]
    assert counts["invisible_breaks"] == 5


def test_a_paragraph_mark_between_latin_words_is_a_space():
    text = "苹果发布了新款iPhone\ue40cPro Max机型。\ue40c售价未变。\ue40c预计下月上市。"
    assert normalize(text) == "苹果发布了新款iPhone Pro Max机型。\n售价未变。\n预计下月上市。"


def test_icon_font_glyphs_next_to_labels_just_go():
    text = (
        "分享到： \ue667 \ue60b\n\ue60a 2\n\ue665我来答\n关注微信\ue60b\n\ue609微博 \ue608微信\n搜索资料\ue768\u00a0我来答\n"
        "有钱人为什么还努力工作？\n\ue768 我来答"  # a line start, even right after a sentence end
    )
    assert normalize(text) == "分享到：\n2\n我来答\n关注微信\n微博 微信\n搜索资料 我来答\n有钱人为什么还努力工作？\n我来答"


def test_a_single_glyph_after_a_sentence_end_is_a_break_and_between_words_a_space():
    assert normalize("会议今天结束。\ue123下一步工作另行通知") == "会议今天结束。\n下一步工作另行通知"
    assert normalize("安装Windows\ue000Server 2019后重启") == "安装Windows Server 2019后重启"
    assert normalize("今天生病了\ue40c好难受") == "今天生病了好难受"  # a carrier emoji inside a sentence


def test_zero_width_characters_inside_words_and_numbers_just_go():
    # Anti-copy noise: zero-width spaces sprinkled into words, numbers and after a sentence end.
    text = "建议组成RA\u200bID 1阵列。时间：2\u200b021-06-11\n服务热线：400-9\u200b38-8652。\u200b下一句"
    assert normalize(text) == "建议组成RAID 1阵列。时间：2021-06-11\n服务热线：400-938-8652。下一句"


def test_zero_width_paragraph_marks_become_line_breaks():
    text = "第一段讲背景。\u200b第二段讲经过。\u200b第三段讲结果。\u200b记者 张三"
    assert normalize(text) == "第一段讲背景。\n第二段讲经过。\n第三段讲结果。\n记者 张三"


# --- item 8: punctuation inside numbers folds with the digits ------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("合格率为９７．８１％，同比上升", "合格率为97.81%，同比上升"),
        ("合格率为97．81％，同比上升", "合格率为97.81%，同比上升"),
        ("发布时间：2011－08－23 10：30", "发布时间：2011-08-23 10:30"),
        ("总额１，２３４，５６７元", "总额1,234,567元"),
        ("比例为1／2，比分3：1。", "比例为1/2，比分3:1。"),
    ],
)
def test_number_punctuation_folds_with_the_digits(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "他说：“好的，明天见。”",  # prose punctuation stays full-width
        "第1，3，5条适用；第2，4条不适用。",  # a list of numbers, not thousands
        "共3．其余的另算",  # a full stop after a number
        "时间：下午，地点：会议室",
        "２０２３年：増长％",
    ],
)
def test_prose_punctuation_next_to_numbers_stays_full_width(text):
    out = normalize(text)
    for mark in "，：；．％":
        assert out.count(mark) == text.count(mark)


@pytest.mark.parametrize(
    "original, codec",
    [
        ("他在GitHub上开源了一个Python项目，短短一周就收获了上千个星标。", "gbk"),
        ("刷新频率显示所需时间的倒数，把显示屏当作一个发光光源。", "gbk"),
        ("家中有父母、兄弟姊妹、子女曾患大肠癌者可至国民健康局全大肠癌筛检", "gbk"),
        ("各金融機構摩拳擦掌準備在逐漸起飛的財富管理業務", "big5"),
    ],
)
def test_mojibake_that_looks_like_latin_words_is_still_repaired(original, codec):
    # GBK/Big5 trail bytes are ASCII letters: fragments like `Pythoní`, `rég`, `MÀNÀN`
    # appear inside the mojibake, glued to its symbols; they are not words.
    for damaged in (original.encode(codec).decode("latin-1"), read_as_windows_1252(original.encode(codec))):
        assert repair_mojibake(damaged)[0] == original


def test_an_invisible_character_at_the_start_of_a_line_after_any_line_break_just_goes():
    for br in ("\r\n", "\r", "\u2028"):
        assert normalize(f"第一句结束。{br}\u200b\ue60a第二行") == "第一句结束。\n第二行"


def test_one_sentence_end_is_enough_for_a_private_use_mark_used_between_text():
    text = "夏粮收购进度过半\ue40c本报记者 王晓东\ue40c记者从国家粮食局获悉，收购进度过半。\ue40c来源：人民日报"
    assert normalize(text) == "夏粮收购进度过半\n本报记者 王晓东\n记者从国家粮食局获悉，收购进度过半。\n来源：人民日报"
    # Icon glyphs between text, none after a sentence end, still just go.
    assert normalize("阅读\ue60e 1644 评论\ue60e 22") == "阅读 1644 评论 22"
