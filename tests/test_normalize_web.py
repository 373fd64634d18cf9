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
