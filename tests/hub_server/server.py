"""A Hub on loopback for the offline publish test: our write API in front of olah.

One endpoint (what `HF_ENDPOINT` points at) serves everything a client needs:
- the write path, implemented here over real git repositories (see git_store.py):
  `POST /api/repos/create`, `GET /api/datasets/<repo>/refs`, `POST .../preupload/<rev>`,
  the LFS batch API (`POST /datasets/<repo>.git/info/lfs/objects/batch`, then `PUT` and verify),
  `POST .../commit/<rev>` (ndjson, with `parentCommit`), `POST .../tag/<rev>`,
  `POST|DELETE .../branch/<name>` and `POST /api/validate-yaml`;
- everything else (repo info by revision, tree listings, paths-info, file downloads) is passed
  through to an olah process that serves the very same git repositories as local mirrors, in
  offline mode.

Not the Hub: no accounts (any bearer token is accepted, none is refused), no Xet (nothing here
advertises it; clients must upload with HF_HUB_DISABLE_XET=1, which makes huggingface_hub use
the LFS batch API), no pull requests, no gitignore handling, no rate limits.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from .git_store import Conflict, GitStore, NotFound, lfs_pointer

REPO = r"(?P<repo>[^/]+/[^/]+)"
LFS_MIN_BYTES = 10 << 20  # like the Hub: binary files, or text files from 10 MB, go to LFS
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host", "content-length"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "WriteServer"

    ROUTES = [
        ("POST", r"/api/repos/create", "create_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("GET", rf"/api/datasets/{REPO}/refs", "refs"),
        ("POST", rf"/api/datasets/{REPO}/preupload/(?P<rev>[^/]+)", "preupload"),
        ("POST", rf"/api/datasets/{REPO}/commit/(?P<rev>[^/]+)", "commit"),
        ("POST", rf"/api/datasets/{REPO}/tag/(?P<rev>[^/]+)", "tag"),
        ("POST", rf"/api/datasets/{REPO}/branch/(?P<branch>[^/]+)", "create_branch"),
        ("DELETE", rf"/api/datasets/{REPO}/branch/(?P<branch>[^/]+)", "delete_branch"),
        ("POST", rf"/datasets/{REPO}\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", rf"/_lfs/{REPO}/(?P<oid>[0-9a-f]{{64}})", "lfs_upload"),
        ("POST", rf"/_lfs/{REPO}/verify", "lfs_verify"),
    ]

    def log_message(self, format, *args):  # quiet: the test's output is about the publish
        self.server.log.append(f"{self.command} {self.path}")

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    # -- plumbing --------------------------------------------------------------------
    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        for method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and method == self.command:
                headers = {}
                try:
                    # LFS uploads go to the URL the batch endpoint handed out, without a token (as to S3).
                    if name != "lfs_upload" and not self.headers.get("Authorization", "").startswith("Bearer "):
                        raise HttpError(401, "a token is required to write")
                    status, body = getattr(self, name)(**{k: unquote(v) for k, v in match.groupdict().items()})
                except HttpError as err:
                    status, body = err.status, {"error": str(err)}
                except NotFound as err:
                    status, body = 404, {"error": str(err)}
                    headers = {"X-Error-Code": err.code, "X-Error-Message": str(err)}
                except Conflict as err:
                    status, body = 412 if name == "commit" else 409, {"error": str(err)}
                self._reply(status, body, headers)
                return
        self._proxy()

    def _body(self) -> bytes:
        return b"".join(self._chunks())

    def _chunks(self):
        """The request body, whether sent with Content-Length or chunked."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def _json(self) -> dict:
        return json.loads(self._body() or b"{}")

    def _reply(self, status: int, body, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        if status >= 400:  # the request body may be unread: do not parse it as the next request
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("Content-Type", (headers or {}).pop("Content-Type", "application/json"))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _proxy(self) -> None:
        body = self._body() if self.command in ("POST", "PUT") else None
        connection = http.client.HTTPConnection("127.0.0.1", self.server.olah_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            connection.close()

    # -- the write API ---------------------------------------------------------------
    def create_repo(self):
        payload = self._json()
        if payload.get("type") != "dataset":
            raise HttpError(400, "this server holds dataset repositories only")
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.server.url}/datasets/{repo_id}"
        with self.server.store.lock:
            try:
                self.server.store.create(repo_id)
            except Conflict:
                return 409, {"error": "You already created this dataset repo", "url": url}
        return 200, {"url": url, "name": repo_id}

    def validate_yaml(self):
        content = self._json().get("content", "")
        match = re.match(r"^---\n(.*?)\n---", content, flags=re.S)
        try:
            metadata = yaml.safe_load(match.group(1)) if match else {}
        except yaml.YAMLError as err:
            return 400, {"errors": [{"message": f"invalid YAML: {err}"}], "warnings": []}
        if not isinstance(metadata, dict):
            return 400, {"errors": [{"message": "the metadata must be a mapping"}], "warnings": []}
        return 200, {"errors": [], "warnings": []}

    def refs(self, repo):
        return 200, self.server.store.get(repo).refs()

    def preupload(self, repo, rev):
        git = self.server.store.get(repo)
        git.resolve(rev)
        files = []
        for item in self._json()["files"]:
            binary = b"\0" in base64.b64decode(item["sample"])
            files.append({"path": item["path"], "uploadMode": "lfs" if binary or item["size"] >= LFS_MIN_BYTES else "regular",
                          "shouldIgnore": False})
        return 200, {"files": files}

    def lfs_batch(self, repo):
        git = self.server.store.get(repo)
        payload = self._json()
        if payload.get("operation") != "upload":
            raise HttpError(400, "only uploads go through this batch endpoint; downloads go through olah")
        objects = []
        for item in payload["objects"]:
            entry = {"oid": item["oid"], "size": item["size"]}
            if not git.has_lfs(item["oid"], item["size"]):
                base = f"{self.server.url}/_lfs/{repo}"
                entry["actions"] = {"upload": {"href": f"{base}/{item['oid']}"}, "verify": {"href": f"{base}/verify"}}
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_upload(self, repo, oid):
        git = self.server.store.get(repo)
        self.server.lfs_attempts += 1
        if self.server.lfs_attempts == self.server.fail_lfs_attempt:
            raise HttpError(403, "upload refused (fault injected by the test)")
        try:
            git.store_lfs(oid, self._chunks())
        except ValueError as err:
            raise HttpError(400, str(err)) from None
        self.server.lfs_uploads.append(oid)
        return 200, {}

    def lfs_verify(self, repo):
        payload = self._json()
        if not self.server.store.get(repo).has_lfs(payload["oid"], payload["size"]):
            raise HttpError(404, f"object {payload['oid']} of {payload['size']} bytes is not stored")
        return 200, {}

    def commit(self, repo, rev):
        git = self.server.store.get(repo)
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        files, deleted = {}, []
        for item in lines:
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "lfsFile":
                if not git.has_lfs(value["oid"], value["size"]):
                    raise HttpError(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                files[value["path"]] = lfs_pointer(value["oid"], value["size"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            elif item["key"] != "header":
                raise HttpError(400, f"unsupported commit operation {item['key']}")
        with self.server.store.lock:
            head = git.resolve(rev)
            parent = header.get("parentCommit")
            if parent and parent != head:
                raise HttpError(412, f"A commit has happened since {parent}: {rev} is at {head}. Please refresh and try again.")
            message = header["summary"] + (f"\n\n{header['description']}" if header.get("description") else "")
            sha = git.commit(rev, files, deleted, message, head, head)
        return 200, {"success": True, "commitOid": sha, "commitUrl": f"{self.server.url}/datasets/{repo}/commit/{sha}"}

    def tag(self, repo, rev):
        git = self.server.store.get(repo)
        payload = self._json()
        with self.server.store.lock:
            git.move_ref(f"refs/tags/{payload['tag']}", git.resolve(rev), None)
        return 200, {}

    def create_branch(self, repo, branch):
        git = self.server.store.get(repo)
        starting = self._json().get("startingPoint") or "main"
        with self.server.store.lock:
            git.move_ref(f"refs/heads/{branch}", git.resolve(starting), None)
        return 200, {}

    def delete_branch(self, repo, branch):
        with self.server.store.lock:
            self.server.store.get(repo).delete_ref(f"refs/heads/{branch}")
        return 200, {}


class WriteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: GitStore, olah_port: int):
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.store = store
        self.olah_port = olah_port
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.log: list[str] = []
        self.lfs_uploads: list[str] = []
        self.lfs_attempts = 0
        self.fail_lfs_attempt = 0  # when set, that LFS upload attempt fails, as a dropped connection would


class HubServer:
    """Start olah and the write server; `url` is the endpoint to give clients as HF_ENDPOINT."""

    def __init__(self, workdir: Path, startup_timeout: float = 30.0):
        self.workdir = workdir
        self.startup_timeout = startup_timeout
        self.olah: subprocess.Popen | None = None
        self.server: WriteServer | None = None

    def __enter__(self) -> "HubServer":
        mirrors = self.workdir / "mirrors"
        store = GitStore(mirrors)
        olah_port = free_port()
        config = self.workdir / "olah.toml"
        config.write_text(
            f'[basic]\nhost = "127.0.0.1"\nport = {olah_port}\nrepos-path = "{self.workdir / "olah-cache"}"\n'
            f'mirrors-path = ["{mirrors}"]\n[accessibility]\noffline = true\n',
            encoding="utf-8",
        )
        self.olah_log = open(self.workdir / "olah.log", "wb")
        self.olah = subprocess.Popen(
            [sys.executable, "-m", "olah.server", "-c", str(config), "--log-path", str(self.workdir / "olah-logs")],
            cwd=self.workdir, stdout=self.olah_log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_for(olah_port)
            self.server = WriteServer(store, olah_port)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.olah.poll() is not None:
                raise RuntimeError(f"olah exited with {self.olah.returncode}: {(self.workdir / 'olah.log').read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"olah did not listen on port {port} within {self.startup_timeout} s")

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.olah is not None and self.olah.poll() is None:
            self.olah.terminate()
            try:
                self.olah.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.olah.kill()
                self.olah.wait(timeout=10)
        self.olah_log.close()
        shutil.rmtree(self.workdir / "olah-cache", ignore_errors=True)

    def client_env(self, hf_home: Path) -> dict[str, str]:
        """Environment for a client process: this endpoint, a dummy token, online, no Xet."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and not k.lower().endswith("_proxy")}
        env.update(NO_PROXY="127.0.0.1,localhost", HF_ENDPOINT=self.url, HF_TOKEN="dummy-token", HF_HOME=str(hf_home), HF_HUB_DISABLE_XET="1",
                   HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_OFFLINE="0", HF_DATASETS_OFFLINE="0")
        return env
