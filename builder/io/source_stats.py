"""What reading a crawl (WARC records, HTML files) did, for report.json and the card.

Its own module so that the runner can add up units' statistics without importing the page
readers (and with them resiliparse and FastWARC) for inputs that are not pages.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TOP_DOMAINS = 10


@dataclass
class SourceStats:
    """What reading the crawl did, for report.json and the card."""

    records: int = 0
    skipped: Counter = field(default_factory=Counter)
    quarantined: Counter = field(default_factory=Counter)
    extracted: int = 0
    charset_sources: Counter = field(default_factory=Counter)
    declarations_not_believed: Counter = field(default_factory=Counter)  # by where the declaration was
    domains: Counter = field(default_factory=Counter)

    def add_extracted(self, url: str | None) -> None:
        self.extracted += 1
        host = _host(url)
        if host:
            self.domains[host] += 1

    def as_dict(self) -> dict:
        return {
            "records": self.records,
            "skipped": dict(sorted(self.skipped.items())),
            "quarantined": dict(sorted(self.quarantined.items())),
            "extracted": self.extracted,
            "charset_sources": dict(sorted(self.charset_sources.items())),
            "declarations_not_believed": dict(sorted(self.declarations_not_believed.items())),
            "top_domains": dict(sorted(self.domains.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DOMAINS]),
            "domains": len(self.domains),
        }


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None
