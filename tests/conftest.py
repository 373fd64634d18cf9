"""Shared fixtures: small corpora written to tmp folders, and a helper to run the real CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Datasets reads its cache location at import: point it at a private folder, offline, first.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="zh-builder-hf-")
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

ARTICLES = [
    "北京市今天发布了新的空气质量报告。报告显示，今年以来全市细颗粒物平均浓度继续下降，优良天数比去年同期增加了十二天。专家表示，这与燃煤治理和机动车排放管控密切相关。",
    "台北市政府今日宣布，將在明年擴大公共自行車的服務範圍。市府表示，新增的站點主要設在捷運站周邊，方便市民轉乘，並希望藉此減少汽機車的使用量。",
    "随着人工智能技术的快速发展，越来越多的企业开始把大模型应用到客服、写作和数据分析等场景中。不过，业内人士提醒，数据安全和模型可靠性仍然是落地过程中需要重点解决的问题。",
    "這家位於老街的小吃店已經營業三十多年，招牌的肉圓外皮軟Q、內餡鮮美，每到週末總是大排長龍。老闆說，堅持每天現做，是他們能留住老顧客的秘訣。",
    "近日，某地教育部门出台了减轻中小学生课业负担的具体措施，包括控制书面作业总量、保障学生每天一小时的体育活动时间，以及规范校外培训机构的收费行为。",
    "今年夏天，南方多个省份遭遇持续强降雨，部分地区出现城市内涝。气象部门提醒公众，雨季期间尽量减少外出，注意防范山洪、泥石流等次生灾害。",
]


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write((record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)) + "\n")
    return path


def write_config(path: Path, inputs: list[str], stages: str = "  - type: normalize\n", extra: str = "",
                 version: str = "1.0.0", root: Path | None = None, fmt: str = "jsonl", workers: int = 1) -> Path:
    root = root or path.parent / "out"
    text = (
        f"name: test-set\nversion: {version}\n"
        f"input:\n  paths: {json.dumps([str(p) for p in inputs])}\n  format: {fmt}\n{extra}"
        f"stages:\n{stages}"
        f"publish:\n  root: {root}\n"
        f"executor:\n  workers: {workers}\n  batch_size: 4\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "builder", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=300)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    records = [{"id": f"doc-{i}", "url": f"https://example.com/{i}", "text": text} for i, text in enumerate(ARTICLES)]
    records.append({"id": "dup-0", "url": "https://example.com/0/index.shtml", "text": ARTICLES[0]})
    return write_jsonl(tmp_path / "in" / "corpus.jsonl", records)
