"""One release of a config: which version it becomes, and where it goes.

Every release is built into the local folder first (staged, then renamed into place); with
`publish.target: hub` that same folder is then uploaded, so local and Hub releases share one
build path, and `python -m builder publish` can upload a version built earlier.

`version: auto` is resolved before the build (the build needs a name for its staging) as the
minor (or, with `breaking: true`, major) bump of the newest version published locally or on the
Hub. After the build, if the shards are byte-identical to that version's, only the card can
have changed, and the release becomes a patch bump instead.
"""
from __future__ import annotations

from pathlib import Path

from builder.publish import PublishError
from builder.publish.local import LocalRelease, Staging
from builder.publish.manifest import read_manifest
from builder.publish.versions import bump, newest, published_versions

class Release:
    def __init__(self, config, progress: bool = False):
        publish = config.publish
        if publish.target == "hub":  # the Hub client is imported only by builds that upload
            from builder.publish.hub import HubRepo
        self.hub = HubRepo(publish.repo_id, publish.private) if publish.target == "hub" else None
        self.progress = progress
        dataset_dir = Path(publish.root) / config.name
        self.auto = config.version == "auto"
        self.previous: str | None = None
        version = config.version
        if self.auto:
            local = [p.name for p in published_versions(dataset_dir)]
            self.previous = newest(local + (self.hub.published_versions() if self.hub else []))
            version = bump(self.previous, "major" if config.breaking else "minor")
        self.config = config.model_copy(update={"version": version})
        self.local = LocalRelease(Path(publish.root), config.name, version)

    @property
    def version_dir(self) -> Path:
        return self.local.version_dir

    @property
    def committed(self) -> bool:
        """Whether the local version is in place (and, with `target: hub`, uploaded)."""
        return self.local.committed and self.hub is None

    def check_new(self) -> None:
        self.local.check_new()
        if self.hub:
            self.hub.check_new(self.local.version)

    def staging(self, fresh: bool = False):
        return self.local.staging(fresh=fresh)

    def publish(self, staging: Staging, report: dict, shards, rejected_shards, inputs: list[dict], limit: int | None) -> None:
        auto_version = self._settle_auto_version(shards) if self.auto else None
        self.local.publish(staging, self.config, report, shards, rejected_shards, inputs, limit, auto_version)
        if self.hub:
            self._upload()

    def _upload(self) -> None:
        """After the local commit, a failure must not say "nothing was published": say what is where."""
        again = f"python -m builder publish {self.version_dir} --to hub --repo-id {self.hub.repo_id}"
        from builder.publish.hub import publish_to_hub

        try:
            publish_to_hub(self.local.version_dir, self.hub, self.progress)
        except KeyboardInterrupt:
            raise PublishError(f"interrupted: {self.version_dir} was published locally but not uploaded; to upload it: {again}") from None
        except Exception as err:
            raise PublishError(f"{self.version_dir} was published locally, but the upload failed: {err}; to retry: {again}") from None

    def _settle_auto_version(self, shards) -> dict:
        if self.previous is None:
            return {"previous": None, "bump": "first", "reason": "nothing was published before"}
        if self.config.breaking:
            return {"previous": f"v{self.previous}", "bump": "major", "reason": "the config says `breaking: true`"}
        if [s.sha256 for s in shards] == [s["sha256"] for s in self._previous_manifest()["shards"]]:
            version = bump(self.previous, "patch")
            self.config = self.config.model_copy(update={"version": version})
            self.local.version = version
            self.check_new()
            return {"previous": f"v{self.previous}", "bump": "patch", "reason": "the rows are byte-identical: only the card changed"}
        return {"previous": f"v{self.previous}", "bump": "minor", "reason": "the rows changed"}

    def _previous_manifest(self) -> dict:
        local = self.local.dataset_dir / f"v{self.previous}"
        if (local / "MANIFEST.json").is_file():
            return read_manifest(local)
        return self.hub.read_manifest(self.previous)
