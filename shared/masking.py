"""The one masking function for every free text that enters an event (DESIGN §8).

People write their contact data into free text in every way a keyboard or an input method
allows: `139 0000 1111`, `139-0000-1111`, full-width `１３９００００１１１１`, Chinese numerals
`一三九零零零零一一一一`, an ID number in groups `110101 19900307 1234`, their name with a
space between its characters or in Western order. The text is normalised character by
character first (NFKC, every decimal digit of any script, Chinese numerals inside digit
runs), patterns are found in the normalised text, and the matching stretch of the ORIGINAL
text is replaced by its mask: everything else is left exactly as written.

`mask_text(text)` masks what can be recognised without knowing the person (phone numbers,
ID numbers, e-mail addresses, a name introduced with 我叫/我是/姓名…); `mask_text(text,
Person(name=…, address=…))` also masks that person's own name in every written form and
their address below the street.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

# --- normalisation -------------------------------------------------------------------

CHINESE_DIGITS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "洞": "0",  # radio/telephone speech: 洞 = 0, 幺 = 1, 两 = 2, 拐 = 7, 勾 = 9
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "拐": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "勾": "9",
    "玖": "9",
}
# Speech-only stand-ins count as digits only next to other digits (never on their own).
_WEAK_DIGITS = frozenset("洞两拐勾")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def normalise_char(ch: str) -> str:
    """One character as the matcher reads it (may be empty or several characters)."""
    if ch in ZERO_WIDTH:
        return ""
    if ch in CHINESE_DIGITS:
        return ch  # decided in context by _digit_runs
    decimal = unicodedata.decimal(ch, None)
    if decimal is not None:
        return str(decimal)  # ٣, ۳, ३, １ … → 3, 1
    return unicodedata.normalize("NFKC", ch)


def normalise(text: str) -> str:
    """The text as the matcher reads it: NFKC, every script's decimal digits as ASCII,
    zero-width characters gone, Chinese numerals as digits inside digit runs."""
    norm, _ = _normalised(text)
    return _digits_view(norm)


def normalise_number(value: str) -> str:
    """A phone or ID number typed in any digits (full-width, Arabic-Indic, 一二三): ASCII
    digits, X upper-case, separators dropped; other characters stay (for the caller to refuse)."""
    norm = _digits_view(_normalised(value)[0])
    return re.sub(r"[\s\-‐‑‒–—―−.·・()]", "", norm).replace("x", "X")


class _Table(dict[int, str]):
    """normalise_char for str.translate, each character worked out once."""

    def __missing__(self, key: int) -> str:
        value = normalise_char(chr(key))
        self[key] = value
        return value


_TABLE = _Table()
_ZERO_WIDTH_RE = re.compile("[" + "".join(sorted(ZERO_WIDTH)) + "]")


def _normalised(text: str) -> tuple[str, Sequence[int]]:
    """The normalised text and, for each of its characters, the index of the original one."""
    norm = text.translate(_TABLE)
    if len(norm) == len(text) and not _ZERO_WIDTH_RE.search(text):
        return norm, range(len(text))  # one character for one (nearly every text)
    origin: list[int] = []
    for i, ch in enumerate(text):
        origin.extend([i] * len(_TABLE[ord(ch)]))
    return norm, origin


# --- digit runs ----------------------------------------------------------------------

# What people put between the digits of one number.
_SEP = r"[ \t\u3000\-‐‑‒–—―−.·・_/()\[\]（），,]"
_DIGIT = r"[0-9零〇○洞一幺壹二两贰三叁四肆五伍六陆七拐柒八捌九勾玖]"
_RUN = re.compile(rf"\+?{_DIGIT}(?:{_SEP}{{0,3}}{_DIGIT})*(?:{_SEP}{{0,3}}[Xx叉](?![A-Za-z]))?")
_GROUP = re.compile(rf"{_DIGIT}+[Xx叉]?|[Xx叉]")
_DIGIT_OR_X = re.compile(rf"{_DIGIT}|[Xx]")


def _digits_view(norm: str) -> str:
    """Chinese numerals as ASCII digits where they form a run of at least two digits."""

    def convert(m: re.Match[str]) -> str:
        s = m.group()
        if sum(1 for c in s if c not in _WEAK_DIGITS) < 2 and not any(c.isdigit() for c in s):
            return s
        return s.translate(_AS_DIGITS)

    return re.sub(rf"{_DIGIT}{{2,}}", convert, norm)


_AS_DIGITS = str.maketrans(CHINESE_DIGITS)
_ASCII_DIGIT = re.compile(r"[0-9]")
_STRONG_CHINESE_DIGIT = re.compile("[" + "".join(c for c in CHINESE_DIGITS if c not in _WEAK_DIGITS) + "]")


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def looks_like_id_number(digits: str) -> bool:
    """An 18-character resident ID: a region and a real birth date (and then a mistyped
    check digit is still the person's number; an order number rarely has a date there)."""
    if len(digits) != 18 or not digits[:17].isdigit() or not (digits[17].isdigit() or digits[17] in "Xx"):
        return False
    if digits[0] not in "123456789":
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{1,2}[2-9]\d{6,7}")


def _classify(digits: str, plus: bool, cue: bool, card_cue: bool = False) -> str | None:
    """What kind of personal number a digit string is, if any."""
    if looks_like_id_number(digits):
        return "id"
    if not digits.isdigit():
        return None
    if _MOBILE.fullmatch(digits):
        return "mobile"
    if 10 <= len(digits) <= 12 and _LANDLINE.fullmatch(digits):
        return "landline"
    if plus and 8 <= len(digits) <= 15:
        return "phone"
    if cue and 7 <= len(digits) <= 8 and digits[0] in "23456789":
        return "landline"  # "电话 8888 1234": a local number named as one
    if cue and len(digits) == 15 and digits[0] in "12345678":
        return "id"  # an old 15-digit ID number named as one
    if 16 <= len(digits) <= 19 and (card_cue or luhn_valid(digits)):
        return "card"  # a bank card number (named as one, or its check digit holds)
    return None


def luhn_valid(digits: str) -> bool:
    """The check digit of bank card numbers (ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_CARD_CUE = re.compile(r"(卡|账号|账户|card|account)", re.I)
_PHONE_CUE = re.compile(r"(电话|手机|号码|联系|致电|打|拨|座机|tel|phone|call|mobile|身份证|证件)", re.I)


def _mask_number(kind: str, digits: str) -> str:
    if kind == "card":
        return digits[:4] + " **** " + digits[-4:]
    if kind == "id":
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    local = digits[-11:] if kind == "mobile" else digits
    if len(local) <= 8:
        return "*" * (len(local) - 4) + local[-4:]
    keep = 3 if kind == "mobile" or local[:3] in _THREE_DIGIT_AREAS else 4 if local.startswith("0") else 3
    return local[:keep] + "*" * (len(local) - keep - 4) + local[-4:]


MAX_PERSONAL_DIGITS = 19
_THREE_DIGIT_AREAS = frozenset({"010"} | {f"02{d}" for d in range(10)})
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _number_spans(norm: str, origin: Sequence[int]) -> list[tuple[int, int, str]]:
    """Spans of the ORIGINAL text holding a phone or ID number, with their masks."""
    spans: list[tuple[int, int, str]] = []
    ids = [(m.start(), m.end()) for m in _UUID.finditer(norm)]  # identifiers, not numbers
    for run in _RUN.finditer(norm):
        if any(a <= run.start() < b for a, b in ids):
            continue
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in _GROUP.finditer(run.group())]
        plus = run.group().startswith("+")
        before = norm[max(0, run.start() - 8) : run.start()]
        cue = bool(_PHONE_CUE.search(before))
        card_cue = bool(_CARD_CUE.search(before))
        if not _ASCII_DIGIT.search(run.group()) and len(_STRONG_CHINESE_DIGIT.findall(run.group())) < 7:
            continue  # a few Chinese numerals are words, not a number
        # Each group's digits once; a personal number is at most 19 of them (a bank card).
        group_digits = [norm[a:b].translate(_AS_DIGITS).replace("叉", "X") for a, b in groups]
        i = 0
        while i < len(groups):
            found = None
            stretch = [group_digits[i]]
            for k in range(i + 1, len(groups)):
                if sum(map(len, stretch)) + len(group_digits[k]) > MAX_PERSONAL_DIGITS:
                    break
                stretch.append(group_digits[k])
            # The longest stretch of consecutive groups that is a personal number.
            for j in range(i + len(stretch) - 1, i - 1, -1):
                digits = "".join(stretch[: j - i + 1])
                kind = _classify(digits, plus and i == 0, cue, card_cue)
                if kind is not None:
                    found = (j, kind, digits)
                    break
            if found is None:
                i += 1
                continue
            j, kind, digits = found
            start = groups[i][0] - (1 if plus and i == 0 else 0)
            spans.append((origin[start], origin[groups[j][1] - 1] + 1, _mask_number(kind, digits)))
            i = j + 1
    return spans


# --- e-mail addresses ----------------------------------------------------------------

_AT = r"(?:@|\(at\)|\[at\]|\{at\}|艾特|圈a)"
_DOT = r"(?:\.|\(dot\)|\[dot\]|\sdot\s|点)"
# An address with an at sign, or one written out (john(at)gmail(dot)com, sunli艾特163点com).
_EMAIL_WRITTEN = re.compile(
    rf"[A-Za-z0-9._%+\-]{{1,64}}\s*{_AT}\s*[A-Za-z0-9\-]+(?:\s*{_DOT}\s*[A-Za-z0-9\-]+)*\s*{_DOT}\s*[A-Za-z]{{2,}}",
    re.I,
)
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}\s*(?:@|\(at\)|\[at\]|\{at\}|\sat\s)\s*"
    r"[A-Za-z0-9\-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*[A-Za-z0-9\-]+)*"
    r"\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*[A-Za-z]{2,}",
    re.I,
)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _email_spans(norm: str, origin: Sequence[int]) -> list[tuple[int, int, str]]:
    spans = []
    written = [m for m in _EMAIL_WRITTEN.finditer(norm)]
    for m in written:
        local, _, domain = re.split(rf"\s*({_AT})\s*", m.group(), maxsplit=1, flags=re.I)
        domain = re.sub(rf"\s*{_DOT}\s*", ".", domain, flags=re.I).replace(" ", "")
        spans.append((origin[m.start()], origin[m.end() - 1] + 1, mask_email(f"{local}@{domain}")))
    taken = [(m.start(), m.end()) for m in written]
    for m in _EMAIL.finditer(norm):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue
        raw = m.group()
        if "@" not in raw and not re.search(r"\(at\)|\[at\]|\{at\}", raw, re.I):
            # "x at y dot com" without brackets only when it ends like a domain
            if not re.search(r"(\sdot\s|\.)\s*(com|cn|net|org|edu|gov)$", raw, re.I):
                continue
        local = re.split(r"\s*(?:@|\(at\)|\[at\]|\{at\}|\sat\s)", raw, maxsplit=1, flags=re.I)[0]
        domain = raw[len(local) :]
        domain = re.sub(r"^\s*(?:@|\(at\)|\[at\]|\{at\}|\sat\s)\s*", "", domain, flags=re.I)
        domain = re.sub(r"\s*(?:\(dot\)|\[dot\]|\sdot\s)\s*", ".", domain, flags=re.I).replace(" ", "")
        spans.append((origin[m.start()], origin[m.end() - 1] + 1, mask_email(f"{local}@{domain}")))
    return spans


# --- messaging accounts ----------------------------------------------------------------

# A QQ number or a WeChat id named as one ("QQ 12345678", "微信号 zhang_san88", "wxid_…"):
# a way to reach the person, masked like a phone number.
_ACCOUNT = re.compile(
    r"(?:(?:qq|扣扣|企鹅)(?:号码|号)?\s*[是为:：]?\s*)(?P<qq>[1-9]\d{4,11})(?!\d)"
    r"|(?:(?:微信|vx|wx|wechat|v信|薇信|威信|徽信)\s*(?:号|id)?\s*[是为:：]?\s*)(?P<wx>[a-z][-_a-z0-9]{5,19})(?![-_a-z0-9])"
    r"|(?P<wxid>wxid_[a-z0-9]{4,30})",
    re.I,
)


def _account_spans(norm: str, origin: Sequence[int]) -> list[tuple[int, int, str]]:
    spans = []
    for m in _ACCOUNT.finditer(norm):
        group = next(g for g in ("qq", "wx", "wxid") if m.group(g))
        start, end = m.start(group), m.end(group)
        value = m.group(group)
        mask = value[:2] + "*" * max(3, len(value) - 4) + value[-2:]
        spans.append((origin[start], origin[end - 1] + 1, mask))
    return spans


# --- vehicles, documents, accounts, flats ------------------------------------------------

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# A licence plate (京N 8L2W7, 黑A·K7291, 川AD82K61, 湘a8f3k2): the car is its keeper's.
_PLATE = re.compile(
    rf"(?<![A-Za-z0-9])([{_PROVINCES}][A-Za-z])[\s·・.\-]?([A-Za-z0-9]{{5,6}})(?![A-Za-z0-9])"
)
# A document or member number named as one (护照号E58294716, 学号2021031147, 抖音号 dy_x).
_NAMED_NUMBER = re.compile(
    r"(?:护照|通行证|签证|居住证|驾驶证|驾照|军官证|学号|工号|学籍号|社保卡号?|医保卡号?|证件|病历|住院"
    r"|抖音|快手|微博|小红书|b站|淘宝|支付宝|钉钉|飞书|telegram|line|skype|whatsapp|微信|vx|wx)"
    r"\s*(?:号码|账号|帐号|号|id|名|名字|昵称)?\s*(?:是|为|叫|:|：)?\s*"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9_.\-]{4,29})(?![A-Za-z0-9_\-])",
    re.I,
)
# A flat written out (7栋1单元801, 6号楼1门302, 2栋5楼1号, 4号院后排平房第3间): the street
# and the estate stay, the building and the door go.
_FLAT = re.compile(
    r"\d+\s*(?:号楼|栋|幢|座|号院)\s*(?:\d+\s*(?:单元|门|楼|层|排)\s*)?"
    r"(?:\d+\s*(?:室|号|户)?(?![\d\s]*(?:单元|门))|[^\s，,。；;！!？?\d]{0,6}?第\s*\d+\s*(?:间|户|室|号))"
    r"|(?:村|屯|组)[东西南北]?头?第[一二三四五六七八九十\d]+排\s*\d+\s*号"
)


def _identifier_spans(norm: str, origin: Sequence[int]) -> list[tuple[int, int, str]]:
    spans = []
    for m in _PLATE.finditer(norm):
        if not re.search(r"\d", m.group(2)):
            continue  # 京AB… without a digit is a word, not a plate
        spans.append(
            (origin[m.start()], origin[m.end() - 1] + 1, m.group(1).upper() + "·***" + m.group(2)[-2:])
        )
    for m in _NAMED_NUMBER.finditer(norm):
        value = m.group("value")
        if not re.search(r"\d", value) and "_" not in value and len(value) < 6:
            continue
        start, end = m.start("value"), m.end("value")
        spans.append(
            (origin[start], origin[end - 1] + 1, value[:2] + "*" * max(3, len(value) - 4) + value[-2:])
        )
    for m in _FLAT.finditer(norm):
        if re.fullmatch(r"\d+\s*(?:号楼|栋|幢|座)\s*\d+\s*(?:单元|门)", m.group()):
            continue  # a building and its entrance, no door: not one household
        spans.append((origin[m.start()], origin[m.end() - 1] + 1, "***"))
    return spans


# --- names -----------------------------------------------------------------------------

COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 南宫 西门 独孤"
).split()
COMMON_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古"
    "吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
# A name introduced as one: 我叫林小红, 我是林小红, 姓名：林小红, 联系人 林小红.
_INTRO = re.compile(
    rf"(?:我叫|我是|本人(?:叫|是)?|姓名\s*[:：]?|户名\s*[:：]?|联系人\s*[:：]?|名字(?:叫|是)\s*"
    rf"|(?:她|他|我(?:儿子|女儿|爱人|老伴|丈夫|妻子|老公|老婆|父亲|母亲|爸|妈|家属))(?:叫|名叫)"
    rf"|联系我?(?:儿子|女儿|爱人|老伴|家属|家人|丈夫|妻子|老公|老婆))\s*({_CJK}(?:\s?{_CJK}){{1,3}})"
)
# Someone else named by who they are to the person (房东叫贺春梅, 邻居钱志强, 医生马卫东,
# 那个叫章晓静的): a third party's name is theirs to keep too.
_ROLES = (
    "房东|二房东|房主|老板娘|老板|店主|店长|医生|大夫|护士长|护士|民警|警察|警官|辅警|城管|司机|快递员|外卖员"
    "|骑手|业务员|销售|中介|经理|班主任|老师|校长|园长|工作人员|网格员|保安|管家|邻居|对门的|对门|孩子|儿子|女儿|闺女"
    "|爱人|老伴|丈夫|妻子|老公|老婆|母亲|父亲|婆婆|公公|岳母|岳父|孙子|孙女|外孙|外孙女|法人代表|法人|负责人"
    "|包工头|工头|抄表员|维修工|律师|会计|村长|村支书|书记|主任|科长|所长|站长|队长|组长|同事|室友|前夫|前妻"
    "|小孩|隔壁的|楼上的|楼下的"
)
_ROLE_INTRO = re.compile(
    rf"(?:(?:{_ROLES})(?:[，,]?\s*的?(?:名字)?(?:叫|名叫|是|姓名是))?|(?:那个|有个|一个|这个|的|人|[，,])叫)"
    rf"\s*({_CJK}(?:\s?{_CJK}){{1,3}})"
)
# A name before the title people call them by (刘建军医生, 吕斌大夫): the title alone
# (张医生) says nothing of who.
_NAME_BEFORE_TITLE = re.compile(rf"({_CJK}{{2,3}})(?=医生|大夫|警官|律师|护士)")
# 姓冯，冯建华: a surname told first, then the whole name.
_SURNAME_THEN_NAME = re.compile(rf"姓({_CJK})[，,\s]*(?:叫)?\s*(\1{_CJK}{{1,2}})")
# What follows a name in such a sentence (so 我是业主 / 我是张家港的 stay as written).
_AFTER_NAME = re.compile(
    r"[\s，,。.！!？?；;、:：)）（(]|$|电话|手机|住|家|在|想|要|反映|投诉|联系|，"
    r"|的(?:家属|家人|儿子|女儿|爱人|老伴|丈夫|妻子|妈妈|爸爸|孩子|邻居)"
)
_NOT_NAME_TAILS = ("先生", "女士", "师傅", "老师", "阿姨", "大爷", "大妈", "同志")
# After a third party's name, also what they did (民警孙晓峰说, 钱志强家, 马卫东大夫).
_AFTER_OTHERS_NAME = re.compile(
    _AFTER_NAME.pattern
    + r"|说|讲|的|和|跟|也|还|天天|总|老是|一直|就|他|她|大夫|医生|收|带|把|让|给|不|没|才|今年|已经|被"
)
# Words people introduce themselves with that begin like a surname (房, 车, 司, 程 …).
_NOT_NAMES = frozenset(
    "房东 房客 车主 司机 党员 华侨 游客 商户 商家 程序员 管理员 包工头 师傅 单身 单亲 方便 向导 "
    "安保 武警 江南 万一 史上 时候 和平 齐全 易燃 乔迁 庞大 关于 蓝领 白领 金融 钱包 高三 高中 高龄".split()
)


def mask_name(name: str) -> str:
    """林小红 → 林**, Alice Smith → A****"""
    compact = re.sub(r"\s+", "", name)
    return compact[:1] + "*" * max(len(compact) - 1, 1)


def _split_name(name: str) -> tuple[str, str] | None:
    """(family name, given name) of a Chinese name without a separator."""
    for surname in COMPOUND_SURNAMES:
        if name.startswith(surname) and len(name) > len(surname):
            return surname, name[len(surname) :]
    if len(name) >= 2:
        return name[:1], name[1:]
    return None


def name_forms(name: str) -> list[str]:
    """Every order in which the name's parts can be written (without separators)."""
    parts = [p for p in re.split(r"[\s,，·•・.]+", name.strip()) if p]
    if not parts:
        return []
    forms: list[list[str]] = []
    if len(parts) == 1:
        forms.append(parts)
        split = _split_name(parts[0]) if re.fullmatch(rf"{_CJK}+", parts[0]) else None
        if split:
            forms.append([split[1], split[0]])  # 小红林 (Western order)
    else:
        forms.append(parts)
        forms.append(list(reversed(parts)))
    return ["\u0000".join(f) for f in forms]


@lru_cache(maxsize=4096)
def _name_patterns(name: str) -> list[re.Pattern[str]]:
    patterns = []
    for form in sorted(name_forms(name), key=len, reverse=True):
        parts = form.split("\u0000")
        pieces = []
        for part in parts:
            # between the characters of a CJK part: optional spaces; Latin parts: as words
            pieces.append(
                r"\s*".join(re.escape(c) for c in part) if re.search(_CJK, part) else re.escape(part)
            )
        joiner = r"[\s,，·•・.]*" if all(re.search(_CJK, p) for p in parts) else r"[\s,，·•・.]+"
        body = joiner.join(pieces)
        latin = not re.search(_CJK, form)
        patterns.append(re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])" if latin else body, re.I))
    # The given name alone (小红), when it is two characters or more.
    parts = [p for p in re.split(r"[\s,，·•・.]+", name.strip()) if p]
    given: str | None = None
    if len(parts) == 1 and re.fullmatch(rf"{_CJK}+", parts[0]):
        split = _split_name(parts[0])
        given = split[1] if split else None
    elif len(parts) == 2 and all(re.fullmatch(rf"{_CJK}+", p) for p in parts):
        given = max(parts, key=len) if len(parts[0]) != len(parts[1]) else None
    if given and len(given) >= 2:
        patterns.append(re.compile(r"\s*".join(re.escape(c) for c in given)))
    return patterns


# --- addresses -------------------------------------------------------------------------

_STREET_END = re.compile(r"(?:大道|大街|路|街|巷|弄|胡同|道)(?=[\s\d一二三四五六七八九十０-９]|$)")
_DISTRICT_END = re.compile(r"(?:区|县|镇|乡|市)")
_DETAIL_BOUNDARY = re.compile(r"[号幢栋座单元室楼层弄巷,，\s]")


def street_level(address: str) -> str:
    """The address down to its street (文三路), never the house, building or flat."""
    address = address.strip()
    ends = [m.end() for m in _STREET_END.finditer(address)] or [
        m.end() for m in _DISTRICT_END.finditer(address)
    ]
    return address[: ends[-1]] if ends else ""


@lru_cache(maxsize=4096)
def _address_patterns(address: str) -> list[tuple[re.Pattern[str], str]]:
    address = address.strip()
    if len(address) < 4:
        return []
    street = street_level(address)
    detail = address[len(street) :].strip()
    out = []

    def loose(s: str) -> str:
        return r"\s*".join(re.escape(c) for c in s if not c.isspace())

    out.append((re.compile(loose(address)), (street + "**") if street else "***"))
    # The house, building and flat written without the street: 华星时代广场A座1201室, A座1201室.
    starts = [0] + [m.end() for m in _DETAIL_BOUNDARY.finditer(detail)]
    for start in sorted(set(starts)):
        tail = detail[start:].strip()
        if len(re.sub(r"\s", "", tail)) >= 4 and re.search(r"\d", tail):
            out.append((re.compile(loose(tail)), "***"))
    return out


# --- the function ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """What is known of the person a text is about: their name(s) and address(es)."""

    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def of(cls, requester: dict[str, Any] | None) -> Person:
        if not requester:
            return cls()
        names = tuple(str(requester[k]) for k in ("name",) if requester.get(k))
        addresses = tuple(str(requester[k]) for k in ("address",) if requester.get(k))
        return cls(names=names, addresses=addresses)

    def __bool__(self) -> bool:
        return bool(self.names or self.addresses)


NOBODY = Person()


def _apply(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Replace non-overlapping spans of text (the first of overlapping ones wins)."""
    out = []
    pos = 0
    for start, end, mask in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(mask)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_text(text: str, person: Person = NOBODY) -> str:
    """The text with every phone number, ID number, e-mail address, and the person's name
    and address masked, however they were written; the rest as written."""
    if not text:
        return text
    # 1. The person's own name and address (in the normalised text: full-width, spaces).
    if person:
        norm, origin = _normalised(text)
        spans: list[tuple[int, int, str]] = []
        for address in person.addresses:
            for pattern, mask in _address_patterns(_normalised(address)[0]):
                spans += [(origin[m.start()], origin[m.end() - 1] + 1, mask) for m in pattern.finditer(norm)]
        for name in person.names:
            name_n = _normalised(name)[0]
            for pattern in _name_patterns(name_n):
                spans += [
                    (origin[m.start()], origin[m.end() - 1] + 1, mask_name(m.group()))
                    for m in pattern.finditer(norm)
                    if m.group().strip()
                ]
        text = _apply(text, spans)
    # 2. Numbers and e-mail addresses, anyone's.
    norm, origin = _normalised(text)
    digits = _digits_view(norm)  # same length as norm: one character for one
    spans = _email_spans(norm, origin)
    spans += _account_spans(digits, origin)  # QQ 二三四五六七八九 is a number too
    spans += _number_spans(digits, origin)
    spans += _identifier_spans(norm, origin)
    text = _apply(text, spans)
    # 3. A name introduced as one (我叫林小红), anyone's.
    return _mask_introduced_names(text)


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "common_words.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def _a_common_word(word: str) -> bool:
    """A word used often that is not a person's name (高烧, 车间, 项目, 安排): after 孩子 or
    主任 such a word is what happened or where, not who. From jieba's dictionary, built once
    (scripts/build_common_words.py), so no service loads jieba to mask a text."""
    return word in _common_words()


def _surname_length(candidate: str) -> int:
    if candidate[:2] in COMPOUND_SURNAMES:
        return 2
    return 1 if candidate[0] in COMMON_SURNAMES else 0


def _mask_names_before_titles(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        found = m.group(1)
        for candidate in (found, found[-2:]) if len(found) == 3 else (found,):
            start = _surname_length(candidate)
            if (
                start
                and len(candidate) > start
                and candidate not in _NOT_NAMES
                and not _a_common_word(candidate)
            ):
                return found[: len(found) - len(candidate)] + mask_name(candidate)
        return found

    return _NAME_BEFORE_TITLE.sub(replace, text)


def _mask_introduced_names(text: str) -> str:
    text = _mask_names_after(_INTRO, _AFTER_NAME, text, vet=False)
    text = _mask_names_after(_ROLE_INTRO, _AFTER_OTHERS_NAME, text, vet=True)
    text = _mask_names_before_titles(text)
    text = _SURNAME_THEN_NAME.sub(lambda m: m.group()[: m.start(2) - m.start()] + mask_name(m.group(2)), text)
    return _LATIN_INTRO.sub(lambda m: m.group()[: m.start(1) - m.start()] + m.group(1)[0] + "***", text)


def _mask_names_after(intro: re.Pattern[str], after: re.Pattern[str], text: str, vet: bool) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        compact = re.sub(r"\s", "", name)
        start = 2 if compact[:2] in COMPOUND_SURNAMES else 1
        if compact[:start] not in COMPOUND_SURNAMES and compact[0] not in COMMON_SURNAMES:
            return m.group()
        # The name is the surname and one or two characters; what follows must end it.
        for length in (start + 2, start + 1):
            if len(compact) < length:
                continue
            candidate = compact[:length]
            rest = compact[length:]
            if candidate in _NOT_NAMES or compact[: length + 1] in _NOT_NAMES:
                return m.group()
            after_surname = candidate[start:] + rest
            if any(candidate.endswith(t) or after_surname.startswith(t) for t in _NOT_NAME_TAILS):
                return m.group()
            tail = text[m.start(1) + _offset(name, length) :]
            if after.match(tail) or not rest:
                if vet and _a_common_word(candidate):
                    return m.group()
                cut = m.start(1) - m.start() + _offset(name, length)
                return m.group()[: m.start(1) - m.start()] + mask_name(candidate) + m.group()[cut:]
        return m.group()

    # Searched from each place on, so an intro that names no one (中介公司的…) does not hide
    # the one inside it (…业务员叫邱磊).
    out, pos = [], 0
    while (m := intro.search(text, pos)) is not None:
        replaced = replace(m)
        if replaced == m.group():
            out.append(text[pos : m.start() + 1])
            pos = m.start() + 1
            continue
        out.append(text[pos : m.start()] + replaced)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


# A name in Latin letters introduced as one ("我叫 Anna Müller", "I'm Kevin Wang").
_LATIN_INTRO = re.compile(
    r"(?:我叫|我是|本人|联系人\s*[:：]?|(?i:my name is|i am|i'm))\s*"
    r"([A-Z][a-zà-ÿ]+(?:[ -][A-Z][a-zà-ÿ]+){1,2})"
)


def _offset(name: str, count: int) -> int:
    """The index in `name` just after its first `count` non-space characters."""
    seen = 0
    for i, ch in enumerate(name):
        if not ch.isspace():
            seen += 1
            if seen == count:
                return i + 1
    return len(name)


def mask_value(value: Any, person: Person = NOBODY) -> Any:
    """Every string inside a JSON-like value masked (notification params, …)."""
    if isinstance(value, str):
        return mask_text(value, person)
    if isinstance(value, dict):
        return {k: mask_value(v, person) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, person) for v in value]
    return value
