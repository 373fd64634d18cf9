"""PII redaction: every type found and replaced by its placeholder, ordinary numbers left alone."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.stages import Batch
from builder.stages.quality import Quality, QualityParams
from builder.stages.quality.tables import fold
from builder.text.pii import PII_TYPES, PiiFinder, id_checksum_ok

FINDER = PiiFinder(PII_TYPES)
VALID_ID = "11010519491231002X"  # the GB 11643 example number


def found(text: str) -> list[tuple[str, str]]:
    folded = fold(text)
    return [(span.type, text[span.start : span.end]) for span in FINDER.finditer(folded)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的手机是13823588114，欢迎来电", [("mobile", "13823588114")]),
        ("手机：+86 138-2358-8114", [("mobile", "+86 138-2358-8114")]),
        ("全角号码１３８２３５８８１１４", [("mobile", "１３８２３５８８１１４")]),
        ("电话：0769-22801234转", [("landline", "0769-22801234")]),
        ("电话（010）62345678", [("landline", "（010）62345678")]),
        ("服务热线400-812-3456", [("service_number", "400-812-3456")]),
        ("免费电话 800 123 4567", [("service_number", "800 123 4567")]),
        ("邮箱：Sales@Xinyuan-Machine.com", [("email", "Sales@Xinyuan-Machine.com")]),
        (f"身份证号{VALID_ID}", [("id_card", VALID_ID)]),
        ("联系QQ：283746512", [("qq", "283746512")]),
        ("微信号：Wx_abc123", [("wechat", "Wx_abc123")]),
        ("服务器地址192.168.1.10。", [("ip", "192.168.1.10")]),
    ],
)
def test_each_type_is_found(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号110105194912310021已发货",  # 18 digits, wrong check digit
        "本次活动参会人数达到11587人",  # a count
        "共有123456789人次参观",  # an unlabelled number is not a QQ id
        "版本号 1.2.3 发布于 2023-05-01",  # version and date
        "編號2023050112345678901",  # longer than any pattern
        "微信支付和支付宝都可以用",  # a label without an id
    ],
)
def test_ordinary_numbers_survive(text):
    assert found(text) == []


def test_id_checksum():
    assert id_checksum_ok(fold(VALID_ID))
    assert not id_checksum_ok("110105194912310021")


def test_stage_redacts_with_typed_placeholders_and_counts():
    stage = Quality(QualityParams(pii=("mobile", "email")))
    body = "这家面馆开了二十八年，老板说秘诀只有一个：芝麻酱必须自己炒、自己磨，机器磨的太细香味出不来。"
    text = f"{body}\n如需订餐，可以拨打老板的手机13823588114或者发邮件到mian@example.com预约，座机0769-22801234。"
    batch = stage(Batch({"id": ["a"], "text": [text]}))
    out = batch["text"][0]
    assert "<MOBILE>" in out and "<EMAIL>" in out
    assert "13823588114" not in out and "mian@example.com" not in out
    assert "0769-22801234" in out  # landlines were not asked for
    assert batch.counters["quality.pii.mobile"] == 1 and batch.counters["quality.pii.email"] == 1


def test_unknown_pii_type_is_an_error():
    with pytest.raises(ValueError):
        PiiFinder(["passport"])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd"), blacklist_characters="@"), max_size=200))
def test_text_without_digits_or_at_has_no_pii_but_labelled_wechat(text):
    assert all(kind == "wechat" for kind, _ in found(text))


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.sampled_from(["电话", "联系", "，", " "]))
def test_any_mobile_number_is_found(number, before):
    assert ("mobile", number) in found(f"{before}{number}。")
