"""The quality stage as the runner sees it: drops with reasons, annotate mode, columns, signals."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from builder.stages import STAGES, Batch
from builder.stages.quality import Quality, QualityParams
from builder.stages.quality.lines import LineCleaner
from builder.stages.quality.signals import document_signals
from builder.text.chars import count_han

ARTICLE = (
    "清晨六点，巷子口的面馆已经热气腾腾。老板老周把碱面在沸水里烫上几秒，捞起沥干，浇上芝麻酱、萝卜丁和葱花。\n"
    "这家店开了二十八年，从最初的一张桌子到现在的三间门面，老周说秘诀只有一个：芝麻酱必须自己炒、自己磨。\n"
    "很多在外地工作的年轻人回到家乡，第一件事就是来吃一碗面。对他们来说，这碗面不仅是早餐，更是一种乡愁。"
)
SPAM = "\n".join(
    [
        "无码中文字幕|国产精品久久久久|日韩av在线观看|亚洲色图|午夜福利视频",
        "澳门新葡京官方网站，注册即送888元彩金，百家乐、老虎机、真人视讯应有尽有，日提款无上限！",
        "正规信誉平台，首存送百分之百，返水最高百分之二，提款秒到账，欢迎体验。",
    ]
)
# Keyword stuffing in one line: a copied line would go as a `repeat` line, this cannot.
REPEATED = "深圳搬家公司，深圳搬家公司哪家好，深圳搬家公司电话，深圳搬家公司价格，深圳搬家公司收费标准，深圳搬家公司推荐。"
DOCS = {"article": ARTICLE, "spam": SPAM, "short": "好文章，顶一下！", "repeated": REPEATED}


def run(params: QualityParams, texts: dict[str, str]) -> Batch:
    return Quality(params)(Batch({"id": list(texts), "text": list(texts.values())}))


def test_registered_under_its_type():
    assert STAGES["quality"] is Quality and Quality.type == "quality"


def test_drops_with_the_first_failing_reason():
    batch = run(QualityParams(), DOCS)
    reasons = {batch["id"][row]: drop.reason for row, drop in batch.drops.items()}
    assert reasons == {"spam": "quality.spam", "short": "quality.too_short", "repeated": "quality.repetition"}
    assert all(reason.startswith("quality.") for reason in reasons.values())


def test_dropped_rows_keep_their_original_text_for_the_rejected_file():
    batch = run(QualityParams(), DOCS)
    spam_row = list(DOCS).index("spam")
    assert batch["text"][spam_row] == SPAM


def test_annotate_keeps_everything_and_publishes_signals():
    stage = Quality(QualityParams(annotate=True))
    columns = stage.columns()
    assert columns["quality_reason"] == pa.string() and columns["char_count"] == pa.int32()
    assert {"cjk_share", "end_punct_share", "dup_line_frac", "dup_para_frac", "top_4gram_frac", "dup_10gram_frac",
            "symbol_share", "digit_share", "mojibake_ratio", "spam_density", "removed_share"} <= set(columns)  # fmt: skip
    batch = stage(Batch({"id": list(DOCS), "text": list(DOCS.values())}))
    assert {row: drop.reason for row, drop in batch.drops.items()} == {1: "quality.all_lines_removed"}  # no spam line left
    assert batch["quality_reason"] == [None, "quality.spam", "quality.too_short", "quality.repetition"]
    for name in columns:
        assert len(batch[name]) == len(DOCS)
    assert batch["cjk_share"][0] > 0.8 and batch["end_punct_share"][0] == 1.0


def test_annotate_drops_a_page_whose_every_line_was_removed_rather_than_publish_it_empty():
    nav_only = "网站首页 | 新闻中心 | 联系我们\nCopyright © 2023 某某网 版权所有"
    batch = Quality(QualityParams(annotate=True))(Batch({"id": ["a", "b"], "text": [ARTICLE, nav_only]}))
    assert list(batch.drops) == [1] and batch.drops[1].reason == "quality.all_lines_removed"
    assert "quality.too_short" in batch.drops[1].detail and batch["text"][0] == ARTICLE


def test_columns_are_declared_only_when_annotating():
    assert Quality(QualityParams()).columns() == {}


def test_mojibake_column_from_normalize_is_used():
    stage = Quality(QualityParams(annotate=True))
    batch = stage(Batch({"id": ["a"], "text": [ARTICLE], "mojibake_ratio": [0.5]}))
    assert batch["mojibake_ratio"] == [0.5] and batch["quality_reason"] == ["quality.mojibake"]


def test_line_counters_are_per_rule():
    text = "网站首页 | 新闻中心 | 联系我们\n" + ARTICLE + "\nCopyright © 2023 某某网 版权所有\n浙ICP备12345678号"
    batch = run(QualityParams(), {"a": text})
    assert batch["text"][0] == ARTICLE
    assert batch.counters == Counter(
        {"quality.lines_removed.nav": 1, "quality.lines_removed.copyright": 1, "quality.lines_removed.icp": 1}
    )


def test_params_reject_unknown_rules_and_keys():
    with pytest.raises(ValidationError):
        QualityParams(line_rules=("nav", "weather"))
    with pytest.raises(ValidationError):
        QualityParams(spam_categories=("weapons",))
    with pytest.raises(ValidationError):
        QualityParams(min_length=3)


def naive_ngram_signals(text: str, n: int) -> tuple[float, float]:
    """Gopher's character n-gram fractions the slow, obvious way, over word characters (Han, letters, digits)."""
    chars = [c for c in text if c.isalnum()]
    grams = ["".join(chars[i : i + n]) for i in range(len(chars) - n + 1)]
    if not grams:
        return 0.0, 0.0
    counts = Counter(grams)
    top = min(1.0, max(counts.values()) * n / len(chars))
    covered = set()
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered.update(range(i, i + n))
    return top, len(covered) / len(chars)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="的了是我你他好天气很不错哈。，ab 1", min_size=0, max_size=60), min_size=1, max_size=4))
def test_ngram_signals_match_a_naive_count(texts):
    stage = Quality(QualityParams())
    cleaner: LineCleaner = stage.clean_lines
    texts = [t.replace("\n", "") for t in texts]
    lines = cleaner(texts)
    lines.rule[:] = ""  # measure the texts as given
    signals = document_signals(lines, [2, 4], [3, 10])
    for doc, text in enumerate(texts):
        for n in (2, 4):
            assert signals[f"top_{n}gram_frac"][doc] == pytest.approx(naive_ngram_signals(text, n)[0], abs=1e-6)
        for n in (3, 10):
            assert signals[f"dup_{n}gram_frac"][doc] == pytest.approx(naive_ngram_signals(text, n)[1], abs=1e-6)


def test_separator_lines_of_dashes_are_not_repetition():
    replies = ["本人中专毕业以后在制造行业做过夜班，也做过售后维护，后来辞掉工作读了计算机。",
               "国企招人一般都要看学历的，不过技术岗位有时候也看实际能力和项目经验。",
               "我一个同学也是自学转行的，前两年很辛苦，现在收入比以前高了不少。",
               "三十岁以后再转行确实难一些，但只要肯下功夫，机会还是有的，加油吧。"]  # fmt: skip
    thread = "\n".join(f"{reply}\n{'-' * 90} 签名{k}" for k, reply in enumerate(replies))
    batch = Quality(QualityParams(annotate=True))(Batch({"id": ["t"], "text": [thread]}))
    assert batch["top_4gram_frac"][0] < 0.2 and batch["quality_reason"][0] != "quality.repetition"


def test_duplicate_line_and_paragraph_fractions():
    text = "第一段第一行。\n第一段第二行。\n\n第二段。\n\n第一段第一行。\n第一段第二行。"
    lines = Quality(QualityParams()).clean_lines([text])
    lines.rule[:] = ""
    signals = document_signals(lines, [], [])
    total = sum(len(line) for line in text.split("\n"))
    assert signals["dup_line_frac"][0] == pytest.approx(14 / total)
    assert signals["dup_para_frac"][0] == pytest.approx(14 / total)
    assert np.isclose(signals["end_punct_share"][0], 1.0)


def test_a_first_batch_with_nothing_left_after_line_removal_is_dropped_not_an_error():
    from builder.stages.quality import tables

    tables._POWERS.clear()  # as in a fresh worker process: no cached powers yet
    stage = STAGES["quality"](STAGES["quality"].Params())
    batch = Batch({"id": ["digits"], "text": ["1234567890" * 100], "_source": ["s:1"], "mojibake_ratio": [0.0]})
    out = stage(batch)
    assert out.drops[0].reason.startswith("quality.")


def test_sentences_are_counted_inside_lines_not_by_the_last_character():
    params = QualityParams(min_sentence_density=2, min_end_punct_share=0.0)
    one_line = ARTICLE.replace("\n", "") + "[详细]"  # one line that ends in a link marker, not a 。
    comma_spliced = (
        "我觉得还是要看你自己的情况，如果预算充足，可以直接买新款，屏幕和续航都好一些，"
        "要是平时只是刷刷网页看看视频，旧款的性价比其实也不错，二手市场上九成新的价格只有一半左右，"
        "买之前记得查一下电池健康度，再让卖家把购买凭证发给你，看个人喜好吧"
    )
    titles = "\n".join(
        ["春季养生食谱推荐", "十大旅游城市排行", "新手如何选购相机", "家庭理财入门指南", "周末亲子活动好去处",
         "夏季防晒霜测评合集", "考研复习时间规划表", "二手房交易流程详解", "宠物猫日常护理要点",
         "自驾游必备物品清单", "办公室久坐伤腰怎么办", "冬季进补的五个误区"]
    )  # fmt: skip
    batch = run(params, {"one_line": one_line, "comma_spliced": comma_spliced, "titles": titles})
    reasons = {batch["id"][row]: drop.reason for row, drop in batch.drops.items()}
    assert reasons == {"titles": "quality.no_sentences"}


def test_too_short_counts_han_characters_after_cleaning():
    params = QualityParams(min_chars=1, min_han=100)
    short = "这个问题我也遇到过，重启一下就好了。"
    batch = run(params, {"article": ARTICLE, "short": short})
    assert {batch["id"][row]: drop.detail for row, drop in batch.drops.items()} == {"short": f"han_count={count_han(short)} (limit 100)"}


def test_a_caption_repeated_inside_one_long_line_goes_and_the_article_stays():
    caption = "2023年8月10日，志愿者在社区广场为老人义务理发，现场秩序井然。（记者摄）"
    text = ARTICLE.replace("\n", "") + caption * 4
    batch = run(QualityParams(), {"news": text})
    assert not batch.drops
    assert batch["text"][0] == ARTICLE.replace("\n", "") + caption
    assert batch.counters["quality.sentences_removed.repeat"] == 3


def test_a_page_of_teasers_cut_short_is_a_list_of_other_pages():
    """Four or more teasers cut at `...`/`…` (more than two per 1,000 characters) make a list page;
    Chinese ellipses (`……`, `......`) in prose and dialogue are not cuts, and a few teasers under an
    article leave it alone."""
    teasers = [
        "火锅店开业首日排起长队 记者走访发现，不少市民一早就来到店门口等候，店家表示将延长营业时间...",
        "老城区改造进入第二阶段 据了解，本次改造涉及三条街道和两处菜市场，预计年底前完工… 显示全部",
        "周末气温回升 市气象台预计，本周六起全市以晴到多云天气为主，最高气温将升至二十度...(更多)",
        "地铁新线开通在即 运营公司介绍，新线全长二十四公里，沿途设站十八座，将与三条线路换乘…",
        "图书馆延长开放时间 从下月起，市图书馆周末开放时间延长至晚上九点，方便上班族借阅图书...",
    ]
    dialogue = ARTICLE + "\n他沉默了很久……最后还是点了点头。\n“再等等吧......”她说。"
    batch = run(QualityParams(), {"list": "\n".join(teasers), "dialogue": dialogue,
                                  "article": ARTICLE + "\n" + "\n".join(teasers[:3])})
    reasons = {batch["id"][row]: drop.reason for row, drop in batch.drops.items()}
    assert reasons == {"list": "quality.teasers"}
    annotated = run(QualityParams(annotate=True), {"list": "\n".join(teasers)})
    assert annotated["teasers"] == [5] and annotated["quality_reason"] == ["quality.teasers"]
