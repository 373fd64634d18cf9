"""Input readers: files, folders and globs in, column batches and quarantine records out.

Every input document becomes either a row of a batch or a `Quarantined` record that says
which file, line and field was wrong: nothing is skipped silently. Memory stays flat: files
are streamed and one over-long line is never held whole.
"""
from __future__ import annotations

import glob
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from builder.config import InputConfig
from builder.io.writers import sha256_files
from builder.text.decode import UndecodableBytes, decode_bytes

EXTENSIONS = {
    "jsonl": (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst", ".ndjson"),
    "parquet": (".parquet",),
    "text": (".txt", ".text", ".htm", ".html"),
    "warc": (".warc", ".warc.gz"),
    "html": (".html", ".htm"),
}
PAGE_FORMATS = ("warc", "html")  # crawled pages: charset from the source, text extracted while reading
BATCH_MAX_CHARS = 16_000_000
LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # JSON escapes can smuggle these in
SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")  # cheap pre-check on the raw line


class InputError(Exception):
    """A user error in the input as a whole (missing path, unreadable file, wrong column)."""


@dataclass
class Quarantined:
    id: str
    source: str
    reason: str
    error: str
    text: str | None = None


@dataclass
class SourceBatch:
    columns: dict[str, list]
    quarantined: list[Quarantined] = field(default_factory=list)
    input_chars: int = 0


@dataclass
class InputFile:
    path: Path
    name: str  # as shown in ids and messages: relative to the working directory when possible
    size: int


def expand_inputs(config: InputConfig) -> list[InputFile]:
    """Paths, folders and globs -> files in sorted order; a pattern matching nothing is an error."""
    found: list[tuple[Path, Path]] = []  # (file, the input root it was found under)
    for pattern in config.paths:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not matches or not all(os.path.exists(m) for m in matches):
            error = InputError(f"input {pattern!r}: no such file or folder (relative paths are relative to {os.getcwd()})")
            error.pattern = pattern  # type: ignore[attr-defined]  # lets the CLI point at the config line
            raise error
        for match in matches:
            path = Path(match)
            root = _input_root(pattern, path)
            if path.is_dir() and config.format != "datasets":
                found.extend((p, root) for p in sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(EXTENSIONS[config.format])))
            else:
                found.append((path, root))
    if not found:
        raise InputError(f"input {config.paths}: no {config.format} files found")
    files, seen, names = [], set(), {}
    for path, root in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            name = _display_name(path, root)
            if name in names:
                raise InputError(f"inputs {names[name]} and {path} would both be named {name!r} in ids and the manifest: "
                                 "give them folders of different names, or list their common parent folder instead")
            names[name] = path
            files.append(InputFile(path, name, _size(path)))
    return files


def _input_root(pattern: str, match: Path) -> Path:
    """The folder an input's name starts from: the parent of the folder or file given, or of a glob's fixed part."""
    if glob.has_magic(pattern):
        fixed = Path(pattern)
        while glob.has_magic(str(fixed)):
            fixed = fixed.parent
        return fixed.resolve().parent
    return match.resolve().parent


def _display_name(path: Path, root: Path) -> str:
    """How a file appears in ids and the manifest: relative to the working directory when it is under it,
    else relative to its input root, so no name carries the machine's layout (`/home/alice/...`)."""
    resolved = path.resolve()
    for base in (Path.cwd().resolve(), root):
        try:
            return resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def fingerprint(file: InputFile) -> str:
    """sha256 of the file's bytes (of every file, in sorted order, for a folder)."""
    paths = sorted(p for p in file.path.rglob("*") if p.is_file()) if file.path.is_dir() else [file.path]
    return sha256_files(paths)


class DocumentReader:
    """Yields batches of documents from the configured inputs, in input order."""

    def __init__(self, config: InputConfig, files: list[InputFile], batch_size: int, limit: int | None = None):
        self.config = config
        self.files = files
        self.batch_size = batch_size
        self.limit = limit
        self.empty_files: list[str] = []
        self.sources = None
        if config.format in PAGE_FORMATS:  # the WARC and HTML readers (resiliparse, FastWARC) load only for crawls
            from builder.io.source_stats import SourceStats

            self.sources = SourceStats()
        self.bytes_done = 0  # input bytes (on disk) of the files read to the end
        self._file_position: Callable[[], int] | None = None

    def bytes_read(self) -> int:
        """How far reading has got, in bytes on disk: for a progress bar against the known input size."""
        position = self.bytes_done
        if self._file_position is not None:
            try:
                position += self._file_position()
            except (OSError, ValueError):  # the file was closed meanwhile
                pass
        return position

    def column_names(self) -> list[str]:
        names = ["id", "text"]
        if self.config.format in PAGE_FORMATS:
            names += ["url", "fetch_date", "charset", "charset_source"] + (["warc_record_id"] if self.config.format == "warc" else [])
            return names + ["_source"]
        if self.config.url_field:
            names.append("url")
        if self.config.format == "text":
            names.append("encoding")
        return names + ["_source"]

    def batches(self) -> Iterator[SourceBatch]:
        batch = self._new_batch()
        count = 0
        for file in self.files:
            before = count
            for item in self._read_file(file):
                if self.limit is not None and count >= self.limit:
                    break
                count += 1
                if isinstance(item, Quarantined):
                    batch.quarantined.append(item)
                else:
                    for name, value in item.items():
                        batch.columns[name].append(value)
                    batch.input_chars += len(item["text"])
                if len(batch.columns["text"]) >= self.batch_size or batch.input_chars >= BATCH_MAX_CHARS:
                    yield batch
                    batch = self._new_batch()
            self._file_position = None
            self.bytes_done += file.size
            if count == before and (self.limit is None or count < self.limit):
                self.empty_files.append(file.name)
        if batch.columns["text"] or batch.quarantined:
            yield batch

    def _new_batch(self) -> SourceBatch:
        return SourceBatch({name: [] for name in self.column_names()})

    def _read_file(self, file: InputFile) -> Iterator[dict | Quarantined]:
        reader = {"jsonl": self._read_jsonl, "parquet": self._read_parquet, "text": self._read_text, "datasets": self._read_datasets,
                  "warc": self._read_pages, "html": self._read_pages}
        try:
            yield from reader[self.config.format](file)
        except (OSError, EOFError, pa.ArrowException, ValueError) as err:
            if isinstance(err, InputError):
                raise
            raise InputError(f"{file.name}: cannot read as {self.config.format}: {err}") from None

    def _document(self, file: InputFile, position: int, text, doc_id, url, check_surrogates: bool = False) -> dict | Quarantined:
        source = f"{file.name}:{position}"
        doc_id = str(doc_id) if doc_id is not None else source
        if text is None:
            return Quarantined(doc_id, source, "input.missing_field", f"{source}: field {self.config.text_field!r} is missing or null")
        if not isinstance(text, str):
            return Quarantined(doc_id, source, "input.bad_type", f"{source}: field {self.config.text_field!r} is {type(text).__name__}, not a string")
        if len(text) > self.config.max_doc_chars:
            return Quarantined(doc_id, source, "input.too_long", f"{source}: {len(text):,} characters > input.max_doc_chars={self.config.max_doc_chars:,}")
        if check_surrogates:
            for name, value in ((self.config.text_field, text), (self.config.id_field, doc_id), (self.config.url_field, url)):
                if isinstance(value, str) and LONE_SURROGATE_RE.search(value):
                    # The id itself cannot be written as UTF-8: the rejected row is named by its place.
                    return Quarantined(source, source, "input.invalid_text", f"{source}: field {name!r} holds lone surrogates (not valid Unicode)")
        doc = {"id": doc_id, "text": text}
        if self.config.url_field:
            doc["url"] = url if isinstance(url, str) else None
        doc["_source"] = source
        return doc

    def _read_jsonl(self, file: InputFile) -> Iterator[dict | Quarantined]:
        max_line = self.config.max_doc_chars * 4 + (1 << 16)
        text_field, id_field, url_field = self.config.text_field, self.config.id_field, self.config.url_field
        with _open_compressed(file.path) as handle:
            self._file_position = handle.source_tell
            line_no = 0
            while True:
                raw = handle.readline(max_line)
                if not raw:
                    break
                line_no += 1
                source = f"{file.name}:{line_no}"
                if not raw.endswith(b"\n") and len(raw) >= max_line:
                    while (rest := handle.readline(max_line)) and not rest.endswith(b"\n"):
                        pass
                    yield Quarantined(source, source, "input.too_long", f"{source}: line longer than {max_line:,} bytes")
                    continue
                if not raw.strip():
                    continue  # a blank line holds no document
                try:
                    record = json.loads(raw)
                except UnicodeDecodeError as err:
                    yield Quarantined(source, source, "input.invalid_utf8", f"{source}: invalid UTF-8 at byte {err.start}")
                    continue
                except json.JSONDecodeError as err:
                    yield Quarantined(source, source, "input.invalid_json", f"{source}: invalid JSON ({err.msg} at column {err.colno})", _excerpt(raw))
                    continue
                except RecursionError:
                    yield Quarantined(source, source, "input.invalid_json", f"{source}: JSON nested too deeply to read", _excerpt(raw))
                    continue
                except ValueError as err:  # e.g. an integer of more digits than Python converts
                    yield Quarantined(source, source, "input.invalid_json", f"{source}: invalid JSON ({err})", _excerpt(raw))
                    continue
                if not isinstance(record, dict):
                    yield Quarantined(source, source, "input.invalid_json", f"{source}: expected a JSON object, got {type(record).__name__}")
                    continue
                yield self._document(
                    file, line_no, record.get(text_field), record.get(id_field) if id_field else None, record.get(url_field) if url_field else None,
                    check_surrogates=SURROGATE_ESCAPE_RE.search(raw) is not None,
                )

    def _read_parquet(self, file: InputFile) -> Iterator[dict | Quarantined]:
        parquet = pq.ParquetFile(file.path)
        yield from self._read_arrow_batches(file, parquet.schema_arrow, parquet.iter_batches(batch_size=self.batch_size))

    def _read_datasets(self, file: InputFile) -> Iterator[dict | Quarantined]:
        from datasets import Dataset, DatasetDict, load_from_disk

        try:
            loaded = load_from_disk(str(file.path))
        except FileNotFoundError as err:
            raise InputError(f"{file.name}: not a folder saved by datasets.save_to_disk ({err})") from None
        splits = [loaded[name] for name in sorted(loaded)] if isinstance(loaded, DatasetDict) else [loaded]
        position = 0
        for split in splits:
            assert isinstance(split, Dataset)
            table = split.with_format("arrow").data.table
            for doc in self._read_arrow_batches(file, table.schema, table.to_batches(self.batch_size), start=position):
                yield doc
            position += len(split)

    def _read_arrow_batches(self, file: InputFile, schema: pa.Schema, batches, start: int = 0) -> Iterator[dict | Quarantined]:
        text_field = self.config.text_field
        if text_field not in schema.names:
            raise InputError(f"{file.name}: no column {text_field!r} (columns: {', '.join(schema.names)}); set input.text_field")
        id_field = self.config.id_field if self.config.id_field in schema.names else None
        url_field = self.config.url_field if self.config.url_field in schema.names else None
        position = start
        for record_batch in batches:
            texts = record_batch.column(text_field).to_pylist()
            ids = record_batch.column(id_field).to_pylist() if id_field else [None] * len(texts)
            urls = record_batch.column(url_field).to_pylist() if url_field else [None] * len(texts)
            for text, doc_id, url in zip(texts, ids, urls):
                yield self._document(file, position, text, doc_id, url)
                position += 1

    def _read_pages(self, file: InputFile) -> Iterator[dict | Quarantined]:
        from builder.io.pages import PageProblem, read_html_file, read_warc_file

        warc = self.config.format == "warc"
        if warc:
            pages = read_warc_file(file.path, file.name, self.config.extract, self.config.max_doc_chars, self.sources)
        else:
            pages = read_html_file(file.path, file.name, file.size, self.config.extract, self.config.max_doc_chars, self.sources)
        for page in pages:
            source = f"{file.name}:{page.offset}"
            if isinstance(page, PageProblem):
                yield Quarantined(page.id or source, source, page.reason, page.error)
                continue
            doc = self._document(file, page.offset, page.text, page.id, None)
            if isinstance(doc, dict):
                self.sources.add_extracted(page.url)
                doc.pop("url", None)
                doc.pop("_source")
                doc.update(page.columns(warc))
                doc["_source"] = source
            else:
                self.sources.quarantined[doc.reason] += 1
            yield doc

    def _read_text(self, file: InputFile) -> Iterator[dict | Quarantined]:
        source = f"{file.name}:0"
        limit = self.config.max_doc_chars * 4
        if file.size > limit:
            yield Quarantined(file.name, source, "input.too_long", f"{file.name}: {file.size:,} bytes > {limit:,} (input.max_doc_chars × 4)")
            return
        data = file.path.read_bytes()
        try:
            text, encoding = decode_bytes(data, self.config.encoding)
        except UndecodableBytes as err:
            yield Quarantined(file.name, source, "input.undecodable", f"{file.name}: {err}")
            return
        doc = self._document(file, 0, text, file.name, None)
        if isinstance(doc, dict):
            doc["encoding"] = encoding
        yield doc


def _excerpt(raw: bytes) -> str:
    """The start of a bad line, kept with its rejection so it can be looked at."""
    return raw[:2000].decode("utf-8", "replace")


class _TrackedReader(io.BufferedReader):
    """A buffered reader that also tells how far into the file on disk (compressed bytes) it has read."""

    source_tell: Callable[[], int]


def _open_compressed(path: Path) -> _TrackedReader:
    """Plain, gzip or zstd by file name; Arrow's C++ decompressors are faster than the stdlib's."""
    compression = "gzip" if path.name.endswith(".gz") else "zstd" if path.name.endswith(".zst") else None
    raw = pa.OSFile(str(path))
    handle = _TrackedReader(pa.CompressedInputStream(raw, compression) if compression else raw, buffer_size=1 << 20)
    handle.source_tell = raw.tell
    return handle
