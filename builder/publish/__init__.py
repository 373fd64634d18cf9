"""Releases: versions, manifests, dataset cards; local folders now, the Hub later."""
