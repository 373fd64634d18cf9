"""Hub releases: an already-built local version becomes one commit on `main` and one tag.

The repository mirrors the local layout (`README.md`, `CHANGELOG.md`, `vX.Y.Z/...`), so at tag
`vX.Y.Z` the root card's default configuration is that version: `load_dataset(repo,
revision="vX.Y.Z")` gives exactly it and `load_dataset(repo)` the newest.

A release goes in three steps, so a large upload that fails can be resumed and a half-uploaded
version is never visible on `main`:
1. upload the version's files to a branch `release-vX.Y.Z` (started from the `main` head read
   first), in commits of at most `BATCH_BYTES`; a rerun skips files already on the branch with
   the same content;
2. check every file on the branch against the local hashes;
3. commit the whole version plus the root card and changelog to `main` with `parent_commit` set
   to the head read in step 1 (the content is already stored, so nothing large is sent again; a
   concurrent publish makes this fail instead of mixing), tag that commit, delete the branch.
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from huggingface_hub import CommitOperationAdd, HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars, tqdm

from builder.io.writers import sha256_file
from builder.publish import PublishError, VersionExists
from builder.publish.card import LoadTarget, VersionEntry, render_root_card, render_version_card
from builder.publish.changelog import THIS_COMMIT, render_changelog
from builder.publish.manifest import read_manifest, write_json
from builder.publish.root import write_root
from builder.publish.versions import VERSION_DIR_RE, version_key

log = logging.getLogger("builder")
REPO_TYPE = "dataset"
MAIN = "main"
BATCH_BYTES = 1 << 30  # per branch commit: the unit of progress a failed upload keeps


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _size(source: Path | bytes) -> int:
    return source.stat().st_size if isinstance(source, Path) else len(source)


@contextmanager
def _progress_bars(shown: bool) -> Iterator[None]:
    """huggingface_hub draws its own bars (per LFS file): silence them too when ours are off."""
    if shown or are_progress_bars_disabled():
        yield
        return
    disable_progress_bars()
    try:
        yield
    finally:
        enable_progress_bars()


class HubRepo:
    def __init__(self, repo_id: str, private: bool = False, api: HfApi | None = None, batch_bytes: int = BATCH_BYTES):
        self.repo_id = repo_id
        self.private = private
        self.api = api or HfApi()
        self.batch_bytes = batch_bytes

    # -- reading ---------------------------------------------------------------------
    def tags(self) -> dict[str, str]:
        """{tag: commit} of the version tags; empty when the repository does not exist yet."""
        self._need_token()
        try:
            refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        except RepositoryNotFoundError:
            return {}
        return {t.name: t.target_commit for t in refs.tags if VERSION_DIR_RE.match(t.name)}

    def published_versions(self) -> list[str]:
        return sorted((t[1:] for t in self.tags()), key=version_key)

    def read_manifest(self, version: str) -> dict:
        path = self.api.hf_hub_download(self.repo_id, f"v{version}/MANIFEST.json", repo_type=REPO_TYPE, revision=f"v{version}")
        return json.loads(Path(path).read_text(encoding="utf-8"))

    def check_new(self, version: str) -> None:
        if f"v{version}" in self.tags():
            raise VersionExists(f"{self.repo_id} already has tag v{version} and published versions are immutable: "
                               "set a new `version:` (or `version: auto`)")

    # -- publishing ------------------------------------------------------------------
    def publish(self, version_dir: Path, progress: bool = True) -> str:
        """Publish `version_dir` as tag `vX.Y.Z`; returns the release commit, also recorded in the local manifest."""
        with _progress_bars(progress):
            return self._publish(version_dir, progress)

    def _publish(self, version_dir: Path, progress: bool) -> str:
        manifest = read_manifest(version_dir)
        version, tag = manifest["version"], version_dir.name
        self._need_token()
        self._check_shards(version_dir, manifest)
        self.api.create_repo(self.repo_id, repo_type=REPO_TYPE, private=self.private, exist_ok=True)
        refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        tags = {t.name: t.target_commit for t in refs.tags if VERSION_DIR_RE.match(t.name)}
        if tag in tags:
            raise VersionExists(f"{self.repo_id} already has tag {tag} and published versions are immutable")
        newer = [t for t in tags if version_key(t) > version_key(tag)]
        if newer:
            raise PublishError(f"{self.repo_id} already has the newer {max(newer, key=version_key)}: "
                               f"publishing {tag} after it would make an older version the default")
        heads = {b.name: b.target_commit for b in refs.branches}
        head = heads.get(MAIN)
        branch = f"release-{tag}"
        if branch not in heads:
            self.api.create_branch(self.repo_id, branch=branch, revision=head, repo_type=REPO_TYPE)

        files = self._version_files(version_dir, manifest)
        self._upload_to_branch(branch, files, progress)
        wrong = self._differences(branch, files)
        if wrong:
            raise PublishError(f"the upload of {tag} to branch {branch} of {self.repo_id} did not arrive intact "
                               f"({', '.join(wrong[:5])}); rerun the same publish command to resume")

        entries = [VersionEntry(t[1:], self.read_manifest(t[1:]), commit) for t, commit in sorted(tags.items(), key=lambda kv: version_key(kv[0]))]
        entries.append(VersionEntry(version, manifest, THIS_COMMIT))
        load = LoadTarget("hub", self.repo_id)
        operations = [CommitOperationAdd(path, source) for path, source in files.items()]
        operations += [
            CommitOperationAdd(f"{tag}/README.md", str(render_version_card(version_dir, load)).encode()),
            CommitOperationAdd("README.md", str(render_root_card(version_dir, entries, load)).encode()),
            CommitOperationAdd("CHANGELOG.md", render_changelog(manifest["name"], [(f"v{e.version}", e.manifest, e.commit) for e in entries]).encode()),
        ]
        try:
            commit = self.api.create_commit(
                self.repo_id, operations, repo_type=REPO_TYPE, revision=MAIN, parent_commit=head,
                commit_message=f"Release {tag}",
                commit_description=f"{manifest['split']['num_examples']:,} documents; config sha256 {manifest['config_sha256']}",
            )
        except HfHubHTTPError as err:
            if err.response is not None and err.response.status_code in (409, 412):
                raise PublishError(f"{MAIN} of {self.repo_id} moved since this publish read it at {head}: someone else "
                                   f"published meanwhile; rerun to publish {tag} on top (its files stay on branch {branch})") from None
            raise
        self.api.create_tag(self.repo_id, tag=tag, revision=commit.oid, repo_type=REPO_TYPE,
                            tag_message=f"{manifest['name']} {tag}")
        self.api.delete_branch(self.repo_id, branch=branch, repo_type=REPO_TYPE)
        manifest.setdefault("releases", []).append({"target": "hub", "repo_id": self.repo_id, "tag": tag, "commit": commit.oid, "parent": head})
        write_json(version_dir / "MANIFEST.json", manifest)
        return commit.oid

    def _need_token(self) -> None:
        if self.api.token is None and get_token() is None:
            raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")

    @staticmethod
    def _check_shards(version_dir: Path, manifest: dict) -> None:
        for shard in manifest["shards"]:
            path = version_dir / shard["path"]
            if not path.is_file() or sha256_file(path) != shard["sha256"]:
                raise PublishError(f"{path} does not match its manifest: run `python -m builder verify {version_dir}`")

    @staticmethod
    def _version_files(version_dir: Path, manifest: dict) -> dict[str, Path | bytes]:
        """Everything in the version folder but its card (rendered for the Hub) and local release records."""
        tag = version_dir.name
        files: dict[str, Path | bytes] = {}
        for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(version_dir).as_posix()
            if relative == "README.md":
                continue
            files[f"{tag}/{relative}"] = path
        published = {k: v for k, v in manifest.items() if k != "releases"}
        files[f"{tag}/MANIFEST.json"] = (json.dumps(published, ensure_ascii=False, indent=2) + "\n").encode()
        return files

    def _remote(self, revision: str, paths: list[str]) -> dict[str, tuple[str | None, str]]:
        """{path: (LFS sha256 or None, git blob id)} of the paths present at `revision`."""
        found = {}
        for start in range(0, len(paths), 500):
            for info in self.api.get_paths_info(self.repo_id, paths[start : start + 500], revision=revision, repo_type=REPO_TYPE):
                if hasattr(info, "blob_id"):
                    found[info.path] = (info.lfs.sha256 if info.lfs else None, info.blob_id)
        return found

    def _differences(self, revision: str, files: dict[str, Path | bytes]) -> list[str]:
        """Paths whose content at `revision` is missing or not the local content."""
        remote = self._remote(revision, list(files))
        wrong = []
        for path, source in files.items():
            if path not in remote:
                wrong.append(path)
                continue
            lfs_sha256, blob_id = remote[path]
            if lfs_sha256 is not None:
                same = lfs_sha256 == (sha256_file(source) if isinstance(source, Path) else hashlib.sha256(source).hexdigest())
            else:
                same = blob_id == _git_blob_sha1(source.read_bytes() if isinstance(source, Path) else source)
            if not same:
                wrong.append(path)
        return wrong

    def _upload_to_branch(self, branch: str, files: dict[str, Path | bytes], progress: bool) -> None:
        pending = set(self._differences(branch, files))
        batches: list[list[str]] = []
        size = 0
        for path in (p for p in files if p in pending):
            if not batches or size + _size(files[path]) > self.batch_bytes:
                batches.append([])
                size = 0
            batches[-1].append(path)
            size += _size(files[path])
        total = sum(_size(files[p]) for p in pending)
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"upload to {self.repo_id}@{branch}", disable=not progress or not pending) as bar:
            for number, batch in enumerate(batches):
                operations = [CommitOperationAdd(path, files[path]) for path in batch]
                self.api.create_commit(self.repo_id, operations, repo_type=REPO_TYPE, revision=branch,
                                       commit_message=f"Upload part {number + 1} of {len(batches)} of {branch.removeprefix('release-')}")
                bar.update(sum(_size(files[p]) for p in batch))


def publish_to_hub(version_dir: Path, hub: HubRepo, progress: bool) -> str:
    """Upload a built local version; on any failure say that the local release stands and how to resume."""
    try:
        commit = hub.publish(version_dir, progress)
    except VersionExists:
        raise
    except Exception as err:  # whatever broke (network, Hub, a bug), the local release is complete and the rerun resumes
        cause = err if isinstance(err, PublishError) else f"publishing to {hub.repo_id} failed: {type(err).__name__}: {err}"
        raise PublishError(f"{cause}\n(the local release {version_dir} is complete; publish it again with "
                           f"`python -m builder publish {version_dir} --to hub --repo-id {hub.repo_id}`)") from err
    write_root(version_dir.parent)  # the local changelog now shows the Hub commit
    log.info("published %s to %s at commit %s", version_dir.name, hub.repo_id, commit)
    return commit
