"""Chrome shapes without keywords (`quality/shapes.py`), on lines written for these tests."""
from __future__ import annotations

import pytest

from builder.stages.quality.shapes import line_shape
from builder.text.chars import WIDTH_FOLD


def shape(text: str) -> str | None:
    folded = text.translate(WIDTH_FOLD).lower().strip()
    return line_shape(folded, sum(c.isdigit() for c in folded), sum(c.isspace() for c in folded))


@pytest.mark.parametrize(
    "line",
    ["小河马 2019-03-02 21:15", "lily88 03-02 21:15 等级 12楼", "3楼2020-11-08 08:40", "2018-07-21 10:02 举报"],
)
def test_dated_bylines_are_metadata(line):
    assert shape(line) == "metadata"


@pytest.mark.parametrize(
    "line",
    [
        "2021年9月5日",  # a notice's own date stays
        "每天3-5次，饭后服用。",
        "会议定于2022年5月6日14:00在三楼会议室召开，请各部门负责人准时参加。",
    ],
)
def test_dates_inside_text_are_not_bylines(line):
    assert shape(line) is None


def test_teasers_of_other_pages_are_pagination():
    assert shape("春季养生吃什么好 春天气温回升，很多人开始关注饮食调理，专家建议...更多 2020-03-11 09:20:31") == "pagination"
    assert shape("复方甘草片 用于镇咳祛痰。...[说明书]") == "pagination"
    assert shape("他沉默了很久……最后还是点了点头。") is None


def test_lists_of_titles_are_nav_but_verse_and_spaced_posts_are_not():
    assert shape("孕妇能吃螃蟹吗 孕妇能吃柿子吗 孕妇能吃西瓜吗 孕妇可以喝咖啡吗") == "nav"
    assert shape("城市公交线路查询  地铁首末班车时间表  长途汽车站时刻表") == "nav"
    assert shape("冬天手脚冰凉怎么调理 喝蜂蜜水有哪些好处 空腹吃香蕉好吗") == "nav"  # three related questions
    assert shape("医保报销比例是多少 哪些费用可以报销") is None  # two: a question as its page asks it
    assert shape("床前明月光 疑是地上霜 举头望明月 低头思故乡") is None
    assert shape("我也遇到了 怎么办啊 重装了三次还是不行 求大神帮忙看看") is None


def test_field_lists_are_product_or_profile_chrome():
    assert shape("屏幕尺寸:6.1英寸 电池容量:4000mAh 运行内存:8GB 机身存储:256GB") == "product"
    assert shape("积分 1520 帖子 338 精华 2 注册时间 2015-6-1") == "product"
    assert shape("五花肉500克 生姜3片 料酒2勺 冰糖20克") is None


def test_a_keyword_salad_block_appended_to_an_article_goes_and_the_article_stays():
    from builder.stages import Batch
    from builder.stages.quality import Quality, QualityParams
    from tests.test_quality_stage import ARTICLE

    terms = ["夏日冰饮做法", "手机壳定制", "二手车估价", "考研英语真题", "家常红烧肉", "装修效果图", "宠物狗品种"]
    salad = " ".join(terms[i % len(terms)] + str(i) for i in range(300))
    text = ARTICLE + "\n" + "相关搜索：" + salad
    out = Quality(QualityParams())(Batch({"id": ["a"], "text": [text]}))
    assert not out.drops
    assert out["text"][0].startswith(ARTICLE) and "宠物狗品种" not in out["text"][0]
    assert out.counters["quality.lines_removed.keywords"] == 1
