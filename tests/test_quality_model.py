"""The `quality_model` stage: featurisation, the shipped model, drops and annotate, params, a real build."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from builder.config import ConfigError, load_config
from builder.runner import Build
from builder.stages import STAGES, Batch
from builder.stages.quality_model import DROP_REASON, QualityModel, QualityModelParams
from builder.stages.quality.ngrams import BatchPoints, hashed_ngrams, ngram_scores
from builder.stages.quality_model.features import DENSE_FEATURES, dense_features
from builder.stages.quality_model.linear import SHIPPED_MODEL, ModelFileError, load_model
from conftest import write_config, write_jsonl

# Written for these tests: prose a corpus wants, and junk it does not.
GOOD = [
    "清晨六点，巷子口的面馆已经热气腾腾。老板老周把碱面在沸水里烫上几秒，捞起沥干，浇上芝麻酱、萝卜丁和葱花。\n"
    "这家店开了二十八年，从最初的一张桌子到现在的三间门面，老周说秘诀只有一个：芝麻酱必须自己炒、自己磨。\n"
    "很多在外地工作的年轻人回到家乡，第一件事就是来吃一碗面。对他们来说，这碗面不仅是早餐，更是一种乡愁。\n"
    "老周今年已经六十岁了，儿子在城里读完大学后，决定回来接手这家店。他说，父亲的手艺不能在自己这一代断掉。",
    "问：家里的绿萝叶子发黄是怎么回事？\n"
    "答：绿萝叶子发黄最常见的原因是浇水太多，根部长期泡在水里会烂根，叶子就会从下往上慢慢变黄。"
    "其次是光照不足，绿萝虽然耐阴，但长期放在没有阳光的角落，新叶会越长越小，老叶也会发黄脱落。"
    "建议把花盆移到散射光充足的地方，等盆土表面干了再浇透，平时每隔两三周施一次稀薄的液肥。"
    "如果已经烂根，可以把植株取出来，剪掉发黑的根，用新土重新栽种，一般一个月左右就能恢复。",
    "台灣東部的花蓮以山海景色聞名，太魯閣峽谷的大理石岩壁在立霧溪長年切割下形成壯觀的峽谷地形。\n"
    "遊客可以沿著步道走進燕子口和九曲洞，近距離觀察岩層的紋理，也能看到在岩壁上築巢的小雨燕。\n"
    "當地導遊提醒，峽谷內常有落石，進入步道前最好戴上安全帽，颱風過後更要留意道路封閉的消息。\n"
    "花蓮縣政府表示，今年將持續改善園區內的停車與接駁服務，並在假日增加導覽解說的場次，讓更多遊客認識峽谷的地質與生態。",
]
JUNK = [
    "首页\n新闻\n体育\n娱乐\n财经\n科技\n汽车\n房产\n旅游\n教育\n登录\n注册\n网站地图\n联系我们\n关于我们",
    "减肥药|减肥茶|减肥方法|快速减肥|减肥产品|瘦身|瘦腿|瘦肚子|减肥食谱|减肥运动|减肥药排行榜|减肥成功",
    "热门标签：北京租房 上海租房 广州租房 深圳租房 北京二手房 上海二手房 广州二手房 深圳二手房 北京新房 上海新房",
    "上一篇：2019年最新电影排行榜\n下一篇：2019年最新电视剧排行榜\n相关文章\n2019年最新电影排行榜\n"
    "2018年最新电影排行榜\n2017年最新电影排行榜\n2016年最新电影排行榜\n2015年最新电影排行榜",
]


def stage(**params) -> QualityModel:
    return QualityModel(QualityModelParams(**params))


def run(texts: list[str], **params) -> Batch:
    return stage(**params)(Batch({"id": [f"d{i}" for i in range(len(texts))], "text": list(texts)}))


def test_registered_and_shipped_model_loads():
    assert STAGES["quality_model"] is QualityModel
    model = load_model(str(SHIPPED_MODEL))
    assert model.ngram_weights.shape == (1 << model.bits,) and model.meta["dense_features"] == list(DENSE_FEATURES)
    assert SHIPPED_MODEL.stat().st_size < 5_000_000


def test_featurisation_in_a_batch_equals_one_document_at_a_time():
    texts = [*GOOD, "", "a", "\n\n", *JUNK, "數字 2024 年 5 月，價格 1,299 元。\r\n第二行"]
    rng = np.random.default_rng(0)
    weights = rng.normal(size=1 << 12)
    together = BatchPoints.from_texts(texts)
    batch_scores = hashed_ngrams(together, (1, 2, 3), 12).score(weights, len(texts))
    fast_scores = ngram_scores(together, (1, 2, 3), 12, weights)
    batch_dense = dense_features(together)
    assert np.allclose(fast_scores, batch_scores, rtol=1e-12, atol=1e-12)  # training and run-time paths agree
    for i, text in enumerate(texts):
        alone = BatchPoints.from_texts([text])
        assert hashed_ngrams(alone, (1, 2, 3), 12).score(weights, 1)[0] == batch_scores[i]
        assert ngram_scores(alone, (1, 2, 3), 12, weights)[0] == fast_scores[i]
        assert np.array_equal(dense_features(alone)[0], batch_dense[i])


def test_ngrams_stay_inside_their_document_and_sum_to_one_per_order():
    points = BatchPoints.from_texts(["abcd", "", "xy"])
    grams = hashed_ngrams(points, (1, 3), 10)
    per_doc = np.bincount(grams.doc, minlength=3)
    assert per_doc.tolist() == [4 + 2, 0, 2 + 0]  # 3-grams: 'abc', 'bcd' in the first, none across 'd'|'x'
    assert np.allclose(np.bincount(grams.doc, weights=grams.value, minlength=3), [2, 0, 1])
    # Digits share n-grams; Traditional and Simplified, full and half width fold together.
    same = BatchPoints.from_texts(["價格123元", "价格907元", "价格９０７元"])
    g = hashed_ngrams(same, (2,), 16)
    assert [sorted(g.bucket[g.doc == d].tolist()) for d in (1, 2)] == [sorted(g.bucket[g.doc == 0].tolist())] * 2


def test_dense_features_read_lines_and_sentence_endings():
    text = "今天天气很好，我们一起去公园散步吧。\n菜单\n\n好的！"
    row = dict(zip(DENSE_FEATURES, dense_features(BatchPoints.from_texts([text]))[0]))
    assert row["end_punct_line_share"] == pytest.approx(2 / 3)
    assert row["short_line_share"] == pytest.approx(2 / 3)  # the first line has 18 visible characters
    assert row["short_line_char_share"] == pytest.approx(5 / 23)
    assert row["han_share"] == pytest.approx(20 / 23)
    assert row["end_punct_per_100"] == pytest.approx(200 / 23) and row["comma_per_100"] == pytest.approx(100 / 23)
    assert np.exp(row["log_lines"]) - 1 == pytest.approx(3)


def test_scores_are_deterministic_probabilities_the_same_alone_or_in_a_batch():
    texts = [*GOOD, *JUNK, ""]
    first = run(texts, annotate=True)["quality_score"]
    again = run(list(reversed(texts)), annotate=True)["quality_score"][::-1]
    alone = [run([t], annotate=True)["quality_score"][0] for t in texts]
    assert first == again == alone
    assert all(0.0 <= s <= 1.0 for s in first)
    assert all(isinstance(s, float) and np.float32(s) == s for s in first)


def test_shipped_model_separates_prose_from_junk():
    scores = run([*GOOD, *JUNK], annotate=True)["quality_score"]
    good, junk = scores[: len(GOOD)], scores[len(GOOD) :]
    threshold = load_model(str(SHIPPED_MODEL)).meta["threshold"]
    assert min(good) > max(junk), (good, junk)
    assert min(good) >= threshold > max(junk), (threshold, good, junk)


def test_drops_below_the_threshold_with_the_score_in_the_detail():
    texts = [*GOOD, *JUNK]
    scores = run(texts, annotate=True)["quality_score"]
    threshold = float(np.median(scores))
    batch = run(texts, threshold=threshold)
    assert "quality_score" not in batch and set(batch.drops) == {i for i, s in enumerate(scores) if s < threshold}
    for row, drop in batch.drops.items():
        assert drop.reason == DROP_REASON and drop.detail == f"quality_score={scores[row]:.3f} (threshold {threshold})"
    assert not run(texts, threshold=0.0).drops
    annotated = run(texts, threshold=threshold, annotate=True)
    assert not annotated.drops and annotated.counters["quality_model.below_threshold"] == len(batch.drops)
    assert stage(annotate=True).columns() == {"quality_score": pa.float32()} and stage().columns() == {}


def test_params_are_validated_with_messages_that_name_the_problem(tmp_path):
    with pytest.raises(ValidationError):
        QualityModelParams(threshold=1.5)
    with pytest.raises(ValidationError, match="does not exist"):
        QualityModelParams(model=str(tmp_path / "missing.npz"))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ValidationError, match="broken.npz"):
        QualityModelParams(model=str(broken))
    with pytest.raises(ModelFileError, match="lacks"):
        np.savez(tmp_path / "other.npz", weights=np.zeros(3))
        load_model(str(tmp_path / "other.npz"))
    with pytest.raises(ValidationError):
        QualityModelParams(treshold=0.3)
    config = write_config(tmp_path / "c.yaml", [str(tmp_path / "x.jsonl")], stages="  - type: quality_model\n    threshold: high\n")
    with pytest.raises(ConfigError, match="threshold"):
        load_config(config)


def test_annotated_build_publishes_quality_score_in_parquet(tmp_path):
    corpus = write_jsonl(tmp_path / "in" / "c.jsonl", [{"id": f"g{i}", "text": t} for i, t in enumerate(GOOD)]
                         + [{"id": f"j{i}", "text": t} for i, t in enumerate(JUNK)])  # fmt: skip
    stages = "  - type: quality_model\n    annotate: true\n"
    result = Build(load_config(write_config(tmp_path / "a.yaml", [str(corpus)], stages=stages))).run()
    table = pq.read_table(next((result.version_dir / "data").glob("*.parquet")))
    assert str(table.schema.field("quality_score").type) == "float"
    scores = dict(zip(table["id"].to_pylist(), table["quality_score"].to_pylist()))
    assert scores == dict(zip([f"g{i}" for i in range(len(GOOD))] + [f"j{i}" for i in range(len(JUNK))],
                              run([*GOOD, *JUNK], annotate=True)["quality_score"]))  # fmt: skip
    # Filtering: the junk goes to the rejected files with its reason, the counts add up.
    threshold = load_model(str(SHIPPED_MODEL)).meta["threshold"]
    stages = f"  - type: quality_model\n    threshold: {threshold}\n"
    result = Build(load_config(write_config(tmp_path / "f.yaml", [str(corpus)], stages=stages, root=tmp_path / "f"))).run()
    report = json.loads((result.version_dir / "report.json").read_text())
    assert report["dropped"][DROP_REASON]["documents"] == len(JUNK)
    assert report["kept"]["documents"] == len(GOOD)
