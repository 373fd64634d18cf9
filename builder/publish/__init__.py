"""Releases: versions, manifests, dataset cards, changelog; into a local folder and onto the Hub."""


class PublishError(Exception):
    """A release that cannot be made as asked (the version exists, the Hub refused, an input changed...);
    the message says what to do. Nothing half-published is left visible."""


class VersionExists(PublishError):
    """Published versions are immutable."""
