"""Dataset repositories as real git repositories, laid out the way olah serves local mirrors.

`<mirrors>/datasets/<org>/<name>` is a git repository whose LFS objects live in
`.git/lfs/objects/<aa>/<bb>/<sha256>` and whose files are committed as LFS pointers, as on the
Hub. Commits are made with git plumbing on a private index (the work tree is never used), and a
branch moves only by compare-and-swap (`git update-ref <ref> <new> <old>`), which is what makes
`parent_commit` a real guard against concurrent publishes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "hub-test-server", "GIT_AUTHOR_EMAIL": "hub@localhost",
    "GIT_COMMITTER_NAME": "hub-test-server", "GIT_COMMITTER_EMAIL": "hub@localhost",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": tempfile.gettempdir(),
}
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"


class Conflict(Exception):
    """The ref is not where the caller said it was (or already exists)."""


class NotFound(Exception):
    """`code` is the Hub's X-Error-Code, which huggingface_hub turns into its typed errors."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def lfs_pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


class GitRepo:
    def __init__(self, path: Path):
        self.path = path
        self.lfs_dir = path / ".git" / "lfs" / "objects"

    def git(self, *args: str, stdin: bytes | None = None, env: dict | None = None, check: bool = True) -> str:
        result = subprocess.run(["git", *args], cwd=self.path, input=stdin, capture_output=True, timeout=30,
                                env={**os.environ, **GIT_ENV, **(env or {})})
        if check and result.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode().strip() if result.returncode == 0 else ""

    def resolve(self, revision: str) -> str:
        sha = self.git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        if not sha:
            raise NotFound(f"revision {revision} not found", "RevisionNotFound")
        return sha

    def refs(self) -> dict[str, list[dict]]:
        out = {"branches": [], "tags": [], "converts": []}
        listing = self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags")
        for line in filter(None, listing.splitlines()):
            ref, sha = line.split()
            kind, name = ("branches", ref[len("refs/heads/"):]) if ref.startswith("refs/heads/") else ("tags", ref[len("refs/tags/"):])
            out[kind].append({"name": name, "ref": ref, "targetCommit": sha})
        return out

    def lfs_path(self, oid: str) -> Path:
        return self.lfs_dir / oid[:2] / oid[2:4] / oid

    def has_lfs(self, oid: str, size: int) -> bool:
        path = self.lfs_path(oid)
        return path.is_file() and path.stat().st_size == size

    def store_lfs(self, oid: str, chunks) -> None:
        """Stream an upload to its place; kept only if its sha256 is the announced oid."""
        target = self.lfs_path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        partial = target.with_name(f"{oid}.{threading.get_ident()}.partial")
        with open(partial, "wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != oid:
            partial.unlink()
            raise ValueError(f"uploaded content has sha256 {digest.hexdigest()}, not {oid}")
        os.replace(partial, target)

    def commit(self, branch: str, files: dict[str, bytes], deleted: list[str], message: str, parent: str | None,
               expected_head: str | None) -> str:
        """Commit `files` (path -> blob content) on top of `parent`; move `branch` only if it is still at `expected_head`."""
        with tempfile.NamedTemporaryFile(prefix="index-", dir=self.path / ".git", delete=False) as index:
            index_path = index.name
        env = {"GIT_INDEX_FILE": index_path}
        try:
            os.unlink(index_path)  # git wants to create the index itself
            if parent:
                self.git("read-tree", parent, env=env)
            for path, content in files.items():
                blob = self.git("hash-object", "-w", "--stdin", stdin=content)
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            for path in deleted:
                self.git("update-index", "--force-remove", path, env=env)
            tree = self.git("write-tree", env=env)
            sha = self.git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        finally:
            if os.path.exists(index_path):
                os.unlink(index_path)
        self.move_ref(f"refs/heads/{branch}", sha, expected_head)
        return sha

    def move_ref(self, ref: str, sha: str, expected: str | None) -> None:
        """Compare-and-swap; `expected=None` means the ref must not exist yet."""
        result = subprocess.run(["git", "update-ref", ref, sha, expected or ""], cwd=self.path, capture_output=True,
                                timeout=30, env={**os.environ, **GIT_ENV})
        if result.returncode != 0:
            raise Conflict(f"{ref} is not at {expected or 'nothing'}: {result.stderr.decode(errors='replace').strip()}")

    def delete_ref(self, ref: str) -> None:
        if not self.git("rev-parse", "--verify", "--quiet", ref, check=False):
            raise NotFound(f"{ref} not found", "RevisionNotFound")
        self.git("update-ref", "-d", ref)


class GitStore:
    """All repositories under `<mirrors>/datasets/`; one lock serialises writes to the same repository."""

    def __init__(self, mirrors: Path):
        self.root = mirrors / "datasets"
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def get(self, repo_id: str) -> GitRepo:
        path = self.root / repo_id
        if not (path / ".git").is_dir():
            raise NotFound(f"repository {repo_id} not found", "RepoNotFound")
        return GitRepo(path)

    def create(self, repo_id: str) -> GitRepo:
        """A new repository with the Hub's first commit: a .gitattributes that sends data files to LFS."""
        path = self.root / repo_id
        if (path / ".git").is_dir():
            raise Conflict(f"repository {repo_id} already exists")
        path.mkdir(parents=True)
        repo = GitRepo(path)
        repo.git("init", "--quiet", "--initial-branch=main", ".")
        repo.commit("main", {".gitattributes": GITATTRIBUTES}, [], "initial commit", None, None)
        return repo
