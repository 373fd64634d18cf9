"""Every input format, every kind of bad input: counts always add up, errors name file and line."""
from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from builder.config import load_config
from builder.runner import Build
from builder.stages import Batch, Stage, StageParams, register
from conftest import ARTICLES, run_cli, write_config


class ExplodeParams(StageParams):
    marker: str = "💥"


@register
class ExplodeOnMarker(Stage):
    """A test stage that raises on one document, to prove the runner isolates it."""

    type = "test_explode"
    Params = ExplodeParams

    def __call__(self, batch: Batch) -> Batch:
        for text in batch["text"]:
            if self.params.marker in text:
                raise ValueError("cannot handle this document")
        return batch


def rejected_rows(result):
    return pq.read_table(next((result.version_dir.parent / "runs" / result.version_dir.name / "rejected").glob("*.parquet"))).to_pylist()


def test_every_kind_of_bad_jsonl_is_quarantined_and_counted(tmp_path):
    lines = [
        json.dumps({"id": "good-1", "text": ARTICLES[0]}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "no-text", "body": "x"}),
        json.dumps({"id": "num-text", "text": 42}),
        json.dumps({"id": "null-text", "text": None}),
        "",
        "[1, 2]",
        '{"id": "surrogate", "text": "bad \\ud800 text"}',
        json.dumps({"id": "huge", "text": "长" * 500}, ensure_ascii=False),
        json.dumps({"id": "boom", "text": ARTICLES[1] + "💥"}, ensure_ascii=False),
        json.dumps({"text": ARTICLES[2]}, ensure_ascii=False),
    ]
    path = tmp_path / "in" / "bad.jsonl"
    path.parent.mkdir()
    payload = ("\n".join(lines) + "\n").encode()
    payload += b'{"id": "bad-bytes", "text": "\xff\xfe caf\xe9"}\n'
    path.write_bytes(payload)
    (tmp_path / "in" / "empty.jsonl").write_bytes(b"")
    config = write_config(tmp_path / "c.yaml", [tmp_path / "in"], stages="  - type: test_explode\n  - type: normalize\n",
                          extra="  max_doc_chars: 300\n  max_quarantined_share: 1\n")  # 9 of 11 on purpose
    result = Build(load_config(config)).run()
    report = result.report
    assert report["input"]["documents"] == 11  # blank line is not a document
    assert report["kept"]["documents"] == 2
    assert report["quarantined"].keys() == {"input.invalid_json", "input.missing_field", "input.bad_type", "input.invalid_text",
                                            "input.too_long", "input.invalid_utf8", "error.test_explode"}
    assert sum(v["documents"] for v in report["quarantined"].values()) == 9
    assert len(report["empty_files"]) == 1 and report["empty_files"][0].endswith("empty.jsonl")
    rows = {row["id"]: row for row in rejected_rows(result)}
    assert rows["no-text"]["detail"].endswith("bad.jsonl:3: field 'text' is missing or null")
    assert "bad.jsonl:2: invalid JSON" in rows[rows["no-text"]["source"].replace(":3", ":2")]["detail"]
    assert "ValueError: cannot handle this document" in rows["boom"]["detail"]
    kept = pq.read_table(next((result.version_dir / "data").glob("*.parquet"))).to_pylist()
    assert [row["id"] for row in kept] == ["good-1", kept[1]["id"]]
    assert kept[1]["id"].endswith("bad.jsonl:11")  # no id in the record: derived from file and line


def test_compressed_parquet_and_datasets_inputs(tmp_path):
    records = [{"id": f"d{i}", "text": text, "url": f"https://example.com/{i}"} for i, text in enumerate(ARTICLES)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl.gz").write_bytes(gzip.compress("\n".join(json.dumps(r, ensure_ascii=False) for r in records[:2]).encode()))
    with pa.output_stream(str(folder / "b.jsonl.zst"), compression="zstd") as stream:
        stream.write("\n".join(json.dumps(r, ensure_ascii=False) for r in records[2:4]).encode())
    table = pa.table({"text": [r["text"] for r in records[4:]] + [None], "id": ["d4", "d5", "null"]})
    pq.write_table(table, tmp_path / "c.parquet")
    Dataset.from_list(records[:3]).save_to_disk(str(tmp_path / "saved"))

    jsonl = Build(load_config(write_config(tmp_path / "j.yaml", [folder], root=tmp_path / "o1"))).run()
    assert jsonl.report["kept"]["documents"] == 4
    parquet = Build(load_config(write_config(tmp_path / "p.yaml", [tmp_path / "c.parquet"], fmt="parquet", root=tmp_path / "o2"))).run()
    assert parquet.report["kept"]["documents"] == 2 and parquet.report["quarantined"] == {"input.missing_field": {"documents": 1, "characters": 0}}
    saved = Build(load_config(write_config(tmp_path / "s.yaml", [tmp_path / "saved"], fmt="datasets", root=tmp_path / "o3"))).run()
    kept = pq.read_table(next((saved.version_dir / "data").glob("*.parquet"))).to_pylist()
    assert [(r["id"], r["url"]) for r in kept] == [(f"d{i}", f"https://example.com/{i}") for i in range(3)]


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16", "utf-8-sig", "utf-8"])
def test_raw_text_files_arrive_as_correct_text(tmp_path, encoding):
    text = ARTICLES[1] if encoding == "big5" else ARTICLES[0]
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "page.txt").write_bytes(text.encode(encoding))
    result = Build(load_config(write_config(tmp_path / "t.yaml", [folder], fmt="text", stages=""))).run()
    row = pq.read_table(next((result.version_dir / "data").glob("*.parquet"))).to_pylist()[0]
    assert row["text"] == text
    assert row["id"].endswith("pages/page.txt")
    assert row["encoding"]


def test_missing_input_is_a_clear_error(tmp_path):
    result = run_cli("--config", str(write_config(tmp_path / "c.yaml", [tmp_path / "nowhere" / "*.jsonl"])))
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_parquet_without_the_text_column_names_file_and_column(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "c.parquet")
    result = run_cli("--config", str(write_config(tmp_path / "c.yaml", [tmp_path / "c.parquet"], fmt="parquet")))
    assert result.returncode == 2
    assert "c.parquet" in result.stderr and "'text'" in result.stderr and "text_field" in result.stderr


def test_one_huge_line_is_quarantined_without_reading_it_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as handle:
        handle.write(json.dumps({"id": "a", "text": ARTICLES[0]}, ensure_ascii=False) + "\n")
        handle.write('{"id": "huge", "text": "' + "x" * 3_000_000 + '"}\n')
        handle.write(json.dumps({"id": "b", "text": ARTICLES[1]}, ensure_ascii=False) + "\n")
    config = write_config(tmp_path / "c.yaml", [path], stages="", extra="  max_doc_chars: 100000\n")
    result = Build(load_config(config)).run()
    assert result.report["kept"]["documents"] == 2
    assert list(result.report["quarantined"]) == ["input.too_long"]
