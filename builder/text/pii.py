"""Personal data in Chinese web text: find it, so it can be redacted with a typed placeholder.

Patterns expect folded text (full-width digits and `：` as ASCII, letters in lower case;
see `builder.stages.quality.tables.fold`), which lets one pattern serve `１３８…` and `138…`;
the folding keeps offsets, so spans found on the folded copy cut the original.

What counts, and why the patterns look the way they do:
- `mobile`: mainland mobile numbers, `1[3-9]` and nine more digits, optionally `+86`/`86`
  and grouped 3-4-4 with spaces or hyphens; Taiwan mobiles (`0912-345-678`, `+886 912 345 678`,
  grouped or with the country code); Hong Kong and Macau mobiles with `+852`/`+853`.
- `landline`: mainland `0` + 2-3 digit area code + 7-8 digit local number (local numbers
  never start with 0 or 1), area code optionally in parentheses; Taiwan `(02)2345 6789`,
  `02-2345-6789`, `+886 2 2345 6789`; Hong Kong and Macau 8-digit numbers after `+852`/`+853`
  or after a label (`電話`, `Tel`, `聯絡`, `熱線`, `傳真`). All take an extension
  (`-12`, `轉 12`, `分機 12`, `ext. 12`, `#12`).
- `service_number`: 400/800 numbers: 10 digits, grouped any way (400-123-4567, 4008-123-456).
- `email`: a conservative address shape (no IDN).
- `id_card`: 18-digit resident identity numbers with a plausible birth date, accepted only
  when the ISO 7064 MOD 11-2 check character matches, so order numbers and other long digit
  strings survive.
- `qq`, `wechat`: only when labelled (`QQ:`, `扣扣`, `微信号`, `vx`), since a bare 5-11 digit
  number or a short ASCII word is not personal by itself. Only the id is redacted.
- `ip`: dotted IPv4 addresses with valid octets, only where the context says IP: a word
  such as IP, 地址, 服务器, host or ping nearby, or a form numbers never take (a port
  `:8080`, a URL's `://`, a `/24` prefix). Never after 版本/version/v: versions and
  statistics (`版本 2.4.1.3`, `1.30.90.5`) look the same.

No number-shaped match starts or ends inside a longer number: digits, or a decimal point
and digits, on either side (`24232445.0108765432.9` is a statistic, not a phone number).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

PII_TYPES = ("email", "id_card", "ip", "service_number", "mobile", "landline", "qq", "wechat")

# Not inside a longer number: no digit, and no digit with a decimal point, on either side;
# no digit and a hyphen or slash before (the day of a date `2017-08-251418`).
_NUM_START = r"(?<![0-9])(?<![0-9][.\-/])"
_NUM_END = r"(?![0-9]|\.[0-9])"
_EXTENSION = r"(?:(?:-|\s?(?:转|分机|ext\.?|x|#)\s?)\d{1,5})?"
# A phone label, then at most a second label word and a colon or bracket (`聯絡電話：`,
# `熱線電話`, `Tel.:`), so that a number further along the sentence is not taken.
_PHONE_LABEL = (
    r"(?<![a-z])(?:电话|联络|联系|热线|传真|tel|phone|fax)(?:电话|号码|号|专线|方式|我们)?[\s:.()/#-]{0,3}"
)
# Two years (`2019 2020`, `2019-2020`) are not a phone number.
_NOT_YEARS = r"(?!(?:19|20)\d{2}[- ]?(?:19|20)\d{2}(?![0-9]))"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

# Each type is a list of alternatives. Order matters: earlier types win where spans could
# overlap (an ID contains digits that look like a landline, an e-mail may contain a QQ number).
_PATTERNS: dict[str, list[str]] = {
    "email": [r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?![a-z0-9-])"],
    "id_card": [
        _NUM_START + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9x](?![0-9a-z]|\.[0-9])"
    ],
    "ip": [rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])"],
    "service_number": [_NUM_START + r"[48]00(?:[- ]?\d){7}" + _NUM_END],
    "mobile": [
        r"(?<![0-9+])(?<![0-9]\.)(?:(?:\+|00)?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _NUM_END,
        # Taiwan: 09xx grouped, or with +886
        _NUM_START + r"(?:(?:\+|00)886[- ]?9\d{2}[- ]?|09\d{2}[- ])\d{3}[- ]?\d{3}" + _NUM_END,
        # Hong Kong, Macau
        r"(?:\+|00)85[23][- ]?[5-9]\d{3}[- ]?\d{4}" + _NUM_END,
    ],
    "landline": [
        _NUM_START + r"(?:\(0\d{2,3}\)|0\d{2,3})[- ]?[2-9]\d{2,3}[- ]?\d{4}" + _EXTENSION + _NUM_END,
        # Taiwan: (0x) or 0x- area code (one to three digits), 6-8 digit local number
        _NUM_START + r"(?:\(0\d{1,3}\) ?|0\d{1,3}-)[2-9]\d{2,3}[- ]?\d{3,4}" + _EXTENSION + _NUM_END,
        r"(?:\+|00)886[- ]?\(?0?[2-8]\d?\)?[- ]?\d{3,4}[- ]?\d{4}" + _EXTENSION + _NUM_END,
        # Hong Kong, Macau: eight digits after the country code, or after a label
        r"(?:\+|00)85[23][- ]?[2-4]\d{3}[- ]?\d{4}" + _EXTENSION + _NUM_END,
        _PHONE_LABEL + _NUM_START + _NOT_YEARS + r"(?P<phone_value>[2-9]\d{3}[- ]?\d{4}" + _EXTENSION + ")" + _NUM_END,
    ],
    "qq": [r"(?<![a-z])(?:qq|扣扣)(?:号码|号)?\s*:?\s*(?P<qq_value>[1-9]\d{4,10})(?![0-9])"],
    "wechat": [r"(?<![a-z])(?:微信|wechat|weixin|vx|wx|v信)(?:号)?\s*:?\s*(?P<wechat_value>[a-z][-_a-z0-9]{5,19})(?![-_a-z0-9])"],
}
_FIRST_CHARACTERS = "[0-9a-z(+扣微电联热传]"
_VALUE_GROUPS = ("qq_value", "wechat_value", "phone_value")

# An IP address needs one of these near it (the line around it, folded)...
IP_CONTEXT_RE = re.compile(
    r"(?<![a-z])(?:ip(?:v4)?|host|ping|dns|gateway|server|proxy|subnet|netmask|router|localhost)(?![a-z])"
    r"|地址|位址|服务器|伺服器|主机|网关|代理|子网|掩码|路由|端口|网段|局域网|内网|外网"
)
IP_CONTEXT_BEFORE, IP_CONTEXT_AFTER = 24, 16
# ... or a form that numbers never take: a port, a URL's scheme, a network prefix.
IP_FORM_AFTER_RE = re.compile(r":\d{2,5}(?![0-9])|/(?:[0-9]|[12][0-9]|3[0-2])(?![0-9])")
IP_FORM_BEFORE_RE = re.compile(r"://\Z|@\Z")
# Versions look like addresses: `版本 2.4.1.3`, `v1.0.0.12`, `version: 10.0.19041.1`.
VERSION_BEFORE_RE = re.compile(r"(?:版本号?|(?<![a-z])(?:version|ver|v|rev|build|固件))\s*[:.]?\s*\Z")


# A number right after one of these labels is a code, not a phone number.
CODE_LABEL_BEFORE_RE = re.compile(
    r"(?:订单|单号|编号|编码|代码|货号|型号|序号|批号|条码|流水号|运单|isbn|issn)[^0-9\n]{0,4}\Z"
)
CODE_LABEL_BEFORE = 12
_PHONE_TYPES = frozenset({"mobile", "landline", "service_number"})


def ip_in_context(folded: str, start: int, end: int) -> bool:
    """Whether a dotted quad at folded[start:end] is an IP address by its context (same line)."""
    line_start = folded.rfind("\n", max(0, start - IP_CONTEXT_BEFORE), start) + 1
    line_end = folded.find("\n", end, end + IP_CONTEXT_AFTER)
    line_end = min(len(folded), end + IP_CONTEXT_AFTER) if line_end < 0 else line_end
    before = folded[max(line_start, start - IP_CONTEXT_BEFORE) : start]
    if VERSION_BEFORE_RE.search(before):
        return False
    if IP_FORM_BEFORE_RE.search(before) or IP_FORM_AFTER_RE.match(folded, end, line_end):
        return True
    return IP_CONTEXT_RE.search(before) is not None or IP_CONTEXT_RE.search(folded, end, line_end) is not None


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"


def id_checksum_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 check of an 18-character resident ID (GB 11643), folded (`x`)."""
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].lower()


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    type: str


class PiiFinder:
    """One compiled alternation over the enabled types; spans never overlap."""

    def __init__(self, types: tuple[str, ...] | list[str]):
        unknown = set(types) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"unknown PII types {sorted(unknown)}; known: {list(PII_TYPES)}")
        self.types = [t for t in PII_TYPES if t in types]
        self.kind_of: dict[str, str] = {}
        alternatives = []
        for kind in self.types:
            for i, pattern in enumerate(_PATTERNS[kind]):
                self.kind_of[f"{kind}_{i}"] = kind
                alternatives.append(f"(?P<{kind}_{i}>{pattern})")
        # Every match starts with one of these; checking that first rejects most positions in
        # one step instead of every failed alternative (ten times faster on Chinese text).
        self.pattern = re.compile(f"(?={_FIRST_CHARACTERS})(?:{'|'.join(alternatives)})") if alternatives else None
        self.value_groups = [g for g in _VALUE_GROUPS if self.pattern is not None and g in self.pattern.groupindex]

    def finditer(self, folded: str, start: int = 0, end: int | None = None) -> Iterator[PiiSpan]:
        """Spans in `folded[start:end]`, offsets into `folded` (lookbehinds see before `start`)."""
        if self.pattern is None:
            return
        for match in self.pattern.finditer(folded, start, len(folded) if end is None else end):
            kind = self.kind_of[match.lastgroup]
            if kind == "id_card" and not id_checksum_ok(match.group()):
                continue
            if kind == "ip" and not ip_in_context(folded, match.start(), match.end()):
                continue
            if kind in _PHONE_TYPES and CODE_LABEL_BEFORE_RE.search(
                folded, max(0, match.start() - CODE_LABEL_BEFORE), match.start()
            ):
                continue
            value_group = next((g for g in self.value_groups if match.start(g) >= 0), None)
            span_start, span_end = match.span(value_group) if value_group else match.span()
            yield PiiSpan(span_start, span_end, kind)


def redact(text: str, spans: list[PiiSpan], placeholder: str, offset: int = 0) -> str:
    """Replace each span (offsets into a larger string starting at `offset`) by its placeholder."""
    pieces = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start - offset])
        pieces.append(placeholder.format(type=span.type.upper()))
        position = span.end - offset
    pieces.append(text[position:])
    return "".join(pieces)
