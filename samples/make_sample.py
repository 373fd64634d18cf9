"""Build samples/zh-web-sample.jsonl (and its labels) from the hand-written pieces in sample_texts.py.

The sample is the input of the README's main command, so it carries every kind of trouble
the builder exists to handle, in the proportions of a small crawl: clean and noisy articles
in Simplified and Traditional Chinese, spam, near-empty pages, other languages, exact and
near duplicates. The noise imitates what crawlers bring home (see ../shared/seed/NOTES.md)
and the mojibake is produced for real by encoding and mis-decoding, never typed by hand.

Deterministic: one seeded `random.Random`, no network, no clock. Run from the repo root:
    python samples/make_sample.py            # rewrites samples/zh-web-sample.jsonl + .labels.tsv
    python samples/make_sample.py --out DIR  # writes the same two files into DIR
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Iterator

from opencc import OpenCC
from pypinyin import Style, lazy_pinyin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sample_texts as T  # noqa: E402

SEED = 20240501
SAMPLE_NAME = "zh-web-sample"

HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
SLOT = re.compile(r"\{(\w+)(?::(\d+)-(\d+))?\}")

S2T, S2TW, S2HK, T2S = OpenCC("s2t"), OpenCC("s2tw"), OpenCC("s2hk"), OpenCC("t2s")

# Characters a one-to-many Simplified->Traditional conversion commonly gets wrong or skips;
# the seed page keeps 后 and 范 inside otherwise Traditional text.
CONVERSION_LEFTOVERS = {"後": "后", "範": "范", "製": "制", "隻": "只", "裡": "里", "裏": "里"}


@dataclass
class Doc:
    kind: str
    text: str
    url: str | None = None
    dup_of: "Doc | None" = None
    notes: list[str] = field(default_factory=list)
    paragraphs: int = 0
    doc_id: str = ""


# ---------------------------------------------------------------- slot filling

def slot_context(rng: random.Random) -> dict[str, str]:
    year = rng.randint(2019, 2024)
    names = rng.sample(T.NAMES, 2)
    return {
        "city": rng.choice(T.CITIES), "district": rng.choice(T.DISTRICTS),
        "name": names[0], "name2": names[1],
        "year": str(year), "year_minus6": str(year - 6), "year_minus5": str(year - 5),
        "month": str(rng.randint(1, 12)), "day": str(rng.randint(1, 28)),
        "twcity": rng.choice(T.TW_CITIES), "twname": rng.choice(T.TW_NAMES),
        "hkplace": rng.choice(T.HK_PLACES), "hkname": rng.choice(T.HK_NAMES),
    }


def fill(template: str, ctx: dict[str, str], rng: random.Random) -> str:
    def one(m: re.Match) -> str:
        name, lo, hi = m.group(1), m.group(2), m.group(3)
        if name == "int":
            return str(rng.randint(int(lo), int(hi)))
        if name == "dec":
            return f"{rng.uniform(int(lo), int(hi)) + 0.1:.1f}"
        if name == "user":
            return rng.choice(T.FORUM_USERS)
        return ctx[name]
    return SLOT.sub(one, template)


# ---------------------------------------------------------------- articles

def pick_paragraphs(rng: random.Random, n_pool: int, k: int, taken: list[set[int]]) -> list[int]:
    """Pick k paragraph indexes sharing little with earlier picks from the same pool,
    so two articles from one pool are never near-duplicates by accident."""
    best, best_overlap = None, 2.0
    for _ in range(300):
        pick = set(rng.sample(range(n_pool), k))
        overlap = max((len(pick & t) / len(pick | t) for t in taken), default=0.0)
        if overlap < best_overlap:
            best, best_overlap = pick, overlap
        if overlap <= 0.3:
            break
    taken.append(best)
    return sorted(best)


def compose_article(rng: random.Random, titles: list[str], paras: list[str], taken: list[set[int]],
                    ctx: dict[str, str]) -> tuple[str, list[str]]:
    k = rng.choice([2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 10])
    k = min(k, len(paras) - 1)
    idx = pick_paragraphs(rng, len(paras), k, taken)
    while sum(len(paras[i]) for i in idx) < 220:
        idx = sorted(idx + [rng.choice([i for i in range(len(paras)) if i not in idx])])
    body = [fill(paras[i], ctx, rng) for i in idx]
    title = fill(rng.choice(titles), ctx, rng)
    while sum(map(len, body)) > 1450 and len(body) > 2:
        body.pop(rng.randrange(len(body)))
    return title, body


def pinyin_glue(text: str, rng: random.Random) -> tuple[str, int]:
    """Glue `(reading)` after Traditional-only characters, as a broken page template did in
    the seed page (`據(jù)`, `發(fā)`). Readings come from the Simplified form in context."""
    simplified = T2S.convert(text)
    if len(simplified) != len(text):
        return text, 0
    readings: dict[int, str] = {}
    for m in HAN_RUN.finditer(simplified):
        for offset, reading in enumerate(lazy_pinyin(m.group(), style=Style.TONE)):
            readings[m.start() + offset] = reading
    skipped = {c for c in dict.fromkeys(text) if rng.random() < 0.25}
    out, glued = [], 0
    for i, ch in enumerate(text):
        out.append(ch)
        if ch != simplified[i] and ch not in skipped and i in readings:
            out.append(f"({readings[i]})")
            glued += 1
    return "".join(out), glued


def machine_convert(text: str, rng: random.Random) -> str:
    converter = rng.choice([S2T, S2T, S2TW, S2HK])
    converted = converter.convert(text)
    rate = rng.uniform(0.4, 0.9)
    return "".join(CONVERSION_LEFTOVERS[c] if c in CONVERSION_LEFTOVERS and rng.random() < rate else c
                   for c in converted)


# ---------------------------------------------------------------- noise

SPAM_ADULT = ["无码高清", "毛片免费观看", "国产精品一区二区", "午夜福利", "日韩精品不卡", "亚洲无码专区",
              "私人影院", "成人视频", "毛 片", "无.码"]
SPAM_GAMBLING = ["澳门赌场", "百家乐", "真人娱乐", "在线开户", "首存送88%", "时时彩计划", "体育投注",
                 "棋牌游戏", "网上赌城", "老虎机", "百-家-乐", "澳门赌.场", "彩票计划群"]
SPAM_PIRACY = ["破解版", "免费下载", "注册码", "激活码", "绿色破解版", "网盘资源", "电视剧全集",
               "免费观看", "在线播放", "无删减版", "高清下载"]
SPAM_MODS = ["2024最新", "永久免费", "官网", "手机版", "高清", "在线", "免费", "不卡", "2023", "入口"]

HANS_BREADCRUMBS = ["当前位置：首页 > 新闻中心 > 正文", "您的位置：首页 > {section} > 正文",
                    "当前位置: 网站首页 >> {section} >> 详情", "位置：首页 › {section} › 文章",
                    "首页 > {section} > 正文"]
HANT_BREADCRUMBS = ["目前位置：首頁 > 新聞 > 內文", "首頁 > {section} > 正文", "您的位置：首頁 › {section}"]
HANS_SECTIONS = {"news": "本地新闻", "tech": "科技", "finance": "财经", "health": "健康", "education": "教育",
                 "travel": "旅游", "review": "评测", "sports": "体育", "culture": "文化", "gov": "通知公告",
                 "recipe": "美食", "forum": "社区"}
HANT_SECTIONS = {"tw": "生活", "hk": "港聞", "news": "地方", "tech": "科技", "finance": "財經",
                 "health": "健康", "education": "教育", "sports": "體育", "culture": "文化", "travel": "旅遊"}
HANS_MENU = "首页 | 新闻 | 财经 | 科技 | 体育 | 娱乐 | 健康 | 教育 | 旅游 | 房产 | 汽车 | 论坛"
HANT_MENU = "首頁 | 新聞 | 財經 | 科技 | 體育 | 娛樂 | 生活 | 旅遊 | 論壇"
HANS_SOURCES = ["本站原创", "综合整理", "{city}晚报", "网络", "编辑部", "{city}发布"]
HANT_SOURCES = ["本站", "綜合報導", "中央社", "網路", "編輯部"]
AUTHORS = ["admin", "小编", "editor01", "{name}", "pmt02", "记者 {name}"]
COMPANIES = ["华信网络科技有限公司", "{city}绿源环保科技有限公司", "城市生活网", "鸿达信息技术有限公司",
             "{city}日新传媒有限公司"]
HANT_COMPANIES = ["生活網股份有限公司", "新視界媒體有限公司", "港聞網絡有限公司"]
ICP_PROVINCES = ["粤", "京", "沪", "浙", "苏", "川", "鲁", "闽"]
INSERTED_BOILERPLATE = ["（本文转载自网络，如有侵权请联系删除）", "更多精彩内容，请关注我们的微信公众号。",
                        "声明：本文仅代表作者观点，不代表本站立场。", "【点击领取】新人专享优惠券，限时三天！",
                        "相关阅读：", "责任编辑：admin"]


def date_string(rng: random.Random) -> str:
    return f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def fake_mobile(rng: random.Random, spaced: bool) -> str:
    prefix, tail = rng.choice(["138", "139", "137", "150", "186"]), f"{rng.randint(0, 9999):04d}"
    return f"{prefix} 0000 {tail}" if spaced else f"{prefix}0000{tail}"


def seo_line(rng: random.Random) -> str:
    pools = rng.sample([SPAM_ADULT, SPAM_GAMBLING, SPAM_PIRACY], rng.choice([1, 2]))
    words = [rng.choice(SPAM_MODS) * (rng.random() < 0.4) + rng.choice(rng.choice(pools)) + rng.choice(SPAM_MODS)
             for _ in range(rng.randint(5, 9))]
    return "|".join(words)


def meta_line(rng: random.Random, ctx: dict[str, str], hant: bool) -> str:
    date, n = date_string(rng), rng.randint(30, 9999)
    if hant:
        src = rng.choice(HANT_SOURCES)
        return rng.choice([
            f"來源：{src} | 作者：{rng.choice(T.TW_NAMES)} | 發布時間：{date} | 瀏覽 {n} 次 | 分享到：",
            f"{date} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}　來源：{src}　字級：小 中 大　列印",
            f"發布時間：{rng.randint(100, 1999)}天前 | {n} 次瀏覽 | 分享到："])
    src = fill(rng.choice(HANS_SOURCES), ctx, rng)
    author = fill(rng.choice(AUTHORS), ctx, rng)
    return rng.choice([
        f"来源：{src} | 作者：{author} | 发布时间：{date} | 阅读 {n} 次 | 分享到：",
        f"发布时间：{date} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}  来源：{src}  浏览次数：{n}",
        f"{date}  来源：{src}  编辑：{author}  【字体：大 中 小】【打印】【关闭】",
        f"作者：{author}  时间：{date}  点击：{n}次"])


def footer_lines(rng: random.Random, ctx: dict[str, str], hant: bool) -> list[str]:
    if hant:
        company = rng.choice(HANT_COMPANIES)
        lines = [f"Copyright © {rng.randint(2008, 2018)}-2024 {company} 版權所有",
                 f"客服專線：0800-000-{rng.randint(100, 999)}",
                 "本網站內容未經授權，禁止轉載",
                 "關於我們 | 聯絡我們 | 隱私權政策 | 網站地圖"]
    else:
        company = fill(rng.choice(COMPANIES), ctx, rng)
        lines = [f"版权所有 © {rng.randint(2008, 2018)}-2024 {company} "
                 f"{rng.choice(ICP_PROVINCES)}ICP备{rng.randint(10000000, 99999999)}号-{rng.randint(1, 3)}",
                 f"免费服务热线：400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                 "扫码关注公众号", "关于我们 | 联系我们 | 广告服务 | 网站地图 | 免责声明",
                 "本站部分内容来源于网络，如有侵权请联系删除。",
                 f"{rng.choice(ICP_PROVINCES)}公网安备 {rng.randint(10000000000000, 99999999999999)}号"]
    return rng.sample(lines, rng.randint(2, len(lines)))


def contact_block(rng: random.Random, ctx: dict[str, str]) -> list[str]:
    return [f"联系人：{ctx['name'][0]}经理",
            f"手机：{fake_mobile(rng, spaced=True)}（微信同号）",
            f"电话：0{rng.randint(10, 999)}-8{rng.randint(1000000, 9999999)}",
            f"邮箱：service{rng.randint(1, 99)}@example.com",
            f"地址：{ctx['city']}市{ctx['district']}区科技路{rng.randint(1, 300)}号"]


def company_header(rng: random.Random, ctx: dict[str, str], hant: bool) -> list[str]:
    """The seed page's header: a company name, a bare phone number, a slogan, a lone `?`."""
    name = rng.choice(["匯綠環保", "鴻達科技", "新視界"]) if hant else fill(rng.choice(["{city}绿源", "鸿达科技", "日新传媒"]), ctx, rng)
    slogan = rng.choice(["讓資源循環無限", "科技改變生活"]) if hant else rng.choice(["让资源循环无限", "科技改变生活", "专注品质二十年"])
    return [" \u00a0", name, "", fake_mobile(rng, spaced=False) + "         ", "  ", slogan, "", "?", "  "]


HALF_WIDTH = {"，": ",", "：": ":", "？": "?", "！": "!", "；": ";", "（": "(", "）": ")"}


def half_width_punctuation(text: str, rng: random.Random) -> str:
    rate = rng.uniform(0.5, 1.0)
    return "".join(HALF_WIDTH[c] if c in HALF_WIDTH and rng.random() < rate else c for c in text)


def full_width_ascii(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def whitespace_junk(lines: list[str], rng: random.Random) -> list[str]:
    """No-break and zero-width spaces, trailing spaces, full-width Latin letters and digits."""
    out = []
    for line in lines:
        if line and rng.random() < 0.3:
            pos = rng.randrange(len(line))
            line = line[:pos] + rng.choice(["\u200b", "\u00a0", "\ufeff"]) + line[pos:]
        if rng.random() < 0.4:
            line += rng.choice([" ", "  ", "\u00a0", " \u00a0 "])
        out.append(line)
        if rng.random() < 0.2:
            out.append(rng.choice([" ", "\u00a0", "\u3000", ""]))
    ascii_runs = [i for i, line in enumerate(out) if re.search(r"[A-Za-z0-9]{2,}", line)]
    if ascii_runs:
        i = rng.choice(ascii_runs)
        out[i] = re.sub(r"[A-Za-z0-9][A-Za-z0-9.\-]+", lambda m: full_width_ascii(m.group()), out[i], count=1)
    else:
        out.insert(rng.randint(1, len(out)), full_width_ascii(f"VIP{rng.randint(2019, 2024)}") + "会员专享")
    return out


# Each list is cycled so every kind appears; Big5 mis-decoding only makes sense for Traditional text.
HANS_MOJIBAKE = ["utf8_as_gbk", "kunjinkao", "lost_chars", "gbk_as_latin1", "utf8_as_cp1252"]
HANT_MOJIBAKE = ["big5_as_gbk", "utf8_as_gbk", "lost_chars", "kunjinkao"]


def mojibake_phrase(phrase: str, kind: str, hant: bool) -> str:
    if kind == "utf8_as_gbk":
        return phrase.encode("utf-8").decode("gbk", errors="replace")
    if kind == "gbk_as_latin1":
        return phrase.encode("gbk", errors="replace").decode("latin-1")
    if kind == "utf8_as_cp1252":
        return phrase.encode("utf-8").decode("cp1252", errors="replace")
    if kind == "kunjinkao":
        # Two U+FFFD written as UTF-8 and read back as GBK: the classic 锟斤拷.
        return re.sub(r"[\u4e00-\u9fff]{2}", lambda m: "\ufffd\ufffd".encode("utf-8").decode("gbk"), phrase, count=2)
    if kind == "lost_chars":
        # Saved in a charset without these characters: each one becomes `?`.
        charset = "gb2312" if hant else "big5"
        return phrase.encode(charset, errors="replace").decode(charset)
    if kind == "big5_as_gbk":
        return phrase.encode("big5", errors="replace").decode("gbk", errors="replace")
    raise ValueError(kind)


def apply_mojibake(body: list[str], rng: random.Random, kind: str, hant: bool) -> list[str]:
    body = list(body)
    i = rng.randrange(len(body))
    para = body[i]
    start = rng.randrange(max(1, len(para) - 20))
    end = start + rng.randint(6, 18)
    if kind == "lost_chars":  # needs characters missing from the other charset
        start, end = 0, len(para)
    body[i] = para[:start] + mojibake_phrase(para[start:end], kind, hant) + para[end:]
    return body


# ---------------------------------------------------------------- urls

HANS_HOSTS = {
    "news": ["www.chengshi-news.cn", "news.jiangnan-ribao.cn"], "tech": ["tech.kejiqianyan.cn", "blog.daimashuo.cn"],
    "finance": ["finance.licai-zixun.cn", "www.caijing-zaocan.cn"], "health": ["www.jiankang-kepu.cn", "health.yisheng-shuo.cn"],
    "education": ["edu.jiaoyu-guancha.cn", "www.xiaoyuan-wang.cn"], "travel": ["travel.lvxing-biji.cn", "www.youji-zhan.com"],
    "review": ["www.haowu-pingce.cn", "club.shuma-luntan.cn"], "sports": ["sports.tiyu-zhoumo.cn", "www.paobu-quan.cn"],
    "culture": ["culture.wenhua-zhoukan.cn", "www.dushu-ji.cn"], "gov": ["zwgk.chengdongqu-sample.gov.cn"],
    "recipe": ["www.jiachangcai-pu.cn", "m.chufang-riji.cn"], "forum": ["bbs.shenghuo-luntan.cn", "www.jiating-bbs.cn"],
    "tw": ["news.shenghuo-tw.com.tw", "www.3c-kaixiang.tw"], "hk": ["news.hk-ribao-sample.com.hk"],
    "ja": ["www.machi-news.jp", "blog.obento-nikki.jp"], "ko": ["news.seoul-ilbo-sample.co.kr", "blog.yori-note.kr"],
    "en": ["www.citydesk-news.com", "blog.smallteam.dev"], "mixed": ["www.zhongwen-yuliao.cn", "shop.riben-zhiyou.cn"],
    "short": ["weibo.sample-social.cn", "bbs.shenghuo-luntan.cn"],
}


def make_url(rng: random.Random, topic: str, directory_style: bool = False) -> str:
    host = rng.choice(HANS_HOSTS[topic])
    y, m, d, n = rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28), rng.randint(10000, 999999)
    if directory_style:
        return f"https://{host}/{y}/{m:02d}{d:02d}/{n}/"
    path = rng.choice([f"/{y}/{m:02d}{d:02d}/{n}.shtml", f"/article/{n}.html",
                       f"/content/{y}-{m:02d}/{d:02d}/content_{n}.htm", f"/p/{n}", f"/thread-{n}-1-1.html"])
    return f"https://{host}{path}"


def spam_url(rng: random.Random) -> str:
    host = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(rng.randint(4, 8)))
    scheme = rng.choice(["http", "https"])
    return f"{scheme}://www.{host}.example/{rng.choice(['', 'index.html', f'vod/{rng.randint(1, 9999)}.html'])}"


# ---------------------------------------------------------------- documents

def decorate(rng: random.Random, title: str, body: list[str], ctx: dict[str, str], topic: str,
             hant: bool, noise_rate: float, other_titles: list[str], mojibake: Iterator[str]) -> tuple[str, list[str], int]:
    """Wrap an article in crawler noise; returns the text, the noise tags and the paragraph count."""
    notes: list[str] = []

    def want(p: float) -> bool:
        return rng.random() < p * noise_rate

    sections = HANT_SECTIONS if hant else HANS_SECTIONS
    head: list[str] = []
    if want(0.12):
        head.append(seo_line(rng)); notes.append("seo")
    if want(0.08):
        head += company_header(rng, ctx, hant); notes.append("company_header")
    if want(0.15):
        head.append(HANT_MENU if hant else HANS_MENU); notes.append("menu")
    if want(0.3):
        crumb = rng.choice(HANT_BREADCRUMBS if hant else HANS_BREADCRUMBS)
        head.append(crumb.format(section=sections.get(topic, "資訊" if hant else "资讯"))); notes.append("breadcrumb")
    head.append(title)
    if want(0.4):
        head.append(meta_line(rng, ctx, hant)); notes.append("meta")
    if rng.random() < 0.15:
        body = ["\u3000\u3000" + p for p in body]; notes.append("indent")
    if want(0.15):
        kind = next(mojibake)
        body = apply_mojibake(body, rng, kind, hant); notes.append(f"mojibake:{kind}")
    tail: list[str] = []
    if want(0.1):
        tail += contact_block(rng, ctx); notes.append("contact")
    if want(0.2):
        prev_next = ("上一篇：", "下一篇：")
        tail += [prev_next[0] + rng.choice(other_titles), prev_next[1] + rng.choice(other_titles)]
        notes.append("prev_next")
    if want(0.35):
        tail += footer_lines(rng, ctx, hant); notes.append("footer")
    if want(0.06):
        tail.append(seo_line(rng)); notes.append("seo")
    lines = head + body + tail
    if want(0.2):
        lines = whitespace_junk(lines, rng); notes.append("whitespace")
    sep = "\n\n" if rng.random() < 0.35 else "\n"
    text = sep.join(lines)
    if want(0.15):
        text = half_width_punctuation(text, rng); notes.append("half_width_punct")
    return text, notes, len(body)


def seedlike(rng: random.Random, title: str, body: list[str], ctx: dict[str, str]) -> tuple[str, list[str]]:
    """Machine-converted Traditional wrapped like the seed page: spam line, company header,
    metadata, pinyin after Traditional-only characters, ASCII punctuation, NBSP lines, footer."""
    kind = rng.choice(["utf8_as_gbk", "big5_as_gbk", "kunjinkao"])
    body = apply_mojibake(body, rng, kind, hant=True)
    lines = [seo_line(rng), *company_header(rng, ctx, hant=True), title, meta_line(rng, ctx, hant=True)]
    for p in body:
        lines += [p, " \u00a0" if rng.random() < 0.6 else ""]
    lines += ["新聞資訊", "News information?", "  ", "", "免費服務熱線", "", fake_mobile(rng, spaced=False)]
    text = half_width_punctuation("\n".join(lines), rng)
    text, glued = pinyin_glue(text, rng)
    return text, ["seo", "company_header", "meta", f"mojibake:{kind}", "half_width_punct", f"pinyin:{glued}", "footer"]


def build_articles(rng: random.Random) -> list[Doc]:
    docs: list[Doc] = []
    taken: dict[str, list[set[int]]] = {}
    hans_mojibake, hant_mojibake = cycle(HANS_MOJIBAKE), cycle(HANT_MOJIBAKE)
    all_titles = [t for titles, _ in T.HANS_POOLS.values() for t in titles if "{" not in t]
    hant_titles = [S2T.convert(t) for t in all_titles]

    def url_for(topic: str) -> str | None:
        return make_url(rng, topic) if rng.random() < 0.7 else None

    for topic, (titles, paras) in T.HANS_POOLS.items():
        for _ in range(10):
            ctx = slot_context(rng)
            title, body = compose_article(rng, titles, paras, taken.setdefault(topic, []), ctx)
            noise = 0.0 if rng.random() < 0.3 else 1.0
            text, notes, n = decorate(rng, title, body, ctx, topic, False, noise, all_titles, hans_mojibake)
            docs.append(Doc("zh_hans_article", text, url_for(topic), notes=[topic, *notes], paragraphs=n))
    for title_t, body_t in T.GOV_NOTICES:
        ctx = slot_context(rng)
        body = fill(body_t, ctx, rng).split("\n")
        text, notes, n = decorate(rng, fill(title_t, ctx, rng), body, ctx, "gov", False, rng.choice([0.0, 0.7]), all_titles, hans_mojibake)
        docs.append(Doc("zh_hans_article", text, url_for("gov"), notes=["gov", *notes], paragraphs=n))
    for title, body_t in T.RECIPES:
        ctx = slot_context(rng)
        text, notes, n = decorate(rng, title, body_t.split("\n"), ctx, "recipe", False, rng.choice([0.0, 1.0]), all_titles, hans_mojibake)
        docs.append(Doc("zh_hans_article", text, url_for("recipe"), notes=["recipe", *notes], paragraphs=n))
    for title_t, floors in T.FORUM_THREADS:
        ctx = slot_context(rng)
        body = [f"发表于 {date_string(rng)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"]
        for i, floor in enumerate(floors):
            label = "楼主" if i == 0 else f"{i + 1}楼"
            body.append(f"{label} {rng.choice(T.FORUM_USERS)}：{fill(floor, ctx, rng)}")
        body.append(rng.choice(["回复 | 举报 | 收藏", "返回列表 | 发新帖", "快速回复 返回顶部 返回列表"]))
        text, notes, n = decorate(rng, fill(title_t, ctx, rng), body, ctx, "forum", False, rng.choice([0.0, 1.0]), all_titles, hans_mojibake)
        docs.append(Doc("zh_hans_article", text, url_for("forum"), notes=["forum", *notes], paragraphs=n))

    for region, count in (("tw", 16), ("hk", 12)):
        titles, paras = T.HANT_POOLS[region]
        for _ in range(count):
            ctx = slot_context(rng)
            title, body = compose_article(rng, titles, paras, taken.setdefault(region, []), ctx)
            noise = 0.0 if rng.random() < 0.35 else 1.0
            text, notes, n = decorate(rng, title, body, ctx, region, True, noise, hant_titles, hant_mojibake)
            docs.append(Doc("zh_hant_article", text, url_for(region), notes=[region, *notes], paragraphs=n))

    converted_topics = ["news", "tech", "finance", "health", "education", "sports", "culture", "travel"]
    for i in range(28):
        topic = converted_topics[i % len(converted_topics)]
        titles, paras = T.HANS_POOLS[topic]
        ctx = slot_context(rng)
        title, body = compose_article(rng, titles, paras, taken[topic], ctx)
        title, body = machine_convert(title, rng), [machine_convert(p, rng) for p in body]
        if i < 5:
            text, notes = seedlike(rng, title, body, ctx)
            n = len(body)
        else:
            noise = 0.0 if rng.random() < 0.3 else 1.0
            text, notes, n = decorate(rng, title, body, ctx, topic, True, noise, hant_titles, hant_mojibake)
        docs.append(Doc("zh_hant_converted", text, url_for(topic), notes=[topic, *notes], paragraphs=n))
    return docs


SPAM_BRANDS = ["金鼎娱乐", "鸿运国际", "天辰娱乐城", "皇朝棋牌", "万利彩票"]
PIRATED_TITLES = ["长夜将明", "山海追光", "逆风少年", "深海迷城", "我的邻居是侦探"]


def build_spam(rng: random.Random) -> list[Doc]:
    docs = []

    def add(text: str, note: str) -> None:
        docs.append(Doc("spam", text, spam_url(rng) if rng.random() < 0.55 else None, notes=[note]))

    for _ in range(10):
        lines = [f"{rng.choice(SPAM_PIRACY + SPAM_GAMBLING)}_{rng.choice(SPAM_ADULT)}_{rng.choice(SPAM_MODS)}官方网站"]
        lines += [seo_line(rng) for _ in range(rng.randint(3, 8))]
        if rng.random() < 0.5:
            lines.append("关键词：" + "，".join(rng.sample(SPAM_GAMBLING + SPAM_PIRACY, 6)))
        add("\n".join(lines), "keywords")
    for _ in range(8):
        anchors = rng.sample(SPAM_BRANDS + SPAM_GAMBLING + [f"{t}在线观看" for t in PIRATED_TITLES], 10)
        lines = ["友情链接："] + [f"{a} {spam_url(rng)}" for a in anchors]
        if rng.random() < 0.5:
            lines.append("热门搜索：" + " ".join(rng.sample(SPAM_PIRACY + SPAM_ADULT, 8)))
        add("\n".join(lines), "link_farm")
    for _ in range(8):
        brand = rng.choice(SPAM_BRANDS)
        lines = [f"【{brand}】官方唯一指定网站",
                 f"{rng.choice(['百家乐', '真人视讯', '体育投注', '电子游艺'])}、{rng.choice(['龙虎斗', '老虎机', '捕鱼达人'])}，"
                 f"新会员首存即送{rng.randint(50, 188)}%，日出款无上限！",
                 f"注册就送{rng.choice([18, 38, 58, 88])}元体验金，{rng.choice(['秒到账', '三分钟到账', '提款秒到'])}，信誉第一！",
                 f"客服QQ：{rng.randint(10000000, 999999999)}  微信：{fake_mobile(rng, spaced=False)}",
                 f"备用网址：{spam_url(rng)}"]
        add("\n".join(rng.sample(lines, len(lines)) if rng.random() < 0.3 else lines), "gambling_ad")
    for _ in range(6):
        title = rng.choice(PIRATED_TITLES)
        episodes = " ".join(f"第{i:02d}集" for i in range(1, rng.randint(12, 40)))
        lines = [f"《{title}》全集在线观看 - 高清免费 - 无删减版", episodes,
                 f"网盘下载链接：{spam_url(rng)} 提取码：{rng.randint(1000, 9999)}",
                 "|".join(rng.sample(SPAM_PIRACY, 6))]
        add("\n".join(lines), "piracy")
    for text in ["404 Not Found\n对不起，您访问的页面不存在！\n返回首页", "正在加载……\n\n\n", "该页面已删除\n返回首页 | 返回上一页",
                 "首页 > 详情\n\n\n\n返回顶部", " \n登录 | 注册\n \u00a0"]:
        add(text, "near_empty")
    for i in range(5):
        lines = [HANT_MENU if i == 4 else HANS_MENU, rng.choice(HANS_BREADCRUMBS).format(section="列表")]
        lines += [f"· {t}" for t in rng.sample(list(dict.fromkeys(t for ts, _ in T.HANS_POOLS.values() for t in ts if "{" not in t)), 4)] if i % 2 else []
        lines += ["上一页 1 2 3 4 5 下一页 尾页", *footer_lines(rng, slot_context(rng), hant=i == 4)]
        add("\n".join(lines), "navigation_only")
    for _ in range(2):
        lines = ["線上娛樂城|澳門賭場|百家樂|運彩投注|老虎機|首存送100%",
                 f"{rng.choice(['金鼎娛樂', '鴻運國際'])} 註冊送{rng.choice([168, 388])}元 出金快速 信譽保證",
                 f"LINE客服：sample{rng.randint(100, 999)}"]
        add("\n".join(lines), "keywords_hant")
    return docs


def build_others(rng: random.Random) -> list[Doc]:
    docs = []
    for kind, pages, rate in (("ja", T.JAPANESE_PAGES, 0.6), ("ko", T.KOREAN_PAGES, 0.6),
                              ("en", T.ENGLISH_PAGES, 0.6), ("mixed", T.MIXED_PAGES, 1.0)):
        for page in pages:
            docs.append(Doc(kind, page, make_url(rng, kind) if rng.random() < rate else None))
    for page in T.SHORT_PAGES:
        docs.append(Doc("short", page, make_url(rng, "short") if rng.random() < 0.3 else None))
    return docs


# ---------------------------------------------------------------- duplicates

def url_variant(url: str, rng: random.Random) -> str:
    if url.endswith("/"):
        return url + rng.choice(["index.shtml", "index.html"])
    return rng.choice([url + f"?id={rng.randint(100, 999)}", url + "?utm_source=wechat&from=timeline",
                       url.replace("https://", "http://", 1), url + "#comments"])


def whitespace_variant(text: str, rng: random.Random) -> str:
    variant = rng.choice(["crlf", "trailing", "blank_lines", "padding"])
    if variant == "crlf":
        return text.replace("\n", "\r\n")
    if variant == "trailing":
        return "\n".join(line + "  " for line in text.split("\n"))
    if variant == "blank_lines":
        return re.sub(r"\n+", "\n\n\n", text)
    return "\n\n  " + text + " \n"


COMMON_HAN = "的一是不了在人有我他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切统"


NEAR_EDITS = ["number", "boilerplate", "delete_paragraph", "char_edits"]


def near_variant(doc: Doc, rng: random.Random, edit: str) -> tuple[str, str]:
    text = doc.text
    sep = "\n\n" if "\n\n" in text else "\n"
    lines = text.split(sep)
    if edit == "delete_paragraph" and len(lines) >= 4:
        longest = max(range(1, len(lines)), key=lambda i: len(lines[i]) * (rng.random() + 0.5))
        del lines[longest]
        return sep.join(lines), edit
    if edit == "boilerplate":
        lines.insert(rng.randint(2, len(lines)), rng.choice(INSERTED_BOILERPLATE))
        return sep.join(lines), edit
    if edit == "number" and re.search(r"\d", text):
        changed = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)) if rng.random() < 0.5 else m.group(), text)
        if changed != text:
            return changed, edit
    rate = rng.uniform(0.05, 0.15)
    out = []
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff" and rng.random() < rate:
            op = rng.random()
            if op < 0.6:
                out.append(rng.choice(COMMON_HAN))
            elif op < 0.8:
                continue
            else:
                out.append(ch + rng.choice(COMMON_HAN))
        else:
            out.append(ch)
    return "".join(out), f"char_edits:{rate:.2f}"


def build_duplicates(rng: random.Random, articles: list[Doc]) -> list[Doc]:
    candidates = [d for d in articles if len(d.text) >= 300 and d.paragraphs >= 3]
    originals = rng.sample(candidates, 30)
    dups = []
    for i, orig in enumerate(originals[:15]):
        if i < 10:
            if orig.url and i % 3 == 0:
                orig.url = make_url(rng, orig.notes[0] if orig.notes[0] in HANS_HOSTS else "news", directory_style=True)
            url = url_variant(orig.url, rng) if orig.url and i % 4 != 3 else (orig.url if i % 4 == 3 else None)
            dups.append(Doc("exact_dup", orig.text, url, dup_of=orig, notes=["same_text"]))
        else:
            dups.append(Doc("exact_dup", whitespace_variant(orig.text, rng), orig.url, dup_of=orig, notes=["whitespace"]))
    for i, orig in enumerate(originals[15:]):
        text, edit = near_variant(orig, rng, NEAR_EDITS[i % len(NEAR_EDITS)])
        url = url_variant(orig.url, rng) if orig.url and rng.random() < 0.5 else None
        dups.append(Doc("near_dup", text, url, dup_of=orig, notes=[edit]))
    return dups


def build(seed: int = SEED) -> list[Doc]:
    rng = random.Random(seed)
    articles = build_articles(rng)
    base = articles + build_spam(rng) + build_others(rng)
    dups = build_duplicates(rng, articles)
    rng.shuffle(base)
    order = base
    for dup in dups:
        after = next(i for i, d in enumerate(order) if d is dup.dup_of)
        order.insert(rng.randint(after + 1, len(order)), dup)
    for i, doc in enumerate(order, start=1):
        doc.doc_id = f"sample-{i:06d}"
    return order


def write(docs: list[Doc], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl, labels = out_dir / f"{SAMPLE_NAME}.jsonl", out_dir / f"{SAMPLE_NAME}.labels.tsv"
    with jsonl.open("w", encoding="utf-8", newline="\n") as f:
        for doc in docs:
            record = {"id": doc.doc_id, **({"url": doc.url} if doc.url else {}), "text": doc.text}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    with labels.open("w", encoding="utf-8", newline="\n") as f:
        f.write("id\tkind\tdup_of\tnotes\n")
        for doc in docs:
            f.write(f"{doc.doc_id}\t{doc.kind}\t{doc.dup_of.doc_id if doc.dup_of else ''}\t{','.join(doc.notes)}\n")
    return jsonl, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    for path in write(build(), args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
