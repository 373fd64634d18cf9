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
        ("电话：0769-22801234转 8021", [("landline", "0769-22801234转 8021")]),
        ("报修热线:029-6187-5227", [("landline", "029-6187-5227")]),
        ("电话：010-62345678 ext. 12", [("landline", "010-62345678 ext. 12")]),
        ("Phone No.: 13812345678", [("mobile", "13812345678")]),
        ("快递员电话13812345678", [("mobile", "13812345678")]),
        ("支付宝账号：13812345678", [("mobile", "13812345678")]),
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


@pytest.mark.parametrize(
    "text, expected",
    [
        ("聯絡電話：（02）2345 6789 轉 12", [("landline", "（02）2345 6789 轉 12")]),
        ("電話：(04)2345-6789", [("landline", "(04)2345-6789")]),
        ("台北 02-2345-6789 分機 123", [("landline", "02-2345-6789 分機 123")]),
        ("電話：03-5518101分機2862", [("landline", "03-5518101分機2862")]),
        ("電話：+886 (2) 2568-3356", [("landline", "+886 (2) 2568-3356")]),
        ("行動: 0937-141993", [("mobile", "0937-141993")]),
        ("手機 +886 912 345 678", [("mobile", "+886 912 345 678")]),
        ("香港總部 +852 2345 6789", [("landline", "+852 2345 6789")]),
        ("WhatsApp +852 9123 4567", [("mobile", "+852 9123 4567")]),
        ("澳門 +853 2871 2345", [("landline", "+853 2871 2345")]),
        ("電話：2345 6789", [("landline", "2345 6789")]),
        ("Tel: 3456-7890", [("landline", "3456-7890")]),
        ("查詢熱線：2345 6789", [("landline", "2345 6789")]),
        ("聯絡 2345-6789，傳真 2345-6790", [("landline", "2345-6789"), ("landline", "2345-6790")]),
    ],
)
def test_taiwan_and_hong_kong_numbers_are_found(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ping 8.8.8.8 看看通不通", [("ip", "8.8.8.8")]),
        ("登录IP：61.135.169.125", [("ip", "61.135.169.125")]),
        ("连接到 203.0.113.5:8080", [("ip", "203.0.113.5")]),
        ("打开 http://120.198.248.26/cache/", [("ip", "120.198.248.26")]),
        ("把 10.1.2.0/24 加进白名单", [("ip", "10.1.2.0")]),
        ("使用172.16.1.1进入路由器设置界面", [("ip", "172.16.1.1")]),
    ],
)
def test_ip_addresses_are_found_in_context(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "服务器版本 2.4.1.3 已发布",  # a version, even next to an IP word
        "王者荣耀腾讯版V1.17.1.15 安卓最新版",
        "Windows version 10.0.19041.1",
        "增长率分别为1.30.90.5",  # statistics
        "《民用建筑设计通则》第6.10.1.4条",  # a clause number
        "Image To PDF 1.7.1.0 中文免费版",
        "数据为 24232445.0108765432.9",  # a phone-shaped run inside a longer number
        "发布日期2017-08-251418",  # a date followed by more digits
        "2011-08-23 至 2011-09-30",
        "合同金额 23,456,789 元，折合 23456789元",
        "ISBN 978-7-111-12345-6，ISBN 9787111123456",
        "订单号 0912345678",  # phone-shaped after an order label
        "快递单号：13812345678",
        "共计 2345 6789 人次",  # eight digits without a phone label
        "第02-2345页",
        "联系QQ77408026",  # a QQ id, not a Hong Kong number
        "把两件事联系起来，2019 2020年度的数据",  # a label word, then years further along
        "电话费 2019-2020 年度账单",
    ],
)
def test_versions_statistics_dates_amounts_and_codes_survive(text):
    assert [kind for kind, _ in found(text) if kind != "qq"] == []


def test_qq_after_a_contact_label_stays_qq():
    assert found("需要的联系QQ77408026") == [("qq", "77408026")]


def test_redaction_never_cuts_into_a_number():
    stage = Quality(QualityParams(pii=PII_TYPES))
    intro = "这家面馆开了二十八年，老板说秘诀只有一个：芝麻酱必须自己炒、自己磨，机器磨的太细香味出不来。"
    figures = "据统计，该指标的累计数值为24232445.0108765432.9，比上年同期增长1.30.90.5个百分点，版本 2.4.1.3。"
    text = f"{intro}\n{figures}\n如有疑问请致电（02）2345 6789 轉 12，或拨打服务器值班电话。"
    batch = stage(Batch({"id": ["a"], "text": [text]}))
    assert batch["text"][0] == f"{intro}\n{figures}\n如有疑问请致电<LANDLINE>，或拨打服务器值班电话。"
    assert dict(batch.counters) == {"quality.pii.landline": 1}


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
