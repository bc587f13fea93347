"""Personal data as people write it, for the masking tests and figures (hypothesis).

Every number is generated, then written in one of the forms people use: grouped with
spaces, dashes or dots, full-width, Chinese numerals (零/〇, 幺 for 1), Arabic-Indic, with
+86; then placed inside a colloquial sentence. `benign` sentences hold what must survive:
dates, times, amounts, house numbers, order and parcel numbers, plates, postcodes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hypothesis import strategies as st

from shared.masking import COMMON_SURNAMES, id_check_digit

DIGITS = "0123456789"
FULL_WIDTH = "０１２３４５６７８９"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
EXTENDED_ARABIC_INDIC = "۰۱۲۳۴۵۶۷۸۹"
CHINESE = "零一二三四五六七八九"
CHINESE_ALT = "〇幺二三四五六七八九"  # how 0 and 1 are often said and typed

digit = st.sampled_from(DIGITS)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    second = draw(st.sampled_from("3456789"))
    return "1" + second + "".join(draw(st.lists(digit, min_size=9, max_size=9)))


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(
        st.one_of(
            st.sampled_from(["010", "020", "021", "022", "023", "024", "025", "027", "028", "029"]),
            st.builds(lambda a, b, c: "0" + a + b + c, st.sampled_from("3456789"), digit, digit),
        )
    )
    length = draw(st.sampled_from([7, 8]))
    rest = draw(st.lists(digit, min_size=length - 1, max_size=length - 1))
    local = draw(st.sampled_from("23456789")) + "".join(rest)
    return area + local


REGIONS = ["110101", "310104", "330106", "440305", "510107", "610113", "320102", "420111"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com.cn", "example.org", "hz.gov.cn"]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    seq = "".join(draw(st.lists(digit, min_size=3, max_size=3)))
    first17 = region + born.strftime("%Y%m%d") + seq
    return first17 + id_check_digit(first17)


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.from_regex(r"[a-z][a-z0-9._]{0,14}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(DOMAINS))
    return f"{local}@{domain}"


GIVEN = "小红明华伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀英霞平刚桂兰志国建文斌宇浩凯俊"


@st.composite
def names(draw: st.DrawFn) -> tuple[str, str]:
    """(family name, given name)."""
    family = draw(st.sampled_from([*sorted(COMMON_SURNAMES)[:120], "欧阳", "司马", "诸葛"]))
    given = "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
    return family, given


# --- the forms numbers are written in -----------------------------------------------


def _in_script(number: str, script: str) -> str:
    return "".join(script[int(c)] if c.isdigit() else c for c in number)


def _grouped(number: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        if i >= len(number):
            break
        out.append(number[i : i + size])
        i += size
    if i < len(number):
        out.append(number[i:])
    return sep.join(out)


NUMBER_FORMS: dict[str, Callable[[str], str]] = {
    "plain": lambda n: n,
    "spaces 3-4-4": lambda n: _grouped(n, [3, 4, 4, 4, 4], " "),
    "dashes 3-4-4": lambda n: _grouped(n, [3, 4, 4, 4, 4], "-"),
    "dots 3-4-4": lambda n: _grouped(n, [3, 4, 4, 4, 4], "."),
    "spaces 6-8-4": lambda n: _grouped(n, [6, 8, 4], " "),
    "spaces 4-4-4": lambda n: _grouped(n, [4, 4, 4, 4, 4], " "),
    "every digit spaced": lambda n: " ".join(n),
    "full-width": lambda n: _in_script(n, FULL_WIDTH),
    "full-width spaced": lambda n: _grouped(_in_script(n, FULL_WIDTH), [3, 4, 4, 4, 4], "\u3000"),
    "Chinese numerals": lambda n: _in_script(n, CHINESE),
    "Chinese numerals 〇幺": lambda n: _in_script(n, CHINESE_ALT),
    "Arabic-Indic": lambda n: _in_script(n, ARABIC_INDIC),
    "Extended Arabic-Indic": lambda n: _in_script(n, EXTENDED_ARABIC_INDIC),
    "en dashes": lambda n: _grouped(n, [3, 4, 4, 4, 4], "–"),
}
MOBILE_ONLY_FORMS: dict[str, Callable[[str], str]] = {
    "+86": lambda n: "+86 " + n,
    "+86 spaced": lambda n: "+86 " + _grouped(n, [3, 4, 4], " "),
    "86-": lambda n: "86-" + n,
}
LANDLINE_ONLY_FORMS: dict[str, Callable[[str], str]] = {
    "(area) local": lambda n: f"({n[:3] if n[1] in '12' else n[:4]}){n[3 if n[1] in '12' else 4 :]}",
    "area-local": lambda n: f"{n[:3] if n[1] in '12' else n[:4]}-{n[3 if n[1] in '12' else 4 :]}",
}
ID_ONLY_FORMS: dict[str, Callable[[str], str]] = {
    "lower-case x": lambda n: n.lower(),
}

# Colloquial sentences with a slot; the slot never touches a digit or a Chinese numeral.
PHONE_SENTENCES = [
    "我家楼下烧烤店油烟太大了，天天呛得没法开窗，联系电话{}，麻烦尽快来看看",
    "{} 这是我手机，打不通就发短信",
    "你好 我想问下社保卡补办要带啥材料 我电话是{}谢谢",
    "投诉！！小区门口乱停车堵死了，回电{}",
    "噪音扰民半夜还在施工 电话:{} 请处理",
    "mobile {} pls call back, the street light is broken",
    "有事找我，我的号码{}，白天都在",
]
ID_SENTENCES = [
    "办居住证，我身份证号{}，请问还缺什么",
    "身份证：{} 医保报销一直没到账",
    "我的证件号码是{}，帮我查下公积金",
    "ID {} 的那个是我本人",
]
EMAIL_SENTENCES = [
    "回复请发邮箱{}，谢谢",
    "my email is {} ok",
    "材料我发到了 {} 这个邮箱",
]
NAME_SENTENCES = [
    "我是{}，住在这个小区十几年了，从来没这么吵过",
    "你好，{}反映：路灯坏了",
    "联系人{}，白天在家",
    "{}  投诉物业不作为",
    "请转告{}本人",
]

FILLER = "的了是我在有这个人们来到时大地为上生就要下以会可出也你对说后能而过子天去和家小区路灯噪音物业投诉"
fillers = st.text(alphabet=FILLER + "，。！？ ", max_size=30)


@st.composite
def phone_samples(draw: st.DrawFn) -> tuple[str, str, str]:
    """(digits, the form's name, a sentence holding the number in that form)."""
    kind = draw(st.sampled_from(["mobile", "landline"]))
    number = draw(mobiles() if kind == "mobile" else landlines())
    forms = {**NUMBER_FORMS, **(MOBILE_ONLY_FORMS if kind == "mobile" else LANDLINE_ONLY_FORMS)}
    form = draw(st.sampled_from(sorted(forms)))
    sentence = draw(st.sampled_from(PHONE_SENTENCES))
    text = draw(fillers) + sentence.format(forms[form](number)) + draw(fillers)
    return number, f"{kind}: {form}", text


@st.composite
def id_samples(draw: st.DrawFn) -> tuple[str, str, str]:
    number = draw(id_numbers())
    forms = {**NUMBER_FORMS, **ID_ONLY_FORMS}
    form = draw(st.sampled_from(sorted(forms)))
    sentence = draw(st.sampled_from(ID_SENTENCES))
    text = draw(fillers) + sentence.format(forms[form](number)) + draw(fillers)
    return number, f"id: {form}", text


@st.composite
def email_samples(draw: st.DrawFn) -> tuple[str, str, str]:
    address = draw(emails())
    form = draw(st.sampled_from(["plain", "full-width @", "upper-case", "(at)"]))
    written = {
        "plain": address,
        "full-width @": address.replace("@", "＠"),
        "upper-case": address.upper(),
        "(at)": address.replace("@", "(at)"),
    }[form]
    sentence = draw(st.sampled_from(EMAIL_SENTENCES))
    return address, f"email: {form}", draw(fillers) + sentence.format(written) + draw(fillers)


NAME_FORMS: dict[str, Callable[[str, str], str]] = {
    "family given": lambda f, g: f + g,
    "spaced characters": lambda f, g: " ".join(f + g),
    "family space given": lambda f, g: f"{f} {g}",
    "given family (Western order)": lambda f, g: g + f,
    "given space family": lambda f, g: f"{g} {f}",
    "full-width space": lambda f, g: f"{f}\u3000{g}",
}


@st.composite
def name_samples(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(the name as stored, the name as written, the form, the sentence). Stored as intake
    keeps it: one string, or Open311's "last first"."""
    family, given = draw(names())
    stored = draw(st.sampled_from([family + given, f"{family} {given}"]))
    form = draw(st.sampled_from(sorted(NAME_FORMS)))
    written = NAME_FORMS[form](family, given)
    sentence = draw(st.sampled_from(NAME_SENTENCES))
    return stored, written, f"name: {form}", sentence.format(written)


BENIGN = [
    "2026年12月1日下午3点，3号楼2单元漏水到现在",
    "上周五（11月27日）15:30报过一次，工单号20261127153012，到现在没人来",
    "物业费一年1,280.50元，凭什么涨到2,400元",
    "订单号202612011234567890，退款一直没到",
    "快递单号SF1234567890123被退回了",
    "邮编310012，地址写的没错",
    "公交K193路晚上9点以后就没车了",
    "我们一家三口，两个老人七十多岁",
    "楼高33层，电梯只有2部，早上7:50排队20分钟",
    "去年2025年交了3000多块取暖费",
    "第1、2、3期的补贴都没发",
    "2026-12-01 08:00 到 2026-12-01 18:00 停水",
    "12/01 到 12/05 施工，每天22点以后还在干",
    "温度只有16.5度，标准是18度",
    "占地约500平方米，绿化率35%",
    "小区有1200户，投诉的有300多户",
    "version 2.3.1 的APP闪退",
    "发票号码 04400123 12345678",
    "罚款200元扣3分",
    "二〇二六年十二月一日晚上十点",
    "五一假期过后一直没人管",
    "银行卡尾号1234的那笔",
    "房间号1201，楼层12",
    "12345热线打了三次都占线",
    "统一社会信用代码91330100MA2XXXXX1X的那家公司",
    "交易流水号 20261201093015000123",
    "营业执照编号 330106000123456",
    "我是业主，楼上漏水",
    "我是张家港来的，在这边打工",
    "我是高新区的居民",
    "我是王先生的邻居",
    "本人是房东，租客欠租不走",
    "我是司机，这个路口没有红绿灯",
    "我是一名退休教师",
    "我叫车来接老人，司机说小区不让进",
    # Words after 孩子/主任/经理 that are what happened or where, not who; titles alone.
    "孩子高烧三天了，社区医院说要转院",
    "车间主任说下个月才发工资",
    "项目经理讲下周一开始施工",
    "张医生说要复查，号挂不上",
    "买了台新iPhone15，屏幕有坏点",
    "主治医生说床位紧张",
    "京剧团门口的路灯不亮",
    "3号楼和5号楼中间的绿地",
]
