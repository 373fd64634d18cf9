"""The training script end to end on a small realweb-shaped folder written here: CV figures, a model the stage loads."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from builder.stages import Batch
from builder.stages.quality_model import QualityModel, QualityModelParams
from conftest import REPO, write_jsonl

pytest.importorskip("sklearn")  # the `train` extra; the stage itself needs numpy only

SENTENCES = [
    "清晨的菜市场已经热闹起来，摊主们忙着把新鲜的蔬菜摆上案板。",
    "老师在课堂上耐心地讲解这道题的思路，同学们一边听一边做笔记。",
    "这座小城的历史可以追溯到唐代，城墙和古桥至今保存得相当完好。",
    "医生提醒，秋冬季节早晚温差大，老人和孩子要注意及时增减衣物。",
    "他把自己多年的种植经验写成了一本小册子，免费送给附近的农户。",
    "比赛进行到最后一分钟，主队终于打进了扳平比分的关键一球。",
    "研究人员发现，适量的运动能够明显改善睡眠质量，并减轻焦虑情绪。",
    "图书馆新开设的自习区每天都坐满了准备考试的学生，十分安静。",
]
MENUS = ["首页", "新闻", "体育", "娱乐", "财经", "科技", "汽车", "房产", "旅游", "教育", "登录", "注册", "更多"]


def prose(i: int) -> str:
    picked = [SENTENCES[(i + k) % len(SENTENCES)] for k in range(5)]
    return "\n".join("".join(picked[k : k + 2]) for k in range(0, 5, 2))


def junk(i: int) -> str:
    rotated = MENUS[i % len(MENUS) :] + MENUS[: i % len(MENUS)]
    return "\n".join(rotated) if i % 2 else " | ".join(f"{m}{m}大全" for m in rotated)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "realweb"
    dureader = [{"id": f"du-{i}", "text": prose(i) if i % 2 == 0 else junk(i),
                 "locator": {"question_id": i}} for i in range(24)]  # fmt: skip
    write_jsonl(root / "text" / "dureader_search.jsonl", dureader)
    write_jsonl(root / "labels" / "dureader.jsonl", [
        {"id": d["id"], "doc_label": "keep" if i % 2 == 0 else "drop", "category": "article" if i % 2 == 0 else "list_nav",
         "junk_lines": [], "note": ""} for i, d in enumerate(dureader)])  # fmt: skip
    pages = [{"id": f"page-{i}", "text": "\n".join(MENUS[:4]) + "\n" + (prose(i + 3) if i < 6 else junk(i + 5)),
              "url": f"https://site{i}.example.cn/a.html"} for i in range(12)]  # fmt: skip
    write_jsonl(root / "html" / "page_text.jsonl", pages)
    write_jsonl(root / "labels" / "html_pages.jsonl", [
        {"id": p["id"], "doc_label": "keep" if i < 6 else "drop", "category": "article" if i < 6 else "list_nav",
         "junk_lines": [], "note": ""} for i, p in enumerate(pages[:10])])  # fmt: skip
    write_jsonl(root / "html" / "main_content.jsonl", [
        {"file": f"{p['id']}.html", "kind": "article", "url": p["url"], "main_content": ""} for p in pages[10:]])
    write_jsonl(root / "text" / "crud_rag_news.jsonl",
                [{"id": f"news-{i}", "text": f"2023-08-1{i} 10:03:19，正文：{prose(i + 1)}"} for i in range(5)])
    extra = tmp_path / "extra"
    write_jsonl(extra / "more.jsonl", [{"id": "page-11", "doc_label": "drop", "category": "list_nav", "junk_lines": [], "note": ""}])
    return root, extra


def test_training_writes_cross_validated_metrics_and_a_model_the_stage_uses(folder, tmp_path):
    root, extra = folder
    out = tmp_path / "model"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "train_quality_model.py"), str(root), "--extra-labels", str(extra),
         "--out", str(out), "--bits", "12", "--keep-recall", "0.9"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    cv = metrics["cross_validated"]
    assert cv["labelled"] == {"keep": 12 + 6 + 1 + 5, "drop": 12 + 4 + 1}  # page-10 keep by main_content, page-11 drop by extra
    assert cv["auc"] > 0.9 and set(metrics["cross_source"]) == {"dureader->html", "html->dureader"}
    stage = QualityModel(QualityModelParams(model=str(out / "quality_model.npz"), annotate=True))
    scores = stage(Batch({"id": ["a", "b"], "text": [prose(100), junk(101)]}))["quality_score"]
    assert scores[0] > 0.5 > scores[1]
    assert stage.model.meta["threshold"] == cv["threshold"] and stage.model.bits == 12
