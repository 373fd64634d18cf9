"""The dedup stage driven directly: map over batches, then `decide` on the keys alone."""
from __future__ import annotations

import json
import random
from concurrent.futures import ProcessPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from builder.stages import Batch, GlobalContext, Keys
from builder.stages.dedup import Dedup, DedupParams, comparison_keys
from conftest import ARTICLES

POOL = sorted(set("".join(ARTICLES)) - set("，。、：；！？ Q"))


def chinese_text(seed: int, characters: int = 1200) -> str:
    """Prose-shaped text from the articles' characters: distinct seeds share almost no 5-gram."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < characters:
        sentence = "".join(rng.choices(POOL, k=rng.randint(8, 30))) + rng.choice("，。。！？")
        out.append(sentence)
        size += len(sentence)
        if rng.random() < 0.15:
            out.append("\n")
    return "".join(out)


def key_string(text: str) -> str:
    codepoints, _ = comparison_keys([text])
    return codepoints.tobytes().decode("utf-32-le")


def true_jaccard(a: str, b: str, ngram: int = 5) -> float:
    """Jaccard of character n-gram sets, the plain way, to check the stage against."""
    a, b = key_string(a), key_string(b)
    sa = {a[i : i + ngram] for i in range(len(a) - ngram + 1)}
    sb = {b[i : i + ngram] for i in range(len(b) - ngram + 1)}
    return len(sa & sb) / len(sa | sb)


def map_keys(stage: Dedup, texts: list[str], ids: list[str], batch_size: int) -> pa.Table:
    tables = []
    for lo in range(0, len(texts), batch_size):
        batch = stage(Batch({"id": ids[lo : lo + batch_size], "text": texts[lo : lo + batch_size]}))
        columns = {name: pa.array(batch[name], kind) for name, kind in stage.key_columns().items()}
        tables.append(pa.table({"id": batch["id"], **columns}))
    return pa.concat_tables(tables)


def run_dedup(texts, tmp_path, *, ids=None, previous=(), version="v1.0.0", batch_size=3, **params):
    stage = Dedup(DedupParams(**params))
    ids = ids or [f"d{i}" for i in range(len(texts))]
    keys = map_keys(stage, texts, ids, batch_size)
    artifacts = tmp_path / version / "dedup"
    artifacts.mkdir(parents=True, exist_ok=True)
    return stage.decide(Keys.of(keys), GlobalContext(list(previous), artifacts))


def reasons(drops) -> list[tuple[str, str] | None]:
    """(reason, kept id) per row; a near copy's detail also carries the pair's similarity, checked apart."""
    return [None if d is None else (d.reason, d.detail.split(" (Jaccard ~")[0]) for d in drops]


def test_comparison_key_folds_width_and_whitespace_but_keeps_characters():
    assert key_string("变化，使（ＡＢ）\u3000１２！\n 下一行\t\u00a0") == "变化,使(AB)12!下一行"
    assert key_string("句号。顿号、书名号《》引号“”") == "句号。顿号、书名号《》引号“”"
    assert key_string("半角｡｢引｣､") == "半角。「引」、"
    assert key_string("𠀀𪚥 ext B") == "𠀀𪚥extB"


def test_exact_copies_keep_the_first_in_input_order(tmp_path):
    a = chinese_text(1)
    mirror = a.replace("，", ",").replace("！", "!").replace("\n", "\n\n  ")
    texts = [a, chinese_text(2), mirror, chinese_text(3), a, "你好", "你好", "你好吗"]
    assert reasons(run_dedup(texts, tmp_path)) == [
        None, None, ("dedup.exact", "d0"), None, ("dedup.exact", "d0"), None, ("dedup.exact", "d5"), None,
    ]


def near_copies(base: str) -> list[str]:
    """Edits a repost or a mirror makes: boilerplate added, a paragraph gone, dates and numbers changed."""
    cut = len(base) // 10
    return [
        "来源：新华网 编辑：张三 2023年5月1日\n" + base + "\n免费服务热线：400-800-1234 版权所有 未经授权禁止转载",
        base[:cut * 4] + base[cut * 5 :],
        base.replace("了", "过", 3) + "发布时间：2024-06-18 阅读：3517",
        base[cut:],
    ]


def test_near_copies_are_dropped_in_favour_of_the_earliest(tmp_path):
    base = chinese_text(10, 2000)
    copies = near_copies(base)
    assert all(true_jaccard(base, c) >= 0.8 for c in copies)
    texts = [chinese_text(11), base, *copies, chinese_text(12)]
    drops = run_dedup(texts, tmp_path)
    assert reasons(drops) == [None, None] + [("dedup.near", "d1")] * len(copies) + [None]
    similarities = [float(d.detail.split("~")[1].rstrip(")")) for d in drops if d is not None]
    assert all(0.7 <= s <= 1.0 for s in similarities)  # the estimated Jaccard of each copy with the kept document
    summary = json.loads((tmp_path / "v1.0.0" / "dedup" / "dedup.json").read_text())
    assert summary["near_duplicates"] == len(copies) and summary["exact_duplicates"] == 0
    assert summary["duplicate_group_sizes"] == {str(len(copies) + 1): 1}


def test_nothing_is_dropped_below_the_threshold(tmp_path):
    """Pairs sharing 20-55% of their 5-grams: similar, but well under 0.7 (the estimate's sd there is 0.03)."""
    texts = []
    for seed in range(40):
        base = chinese_text(100 + seed, 1500)
        keep = int(len(base) * (0.35 + 0.35 * seed / 40))
        texts += [base, base[:keep] + chinese_text(1000 + seed, len(base) - keep)]
    similarities = [true_jaccard(texts[i], texts[i + 1]) for i in range(0, len(texts), 2)]
    assert 0.15 < min(similarities) and max(similarities) < 0.6
    assert reasons(run_dedup(texts, tmp_path)) == [None] * len(texts)


def test_a_chain_of_copies_drops_only_documents_similar_to_a_kept_one(tmp_path):
    """A~B and B~C but A and C far apart: B goes, C stays (it is nobody's copy among the kept)."""
    a = chinese_text(30, 2000)
    b = chinese_text(31, 240) + a[240:]
    c = b[:1760] + chinese_text(32, 240)
    assert true_jaccard(a, b) > 0.75 and true_jaccard(b, c) > 0.75 and true_jaccard(a, c) < 0.65
    assert reasons(run_dedup([a, b, c], tmp_path)) == [None, ("dedup.near", "d0"), None]
    assert reasons(run_dedup([b, a, c], tmp_path)) == [None, ("dedup.near", "d0"), ("dedup.near", "d0")]


def test_keep_longest_keeps_the_longest_and_ties_go_to_the_first(tmp_path):
    base = chinese_text(20, 1500)
    longer = base + chinese_text(21, 100)
    same_length = base[:-3] + "再见。"
    texts = [base, longer, same_length, chinese_text(22)]
    assert reasons(run_dedup(texts, tmp_path, keep="longest")) == [
        ("dedup.near", "d1"), None, ("dedup.near", "d1"), None,
    ]
    assert reasons(run_dedup([base, same_length], tmp_path, keep="longest")) == [None, ("dedup.near", "d0")]
    assert reasons(run_dedup(texts, tmp_path, keep="first")) == [None, ("dedup.near", "d0"), ("dedup.near", "d0"), None]


def corpus_with_copies() -> list[str]:
    texts = [chinese_text(seed, 800) for seed in range(30, 50)]
    rng = random.Random(7)
    for _ in range(20):
        source = rng.choice(texts)
        texts.append(rng.choice(near_copies(source) + [source]))
    return texts


def _map_in_worker(texts_and_ids):
    texts, ids = texts_and_ids
    stage = Dedup(DedupParams())
    return map_keys(stage, texts, ids, len(texts))


def test_decisions_do_not_depend_on_batches_or_processes(tmp_path):
    texts = corpus_with_copies()
    ids = [f"d{i}" for i in range(len(texts))]
    by_batch = [run_dedup(texts, tmp_path, batch_size=size) for size in (1, 7, len(texts))]
    assert by_batch[0] == by_batch[1] == by_batch[2]
    assert sum(d is not None for d in by_batch[0]) >= 15

    in_one = _map_in_worker((texts, ids))
    chunks = [(texts[lo : lo + 6], ids[lo : lo + 6]) for lo in range(0, len(texts), 6)]
    with ProcessPoolExecutor(2) as pool:
        in_two = pa.concat_tables(pool.map(_map_in_worker, chunks))
    assert in_two.equals(in_one)
    stage = Dedup(DedupParams())
    decided = stage.decide(Keys.of(in_two), GlobalContext([], tmp_path / "two" / "dedup"))
    assert decided == by_batch[0]


def test_keys_read_from_work_files_part_by_part_decide_as_one_table(tmp_path):
    """The runner hands keys over as Parquet files read a column at a time: same decisions, same artifacts."""
    texts = [chinese_text(i % 9, 300) + ("\n再版" if i % 4 == 0 else "") for i in range(40)]
    stage = Dedup(DedupParams())
    table = map_keys(stage, texts, [f"d{i}" for i in range(40)], 7)
    paths = []
    for k, lo in enumerate(range(0, 40, 13)):
        paths.append(tmp_path / f"part-{k}.parquet")
        pq.write_table(table.slice(lo, 13), paths[-1])
    from_files = stage.decide(Keys(paths, pq.read_schema(paths[0])), GlobalContext([], tmp_path / "files"))
    from_table = stage.decide(Keys.of(table), GlobalContext([], tmp_path / "table"))
    assert from_files == from_table
    assert sum(d is not None for d in from_files) >= 25
    assert pq.read_table(tmp_path / "files" / "signatures.parquet").equals(pq.read_table(tmp_path / "table" / "signatures.parquet"))


def test_a_new_version_drops_what_earlier_versions_published(tmp_path):
    v1 = [chinese_text(60), chinese_text(61, 2000), chinese_text(62)]
    v1.append(near_copies(v1[1])[0])  # dropped inside v1 as a copy of v1-1
    assert reasons(run_dedup(v1, tmp_path, ids=[f"v1-{i}" for i in range(4)], version="v1.0.0"))[3] == ("dedup.near", "v1-1")

    fresh = chinese_text(63)
    v2 = [v1[0], near_copies(v1[1])[1], v1[3], fresh, fresh, chinese_text(64)]
    drops = run_dedup(v2, tmp_path, ids=[f"v2-{i}" for i in range(6)], previous=[tmp_path / "v1.0.0"], version="v1.1.0")
    assert reasons(drops) == [
        ("dedup.exact", "v1.0.0:v1-0"),
        ("dedup.near", "v1.0.0:v1-1"),
        ("dedup.near", "v1.0.0:v1-1"),
        None,
        ("dedup.exact", "v2-3"),
        None,
    ]
    summary = json.loads((tmp_path / "v1.1.0" / "dedup" / "dedup.json").read_text())
    assert summary["duplicates_of_previous_versions"] == 3 and summary["previous_versions"] == ["v1.0.0"]

    v3 = [chinese_text(64), v1[2], chinese_text(65)]
    previous = [tmp_path / "v1.0.0", tmp_path / "v1.1.0"]
    assert reasons(run_dedup(v3, tmp_path, ids=["a", "b", "c"], previous=previous, version="v1.2.0")) == [
        ("dedup.exact", "v1.1.0:v2-5"), ("dedup.exact", "v1.0.0:v1-2"), None,
    ]
    assert reasons(run_dedup(v3, tmp_path, previous=previous, version="v9.0.0", cross_version=False)) == [None] * 3


def test_published_keys_must_be_made_the_same_way(tmp_path):
    run_dedup([chinese_text(70)], tmp_path, version="v1.0.0", ngram=4)
    with pytest.raises(ValueError, match="ngram: 4 there, 5 here"):
        run_dedup([chinese_text(70)], tmp_path, previous=[tmp_path / "v1.0.0"], version="v1.1.0")


def test_a_version_without_keys_is_reported_not_silently_trusted(tmp_path):
    (tmp_path / "v0.9.0").mkdir()
    assert run_dedup([chinese_text(71)], tmp_path, previous=[tmp_path / "v0.9.0"]) == [None]
    summary = json.loads((tmp_path / "v1.0.0" / "dedup" / "dedup.json").read_text())
    assert summary["previous_versions_without_keys"] == ["v0.9.0"]


def test_exact_only_still_finds_copies_and_near_only_still_finds_them_as_near(tmp_path):
    base = chinese_text(80)
    texts = [base, base, near_copies(base)[0]]
    assert reasons(run_dedup(texts, tmp_path, near=False)) == [None, ("dedup.exact", "d0"), None]
    assert reasons(run_dedup(texts, tmp_path, exact=False)) == [None, ("dedup.near", "d0"), ("dedup.near", "d0")]


def test_params_reject_banding_that_does_not_fit_the_signature():
    with pytest.raises(ValidationError, match="exceeds num_perm"):
        DedupParams(num_perm=128, bands=42, rows=6)
    with pytest.raises(ValidationError, match="power of two"):
        DedupParams(num_perm=200)
    with pytest.raises(ValidationError):
        DedupParams(threshold=1.5)


def test_artifacts_are_the_kept_keys_in_fixed_slices_whatever_the_parts(tmp_path, monkeypatch):
    import numpy as np

    from builder.stages import dedup_keys as dedup

    stage = Dedup(DedupParams(num_perm=16, bands=4, rows=4))
    texts = [chinese_text(seed, 60) for seed in range(53)]
    table = map_keys(stage, texts, [f"d{i}" for i in range(53)], 53)
    dropped = np.array([0, 5, 6, 7, 20, 31, 52])
    monkeypatch.setattr(dedup, "ARTIFACT_ROWS_PER_GROUP", 10)
    written = []
    for parts in ([table], [table.slice(lo, 7) for lo in range(0, 53, 7)]):
        folder = tmp_path / str(len(parts))
        dedup._write_artifacts(folder, Keys(parts, table.schema), True, dropped, {})
        written.append((folder / dedup.SIGNATURES_FILE).read_bytes())
        file = pq.ParquetFile(folder / dedup.SIGNATURES_FILE)
        assert [file.metadata.row_group(g).num_rows for g in range(file.num_row_groups)] == [10, 10, 10, 10, 6]
        kept = [i for i in range(53) if i not in set(dropped.tolist())]
        assert file.read().to_pydict() == {"id": [f"d{i}" for i in kept], "exact": [table["_dedup_exact"][i].as_py() for i in kept],
                                           "length": [table["_dedup_length"][i].as_py() for i in kept],
                                           "minhash": [table["_dedup_minhash"][i].as_py() for i in kept]}
    assert written[0] == written[1]
