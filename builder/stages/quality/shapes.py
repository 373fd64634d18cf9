"""Line shapes of page chrome that no keyword names: dated bylines, teasers, title lists, field lists.

Each shape is checked on the folded, stripped line (Simplified, half-width, lower case) of a
line that has no sentence of its own, and names the removal rule it stands for. They come from
the furniture of real Chinese pages: forum post headers (`pywepe 04-26 08:54 等级 25楼`),
"more" teasers (`…的歌曲是什么?2017年的央视春晚...更多 2017-01-27`), lists of related titles
separated by spaces (`产妇能吃紫菜吗 产妇能吃海带吗 产妇能吃蘑菇吗`), and spec or profile
fields (`屏幕尺寸:5.8英寸 后置摄像头:1200万像素 …`, `积分 1789 精华 0 注册时间 2011-6-25`).

Keyword salad (hundreds of unrelated search terms separated by spaces, appended to a real
page as one giant line) is cut out of its line first (`isolate_keyword_runs`), so that the run
is judged as a line of its own and the page around it is judged without it.
"""
from __future__ import annotations

import re

from builder.text.chars import HAN_RE

DATE = r"(?:\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?|(?:\d{1,2}[-/]\d{1,2}\s+)?\d{1,2}:\d{2}(?::\d{2})?)"
DATE_RE = re.compile(DATE)
# What may stand beside a date on a byline: a user name, a floor number, 回复/投诉/举报 buttons.
DATED_LINE_MAX_OTHER_CHARS = 12
# An ellipsis cut followed by a "more" link and/or a date: a teaser of another page.
TEASER_RE = re.compile(
    r"(?:\.{3,}|…{1,2})\s*(?:(?:\[?(?:更多|详细|详情|全文|说明书|阅读全文|查看全文|查看详情)\]?\s*(?:>>|»)?\s*(?:" + DATE + r")?)|(?:" + DATE + r"))\s*$"
)
TITLE_LIST_MIN_ITEMS = 3
TITLE_ITEM_MAX_CHARS = 30
TITLE_ITEM_MIN_HAN = 4
TITLE_ITEM_MEAN_CHARS = 8
# A question as titles ask it: a question word, or a closing 吗/呢/?.
QUESTION_TITLE_RE = re.compile(r"怎么|怎样|如何|为什么|什么|多少|哪些|哪里|多久|能不能|是否|[吗呢?？]$")
CLAUSE_OR_STOP_RE = re.compile(r"[,;，；。]")
FIELD_RE = re.compile(r"[^\s:]{1,12}:\s*[^\s:]{1,24}")
WORD_NUMBER_RE = re.compile(r"[^\W\d_]{1,6}\s+[-+]?\d[\d,.]*")  # `积分 1789`, not `花椒40克`


# Twelve or more short space-separated items with no punctuation at all between them.
KEYWORD_ITEM = r"[^\s,;.!?，；。！？、:：]{1,16}"
KEYWORD_RUN_RE = re.compile(r"(?:%s[ \t\u3000]+){11,}%s" % (KEYWORD_ITEM, KEYWORD_ITEM))
KEYWORD_RUN_MIN_LINE_CHARS = 300


KEYWORDS_RULE = "keywords"  # the removal rule of a keyword-salad line


def isolate_keyword_runs(text: str) -> str:
    """Put every keyword-salad run of a long line on a line of its own (other text unchanged)."""
    if len(text) < KEYWORD_RUN_MIN_LINE_CHARS or text.count(" ") + text.count("\t") + text.count("\u3000") < 11:
        return text
    lines = text.split("\n")
    if not any(len(line) >= KEYWORD_RUN_MIN_LINE_CHARS and _spaces(line) >= 11 for line in lines):
        return text
    out: list[str] = []
    for line in lines:
        if len(line) < KEYWORD_RUN_MIN_LINE_CHARS or _spaces(line) < 11:
            out.append(line)
            continue
        position = 0
        for run in KEYWORD_RUN_RE.finditer(line):
            if not _mostly_han_items(run.group()):
                continue
            before = line[position : run.start()].rstrip()
            if before:
                out.append(before)
            out.append(run.group())
            position = run.end()
        rest = line[position:].lstrip() if position else line
        if rest or not position:
            out.append(rest)
    return "\n".join(out)


def _spaces(line: str) -> int:
    return line.count(" ") + line.count("\t") + line.count("\u3000")


def _mostly_han_items(run: str) -> bool:
    items = run.split()
    return sum(bool(HAN_RE.search(item)) for item in items) * 2 >= len(items)


def line_shape(text: str, digits: int, spaces: int) -> str | None:
    """The removal rule a chrome-shaped line stands for, or None for a line of text.

    `digits` and `spaces` are the line's counts (known to the caller): shapes that need them are
    not tried on lines without, which keeps this off the hot path for most lines.
    """
    if ("…" in text or "..." in text) and TEASER_RE.search(text):
        return "pagination"  # a teaser quotes prose, commas and all
    if not text or CLAUSE_OR_STOP_RE.search(text):
        return None
    if spaces >= 11 and KEYWORD_RUN_RE.fullmatch(text) and _mostly_han_items(text):
        return KEYWORDS_RULE
    if digits and _is_dated_byline(text):
        return "metadata"
    if (digits or ":" in text) and _is_field_list(text):
        return "product"
    if spaces >= 2 and _is_title_list(text):
        return "nav"
    return None


def _is_dated_byline(text: str) -> bool:
    """A date with a time, or with a name or button beside it; a bare date (a notice's) stays."""
    rest, n = DATE_RE.subn("", text)
    rest = "".join(rest.split())
    return n > 0 and len(rest) <= DATED_LINE_MAX_OTHER_CHARS and (bool(rest) or ":" in text)


def _is_title_list(text: str) -> bool:
    """Space-separated titles: each with a few Han characters, none a clause of a sentence.

    Informal posts also use spaces as commas (`怎么办啊 3个小时前能玩的 …`), with short pieces
    among the long ones; lists of titles are even. So: four or more items of at least
    `TITLE_ITEM_MIN_HAN` Han characters each, or three set apart by wide gaps or two of them
    questions (`核桃能不能补脑 有胃病的人怎么喝水好 鸡蛋怎么吃最有营养`: related questions).
    """
    wide = "  " in text or "\u3000" in text
    items = re.split(r"\s{2,}|\u3000", text) if wide else text.split()
    questions = sum(bool(QUESTION_TITLE_RE.search(item)) for item in items)
    if len(items) < (TITLE_LIST_MIN_ITEMS if wide or questions >= 2 else TITLE_LIST_MIN_ITEMS + 1):
        return False
    if any(len(item) > TITLE_ITEM_MAX_CHARS or len(HAN_RE.findall(item)) < TITLE_ITEM_MIN_HAN for item in items):
        return False
    if len({len(item) for item in items}) == 1:
        return False  # verse: `床前明月光 疑是地上霜 举头望明月 低头思故乡`
    if not wide and sum(map(len, items)) < TITLE_ITEM_MEAN_CHARS * len(items) and not _share_a_stem(items):
        return False  # short spoken pieces: `我也遇到了 怎么办啊 …`
    return not any(mark in item.strip()[:-1] for item in items for mark in "?!？！")


def _share_a_stem(items: list[str]) -> bool:
    """Most items open or close with the same two characters (`孕妇能吃…吗`): a generated list."""
    for stems in ([item[:2] for item in items], [item[-2:] for item in items]):
        if max(stems.count(stem) for stem in stems) * 2 > len(items):
            return True
    return False


def _is_field_list(text: str) -> bool:
    """Three or more `label:value` fields or `label number` pairs and little else."""
    dated = DATE_RE.sub("0", text)
    for pattern in (FIELD_RE, WORD_NUMBER_RE):
        fields = pattern.findall(dated)
        if len(fields) >= 3 and sum(map(len, fields)) >= 0.7 * len(text.replace(" ", "")):
            return True
    return False
