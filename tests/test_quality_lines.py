"""Line rules of the quality stage: each rule on lines it must remove and lines it must keep."""
from __future__ import annotations

from pathlib import Path

import pytest

from builder.stages import STAGES, Batch
from builder.stages.quality import Quality, QualityParams
from builder.stages.quality.lines import BatchLines
from builder.stages.quality.lexicon import BUILTIN_SPAM_CATEGORIES, read_boilerplate_keywords, read_spam_terms
from builder.stages.quality.tables import char_class_table, fold, fold_table
from builder.text.chars import count_han

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "page.txt"
BODY = (
    "近日，市公安局禁毒支队经过三个月的缜密侦查，成功破获一起跨省贩毒案件，抓获犯罪嫌疑人十一名，"
    "目前案件正在进一步审理中，警方提醒广大市民提高警惕。"
)
OTHER_BODY = "今年以来，全市新建改建公园二十三个，市民在家门口就能散步健身。园林部门表示，明年还将继续推进口袋公园建设。"


@pytest.fixture(scope="module")
def stage() -> Quality:
    return Quality(QualityParams())


def rules_of(stage: Quality, text: str) -> list[str]:
    lines = stage.clean_lines([text])
    return lines.rule.tolist()


def rule_of_line(stage: Quality, line: str) -> str:
    """The rule for `line` inside an ordinary article (so the context rule sees good text around it)."""
    return rules_of(stage, f"{BODY}\n{line}\n{OTHER_BODY}")[1]


@pytest.mark.parametrize(
    "line, rule",
    [
        ("无码中文字幕|国产精品久久久久|日韩av在线观看|亚洲色图", "spam"),
        ("三级片在线观看 成人视频 毛片免费看 激情小说", "spam"),
        ("國產精品 日韓AV 無碼 毛片 三級片 成人網站", "spam"),
        ("澳门新葡京官方网站，注册即送888元彩金，百家乐、老虎机、真人视讯应有尽有！", "spam"),
        ("Copyright © 2008-2023 江南在线 All Rights Reserved", "copyright"),
        ("版權所有 © 2019 城市生活網", "copyright"),
        ("浙ICP备12345678号-1", "icp"),
        ("來源：新華網 | 編輯：王芳 | 發佈時間：2023-08-21", "metadata"),
        ("发布时间：2022-11-03  浏览次数：1532  【字体：大 中 小】", "metadata"),
        ("上一篇：我市召开安全生产工作会议", "pagination"),
        ("分享到：微信 微博 QQ空间", "prompt"),
        ("首页 > 美食资讯 > 正文", "breadcrumb"),
        ("网站首页 | 新闻中心 | 产品展示 | 联系我们", "nav"),
        ("回复 引用 举报", "prompt"),
        ("直播 点播 栏目 专题", "nav"),
        ("13823588114", "contact"),
        ("联系人：张经理  手机：13922456789", "contact"),
        ("----==== ****", "symbols"),
        ("2楼", "forum"),
        ("¥ 1299.00", "product"),
        ("百度知道还有6条回答", "pagination"),
        ("查看全部 12 条评论 >", "pagination"),
        ("本文仅代表作者观点，与本站无关。", "copyright"),
        # A document-sharing site's header: title_category_category_zone。 then the title again.
        ("端午节的由来_文化/宗教_人文社科_专业资料。端午节的由来 端午节是我国的传统节日", "metadata"),
    ],
)
def test_junk_line_is_removed_by_its_rule(stage, line, rule):
    assert rule_of_line(stage, line) == rule


@pytest.mark.parametrize(
    "line",
    [
        # Prose that uses boilerplate words inside a sentence.
        "法律专家指出，作品一经创作完成即自动享有著作权，即便作者没有在作品上标注“版权所有”字样，他人也不能随意使用。",
        "这篇报道的来源是一位不愿透露姓名的知情人士，记者随后向相关部门进行了核实。",
        # News that names drugs and gambling lures once each.
        "现场缴获冰毒、海洛因、摇头丸等毒品共计十二公斤，涉案金额巨大。",
        "这些赌博网站往往以“注册送彩金”为诱饵，吸引受害人充值下注，最终血本无归。",
        # Verse and lists: short items, but not navigation.
        "床前明月光 疑是地上霜 举头望明月 低头思故乡",
        "苹果、香蕉、橘子、葡萄都是常见的水果。",
        # ASCII inside words is no spam hit (`av` in `java`).
        "我们用 java 和 python 写了一个小工具，avg 耗时降到了原来的一半。",
        # A short heading between paragraphs.
        "二、存在的问题",
        # Answers and comments counted inside a sentence of prose.
        "他说还有3个回答没有整理完，等明天有空了再一条一条地发出来给大家看。",
    ],
)
def test_good_line_is_kept(stage, line):
    assert rule_of_line(stage, line) == ""


def test_every_boilerplate_keyword_condemns_a_line_of_its_own(stage):
    """Each literal row of boilerplate.tsv, alone on a line inside an article, removes that line."""
    for keyword in read_boilerplate_keywords():
        if keyword.is_pattern or keyword.rule not in stage.params.line_rules:
            continue
        assert rule_of_line(stage, keyword.keyword) != "", keyword


def test_keyword_rules_spare_lines_longer_than_their_cap(stage):
    for keyword in read_boilerplate_keywords():
        if keyword.is_pattern:
            continue
        long_line = "据介绍，" + "市民普遍认为这项工作很有意义" * (keyword.max_chars // 10) + keyword.keyword + "，大家都很关心。"
        assert rule_of_line(stage, long_line) != keyword.rule or len(long_line) <= keyword.max_chars, keyword


def test_lexicon_files_have_headers_and_terms():
    for category in BUILTIN_SPAM_CATEGORIES:
        path = Path(__file__).resolve().parents[1] / "builder" / "stages" / "quality" / "data" / f"spam_{category}.txt"
        assert path.read_text(encoding="utf-8").startswith(f"# Spam lexicon, category `{category}`")
        assert len(read_spam_terms(category)) >= 30


def test_traditional_spellings_fold_to_simplified():
    assert fold("版權所有 發佈時間 瀏覽 來源：ＡＢＣ") == "版权所有 发布时间 浏览 来源:abc"


def test_repeated_lines_keep_their_first_copy(stage):
    text = "\n".join([BODY, "点此进入专题页面查看", OTHER_BODY, "点此进入专题页面查看", BODY[:30], "点此进入专题页面查看"])
    rules = rules_of(stage, text)
    assert rules[1] == "" and rules[3] == "repeat" and rules[5] == "repeat"


def test_copies_in_other_spellings_and_spacing_are_repeats(stage):
    # Copies are found among lines with the same counts of Han, letters, digits and punctuation:
    # a Traditional, full-width or indented copy must land in the same group.
    copies = ["点此进入专题页面查看（2023版）", "\u3000點此進入專題頁面查看（２０２３版） ", " 点此进入专题页面查看(2023版)"]
    text = "\n".join([BODY, copies[0], OTHER_BODY, copies[1], BODY[:30], copies[2]])
    rules = rules_of(stage, text)
    assert rules[1] == "" and rules[3] == "repeat" and rules[5] == "repeat"


def test_a_batch_without_a_single_mark_is_judged(stage):
    """Marks are found as positions: a batch with none has none to count, one `.` is one."""
    lines = stage.clean_lines(["没有标点的一行字", "第二篇也没有标点 只有空格 abc"])
    assert lines.sentence_marks.tolist() == [0, 0] and lines.ellipses.tolist() == [0, 0]
    lines = stage.clean_lines(["最后一个字符是点.", "没有标点"])
    assert lines.sentence_marks.tolist() == [1, 0] and lines.ends_sentence.tolist() == [True, False]


def test_folding_keeps_every_characters_class():
    """The repeat rule's grouping counts classes on the text as written and compares it folded."""
    classes = char_class_table()
    assert (classes[fold_table()] == classes).all()


def test_context_removes_a_page_header_but_keeps_the_title(stage):
    text = "\n".join(
        ["网站首页 | 新闻中心 | 联系我们", "东莞汇绿", "全国服务热线：400-812-3456", "让资源循环无限",
         "社区食堂开进老旧小区", "来源：本站原创　作者：李明", BODY, "新闻资讯", "免费服务热线", "13823588114"]
    )  # fmt: skip
    assert rules_of(stage, text) == ["nav", "context", "contact", "context", "", "metadata", "", "context", "contact", "contact"]


def test_extra_spam_terms_and_replaced_lexicon():
    custom = Quality(QualityParams(spam_categories=(), spam_extra=("发财秘籍", "内部消息")))
    line = "独家发财秘籍|内部消息|稳赚不赔|免费领取"
    assert rule_of_line(custom, line) == "spam"
    assert rule_of_line(custom, "无码中文字幕|国产精品久久久久|日韩av在线观看") != "spam"


def test_disabled_rule_removes_nothing():
    without_metadata = Quality(QualityParams(line_rules=tuple(r for r in QualityParams().line_rules if r != "metadata")))
    assert rule_of_line(without_metadata, "来源：本站原创　作者：李明") in ("", "context")


def test_seed_page_loses_its_furniture_and_keeps_its_article():
    if not SEED.exists():
        pytest.skip("shared seed page not available")
    normalize = STAGES["normalize"](STAGES["normalize"].Params())
    batch = normalize(Batch({"id": ["seed"], "text": [SEED.read_text(encoding="utf-8")]}))
    batch = Quality(QualityParams())(Batch(dict(batch.columns)))
    assert not batch.drops
    text = batch["text"][0]
    lines = text.split("\n")
    assert lines[0].startswith("新基建正火")  # the title opens the cleaned page
    for gone in ("无码", "東莞匯綠", "13823588114", "來源:", "次瀏覽", "新聞資訊", "免費服務熱線", "讓資源循環無限"):
        assert gone not in text
    assert lines[-1].startswith("姚顯駿表示,建立生態圈")  # the last paragraph closes it
    assert count_han(text) > 4500
    assert batch.counters["quality.lines_removed.spam"] == 1


def test_headings_before_the_body_stay_after_a_spam_line(stage):
    text = "\n".join(
        ["百家乐|时时彩|北京赛车pk10|六合彩开奖结果", "关于做好城乡居民医疗保险参保缴费工作的通知", "各社区居民委员会、辖区各单位：",
         BODY, "特此通知。", "某某区医疗保障局", "2021年9月5日"]
    )  # fmt: skip
    assert rules_of(stage, text) == ["spam", "", "", "", "", "", ""]


def test_short_footer_sentence_is_boilerplate_even_with_a_comma(stage):
    assert rule_of_line(stage, "本站部分内容来源于网络，如有侵权请联系删除。") == "copyright"


def test_a_near_copy_of_an_earlier_answer_goes_and_the_page_stays():
    answer = "建议先把路由器断电重启，等待两分钟后再连接；如果还是不行，可以登录管理页面检查拨号设置是否正确。"
    copy = "\u3000\u3000" + answer.replace("，", ", ").replace("；", "; ")  # re-posted with other spacing and widths
    other = "另外也可以打电话给宽带运营商的客服，让他们远程检测一下线路，一般半小时内就能查出问题所在。"
    stage = Quality(QualityParams(max_line_repeats=2))
    assert rules_of(stage, "\n".join([answer, other, copy])) == ["", "", "repeat"]
    batch = stage(Batch({"id": ["qa"], "text": ["\n".join([answer, other, copy])]}))
    assert not batch.drops and batch["text"][0] == answer + "\n" + other


def test_a_title_repeated_below_itself_does_not_pull_it_into_context(stage):
    text = "\n".join(["来源：本站原创　作者：李明", "社区食堂开进老旧小区", "社区食堂开进老旧小区", BODY, OTHER_BODY])
    assert rules_of(stage, text)[1] == ""


def test_short_sentences_between_removed_lines_stay(stage):
    text = "\n".join([BODY, "网站首页 | 新闻中心 | 联系我们", "这到底该怎么办呢？", "返回顶部", OTHER_BODY])
    assert rules_of(stage, text) == ["", "nav", "", "nav", ""]


@pytest.mark.parametrize(
    "line, rule",
    [
        ("var _hmt = _hmt || [];", "code"),
        ("Warning: mysql_connect(): Access denied for user in /www/conn.php on line 12", "code"),
        ("{{# if (d.list) { }}", "code"),
        ("Processed in 0.071303 second(s), 8 queries, Gzip On.", "forum"),
        ("Powered by Discuz! X3.4", "copyright"),
    ],
)
def test_tracker_code_and_server_messages_left_by_text_extraction(stage, line, rule):
    assert rule_of_line(stage, line) == rule


def test_a_page_counts_the_same_sentences_last_in_a_batch_as_anywhere_else():
    """A half-width `.` after Han ends a sentence before a line break or the end: also at the very end of a batch."""
    pages = ["今天天气很好，我们去公园散步了.\n回来以后大家都很累.", "第二页的内容，也写得很认真。"]
    for batch in (pages, pages[::-1]):
        lines = BatchLines(batch)
        index = batch.index(pages[0])
        first = int(lines.first_line[index])
        assert lines.sentence_marks[first : first + 2].tolist() == [1, 1], batch
