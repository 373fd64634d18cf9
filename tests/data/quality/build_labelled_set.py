"""Assemble the quality stage's labelled set from the hand-written parts beside this file.

`articles.yaml`, `posts.yaml` and `junk.yaml` were written by hand for this project; this
script wraps them into realistic pages (page header, breadcrumb, title, metadata, body,
share prompts, pagination, footer; forum threads; shop pages; pure spam; good pages with
injected spam lines) and records, for every line, whether it is junk. Seeded, so the
output `labelled.jsonl` is reproducible:

    python tests/data/quality/build_labelled_set.py

Labels: a page is `keep` when a reader would want its article, post or product text, and
`drop` when it is spam, has no content besides page furniture, is too short to be worth
anything, or is machine-repeated keyword text. A line is junk when it is page furniture
(navigation, metadata, pagination, prompts, footers, contact blocks, forum and shop chrome)
or spam; titles, subheadings, captions and all body text are not.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import opencc
import yaml

HERE = Path(__file__).resolve().parent
SEED = 20240615


def load(name):
    with open(HERE / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Page:
    def __init__(self, rng):
        self.rng = rng
        self.lines: list[tuple[str, bool]] = []

    def add(self, text, junk):
        self.lines.append((text, junk))

    def block(self, texts, junk):
        for text in texts:
            self.add(text, junk)

    def gap(self):
        if self.rng.random() < 0.5:
            self.add("", False)


def chrome_top(page, junk, rng, header=0.7, breadcrumb=0.3):
    if rng.random() < header:
        page.block(rng.choice(junk["headers"]), True)
        page.gap()


def chrome_bottom(page, junk, rng):
    if rng.random() < 0.5:
        page.add(rng.choice(junk["prompts"]), True)
    if rng.random() < 0.5:
        picks = rng.sample(junk["pagination"], 2)
        page.block(picks, True)
    if rng.random() < 0.8:
        page.gap()
        page.block(rng.choice(junk["footers"]), True)


def article_page(article, junk, extra, rng, spam_lines=0):
    page = Page(rng)
    spam = junk["spam_keyword_lines"] + junk["spam_prose_lines"]
    top_spam = spam_lines and rng.random() < 0.5
    if top_spam:
        page.add(rng.choice(spam), True)
        page.gap()
    chrome_top(page, junk, rng)
    page.add(article["title"], False)
    if rng.random() < 0.7:
        page.add(rng.choice(junk["metadata"]), True)
    page.gap()
    paragraphs = list(article["paragraphs"])
    if rng.random() < 0.3:
        paragraphs.insert(rng.randrange(1, len(paragraphs)), rng.choice(extra["short_lines"]))
    for index, paragraph in enumerate(paragraphs):
        page.add(paragraph, False)
        page.gap()
        if spam_lines > 1 and index == 0:
            page.add(rng.choice(spam), True)
    if spam_lines and not top_spam:
        page.add(rng.choice(spam), True)
    chrome_bottom(page, junk, rng)
    return page


def forum_page(thread, junk, rng):
    page = Page(rng)
    chrome_top(page, junk, rng, header=0.8)
    page.add(thread["title"], False)
    for index, post in enumerate(thread["posts"]):
        page.add(junk["forum_chrome"][0] if index == 0 else rng.choice(junk["forum_chrome"][1:]), True)
        page.add(post, False)
        if rng.random() < 0.4:
            page.add(rng.choice(["回复 引用 举报", "回复 支持 反对", "收藏 分享 评分"]), True)
    chrome_bottom(page, junk, rng)
    return page


def product_page(product, junk, rng):
    page = Page(rng)
    chrome_top(page, junk, rng, header=0.9)
    page.add(product["title"], False)
    page.block(rng.sample(junk["product_chrome"], 3), True)
    page.gap()
    page.block(product["lines"], False)
    page.gap()
    if rng.random() < 0.5:
        page.add(rng.choice(junk["product_chrome"]), True)
    chrome_bottom(page, junk, rng)
    return page


def spam_page(junk, rng):
    page = Page(rng)
    if rng.random() < 0.5:
        page.block(rng.choice(junk["headers"]), True)
    lines = rng.sample(junk["spam_keyword_lines"], rng.randint(1, 3)) + rng.sample(
        junk["spam_prose_lines"], rng.randint(2, 5)
    )
    rng.shuffle(lines)
    page.block(lines, True)
    if rng.random() < 0.6:
        page.block(rng.choice(junk["footers"]), True)
    return page


def furniture_page(junk, rng):
    page = Page(rng)
    page.block(rng.choice(junk["headers"]), True)
    page.block(rng.sample(junk["pagination"], 3), True)
    page.block(rng.sample(junk["prompts"], 2), True)
    page.block(rng.choice(junk["footers"]), True)
    return page


def short_page(extra, junk, rng):
    page = Page(rng)
    chrome_top(page, junk, rng, header=1.0)
    page.add(junk["forum_chrome"][0], True)
    page.add(rng.choice(extra["short_replies"]), False)
    page.add(rng.choice(junk["forum_chrome"][1:]), True)
    page.add(rng.choice(extra["short_replies"]), False)
    chrome_bottom(page, junk, rng)
    return page


def repetitive_page(articles, rng):
    """Machine-made keyword text: one sentence or phrase stamped over and over."""
    page = Page(rng)
    title = rng.choice(articles)["title"]
    phrase = title.split(" ")[0]
    style = rng.randrange(3)
    if style == 0:
        sentence = rng.choice(articles)["paragraphs"][0]
        for _ in range(rng.randint(5, 8)):
            page.add(sentence, False)
    elif style == 1:
        for _ in range(rng.randint(4, 6)):
            page.add("，".join([phrase] * rng.randint(6, 10)) + "。", False)
    else:
        words = [phrase, phrase + "哪家好", phrase + "多少钱", phrase + "电话", phrase + "价格", "专业" + phrase]
        for _ in range(rng.randint(4, 6)):
            page.add(" ".join(rng.sample(words, len(words))) + "。", False)
    return page


def main():
    rng = random.Random(SEED)
    articles = load("articles.yaml")
    extra = load("posts.yaml")
    junk = load("junk.yaml")
    s2t = opencc.OpenCC("s2t")
    docs = []

    def emit(kind, label, page):
        traditional = rng.random() < 0.35
        lines = [(s2t.convert(t) if traditional else t, j) for t, j in page.lines]
        while lines and not lines[-1][0]:
            lines.pop()
        docs.append(
            {
                "id": f"{kind}-{len(docs):03d}",
                "kind": kind,
                "label": label,
                "script": "Hant" if traditional else "Hans",
                "lines": [[t, j] for t, j in lines],
                "text": "\n".join(t for t, _ in lines),
            }
        )

    for article in articles:
        for _ in range(2):
            emit("article", "keep", article_page(article, junk, extra, rng))
        emit("article_injected", "keep", article_page(article, junk, extra, rng, spam_lines=rng.randint(1, 2)))
    for thread in extra["forum"]:
        for _ in range(2):
            emit("forum", "keep", forum_page(thread, junk, rng))
    for product in extra["product"]:
        for _ in range(2):
            emit("product", "keep", product_page(product, junk, rng))
    for _ in range(40):
        emit("spam", "drop", spam_page(junk, rng))
    for _ in range(10):
        emit("furniture", "drop", furniture_page(junk, rng))
    for _ in range(8):
        emit("short", "drop", short_page(extra, junk, rng))
    for _ in range(10):
        emit("repetitive", "drop", repetitive_page(articles, rng))
    with open(HERE / "labelled.jsonl", "w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"{len(docs)} documents written to {HERE / 'labelled.jsonl'}")


if __name__ == "__main__":
    main()
