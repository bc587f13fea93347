"""The dispatch model, the safety net and the decision on small fixed data (no I/O)."""

from __future__ import annotations

import json

import pytest

from services.routing.domain.dispatch import (
    LEARNED_URGENCY,
    DispatchModel,
    Example,
    Matter,
    SafetyNet,
    TrainingParams,
    decide,
    history_example,
    matter_text,
    normalise,
    pinyin_index,
    read_pinyin,
    shipped_matters,
    threshold_for,
)
from shared.urgency import URGENCY_EXAMPLES_FILE

pytestmark = pytest.mark.unit

MATTERS = [
    Matter(
        "lamp",
        "路灯",
        "urban",
        category="repair",
        keywords=("路灯", "灯不亮"),
        examples=("路灯坏了", "晚上路灯不亮", "这条街路灯黑了"),
    ),
    Matter(
        "garbage",
        "垃圾",
        "urban",
        category="complaint",
        keywords=("垃圾", "垃圾桶"),
        examples=("垃圾没人收", "垃圾桶满了", "垃圾堆在路边"),
    ),
    Matter(
        "outage",
        "停水",
        "water",
        co=("housing",),
        category="repair",
        keywords=("停水", "没水"),
        examples=("家里停水了", "一天没水了", "水龙头不出水"),
    ),
    Matter(
        "gas",
        "燃气泄漏",
        "gas",
        category="help",
        urgent=True,
        keywords=("煤气味", "燃气泄漏"),
        examples=("楼道里有煤气味", "燃气泄漏了", "闻到燃气味道"),
    ),
]
QUICK = TrainingParams(calibrate=False)


@pytest.fixture(scope="module")
def model() -> DispatchModel:
    return DispatchModel.train(MATTERS, params=QUICK)


def test_predicts_matter_department_category_and_co_handlers(model: DispatchModel) -> None:
    p = model.predict("我们家从早上开始停水")
    assert (p.matter, p.department, p.category, p.co_departments) == (
        "outage",
        "water",
        "repair",
        ("housing",),
    )
    lamp = model.predict("小区门口的路灯晚上不亮")
    assert (lamp.matter, lamp.department) == ("lamp", "urban")


def test_confidence_is_the_departments_share_and_alternatives_are_three_departments(
    model: DispatchModel,
) -> None:
    p = model.predict("路边垃圾桶满了")
    assert p.alternatives[0].department == "urban"
    assert len(p.alternatives) == 3 and len({a.department for a in p.alternatives}) == 3
    assert p.confidence == p.alternatives[0].confidence
    # Both urban matters count for urban: its share is above the best matter's own.
    assert p.confidence >= p.matter_confidence
    assert sum(a.confidence for a in p.alternatives) <= 1.0001


def test_excluded_departments_are_never_suggested(model: DispatchModel) -> None:
    p = model.predict("家里停水了", excluded=frozenset({"water"}))
    assert p.department != "water" and "water" not in [a.department for a in p.alternatives]
    assert [a.department for a in p.alternatives] == ["urban", "gas"]  # only two are left


def test_the_fast_path_equals_scikit_learns_probabilities(model: DispatchModel) -> None:
    for text in ("路灯坏了", "燃气泄漏了怎么办", "完全无关的一句话 xyz"):
        fast = model.probabilities(text)
        slow = model.pipeline.predict_proba([normalise(text)])[0]
        assert abs(fast - slow).max() < 1e-9


def test_a_model_survives_storage(model: DispatchModel) -> None:
    again = DispatchModel.loads(model.dumps(), version=7)
    assert again.version == 7
    assert again.predict("一天没水了").matter == model.predict("一天没水了").matter


def test_history_teaches_what_the_catalogue_does_not(model: DispatchModel) -> None:
    text = "无人机在楼顶飞来飞去偷拍"
    assert model.predict(text).department != "police"
    history = [
        history_example(model, t, None, "police")
        for t in ("无人机在楼顶飞来飞去", "有人放无人机偷拍", "无人机天天在小区上空飞", "晚上无人机在窗外转")
    ]
    assert {h.label for h in history} == {"dept:police"}  # no matter of the police yet
    learned = DispatchModel.train(MATTERS, history, params=QUICK)
    assert learned.predict(text).department == "police"
    assert learned.predict(text).matter is None


def test_an_agents_formulas_teach_nothing_about_the_matter(model: DispatchModel) -> None:
    # The centre's history is written by agents: 来电人反映……要求尽快处理 on every line. A
    # history that happens to hold mostly garbage must not make the formula mean garbage.
    history = [
        Example(f"来电人反映：{t}，要求尽快处理。", "garbage")
        for t in ("某小区垃圾三天没人收", "XX路垃圾桶满了", "垃圾堆在楼下", "垃圾站臭气熏天", "垃圾乱扔")
    ]
    learned = DispatchModel.train(MATTERS, history, params=QUICK)
    answer = learned.predict("来电人反映：某小区一天没水了，要求尽快处理。")
    assert answer.department == "water" and answer.matter == "outage", answer
    assert matter_text("来电人反映：XX路路灯不亮，要求尽快处理。").replace(" ", "") == ":路路灯不亮,。"
    assert matter_text("停电半天了，什么时候来电") == "停电半天了,什么时候来电"  # power coming back


def test_a_department_label_becomes_its_most_similar_matter(model: DispatchModel) -> None:
    assert history_example(model, "垃圾桶满了三天没人管", None, "urban").label == "garbage"
    assert history_example(model, "路灯坏了", "lamp", "urban").label == "lamp"


def test_calibration_gives_a_threshold_between_zero_and_one() -> None:
    m = DispatchModel.train(MATTERS, params=TrainingParams(calibration_folds=3))
    assert m.threshold is not None and 0 < m.threshold <= 1
    assert threshold_for(m, None) == m.threshold
    assert threshold_for(m, 0.9) == 0.9


SAFETY = SafetyNet.default()


@pytest.mark.parametrize(
    "text",
    [
        "对面楼着火了",
        "楼道里冒烟了，一股焦味",
        "燃气泄漏 有人被困",
        "家里一股煤气味",
        "电梯困人",
        "有人被困在电梯里",
        "路面塌陷了",
        "房子要塌了",
        "自来水管爆了",
        "水管崩了到处是水",
        "有人打架斗殴",
        "有人持刀砍人",
        "我老公又打我",
        "有人要跳楼",
        "我家老人走丢了",
        "小孩被锁在车里",
        "有人触电了",
        "电线掉地上了还在冒火花",
        "独居老人好几天没开门了，电话联系不上",
        "有个小孩一个人在河边玩 大人不在 很危险",
        "老太太一个人坐在马路中间，太危险了",
        "我爸倒在地上已经没气了",
        # What callers see, smell and hear, without the textbook word:
        "屋里一股臭鸡蛋味 头晕恶心",
        "燃汽管子漏了 味儿可大了",  # misspelt
        "煤气报警器一直在叫 我们跑到楼下了",
        "仓库那边的铁皮棚子眼看要掉下来了 下面全是人",
        "楼上阳台的水泥块砸下来了 差点砸到楼下小孩",
        "暖气片崩了 开水往外喷 孩子在屋里",
        "地下室进水了 水已经到膝盖了 我妈还在下面",
        "立交桥底下的车都泡在水里了 有人爬到车顶上",
        "外面有人拿砖头砸我家门 说要弄死我",
        "烧烤摊有人抡凳子 地上都是血",
        "我们家老爷子糊涂了 一早出门遛弯 到现在也找不到",
        "做饭的时候手被开水烫伤了 起了一大片泡 疼得直哭",
    ],
)
def test_the_safety_net_catches_emergencies_however_phrased(text: str) -> None:
    assert SAFETY.check(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "楼道里堆满杂物，有火灾隐患",
        "燃气灶打不着火",
        "暖气不热",
        "吃火锅的时候发现菜不新鲜",
        "轮胎漏气了在哪修",
        "路灯坏了",
        "请问公交几点收车",
        "孩子学校乱收补课费",
        "燃气公司换完表就没气了，三天了没人来",  # no gas, not "stopped breathing"
        "楼道里电动车充电，很怕着火",  # a hazard, not a fire
        "安全通道堆满了货 要是着火了人都跑不出去",  # a hazard: what if
        "前年仓库着过一次火 现在要开火灾事故认定 找哪个部门",  # the past
        "小区门口水管漏了快一个月了 一直冒水 也没人修",  # long-standing, nobody at risk
        "燃气费怎么在手机上交",
        "噪音吵得我头都要炸了 气死我了",
    ],
)
def test_the_safety_net_leaves_ordinary_requests_alone(text: str) -> None:
    assert SAFETY.check(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        # a worry about the person is why the family rings, not a hedge on the danger
        "我爸有老年痴呆，早上出门买菜到现在都没回来，手机也没带，我真怕他出事",
        # what happened before, and now again
        "上个月楼下就着过一次火，现在又冒烟了，一股焦味",
        "电梯经常坏，今天又困人了，我妈在里面出不来",
        "独居的老母亲三天打电话都不接，敲门也没反应",
        "学校那个校车司机一身酒气，孩子们都上车了",
        "燃气软管那里闻着有股异味，用肥皂水一抹直冒泡",
    ],
)
def test_a_sentences_own_words_decide_whether_its_danger_is_now(text: str) -> None:
    assert SAFETY.check(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "上个月我在小区里被人打了，派出所做了笔录，想问问处理结果",
        "上次燃气泄漏的事情已经处理好了，就是橱柜拆了没人给恢复",
        "上个礼拜我被关在电梯里一个钟头，物业到现在一句道歉都没有",
        "电梯门关不严，经常停在半层，要求维修",
        "我被电信诈骗了，钱转到了所谓的安全账户",
        "今天中午做饭灶上的火特别小，蓝火苗就一点点",
        "有辆车堵在我家车库门口一早上了，挪车电话也没留，我出不去",
        "小区里有没有防走失的手环可以领",
    ],
)
def test_the_past_the_chronic_and_lookalike_words_are_not_an_emergency(text: str) -> None:
    assert SAFETY.check(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        "孩子把一整瓶药都吃了 现在叫不醒",
        "隔壁屋里一直有焦糊味 敲门没人应 里面好像有老人",
        "我爸说胸口疼得厉害 满头大汗 脸都白了",
        "工厂那边飘过来一股刺鼻的黄烟 好多人在咳嗽 有人晕了",
        "那个人站在桥栏杆外面 一直往下看",
    ],
)
def test_the_learned_model_catches_dangers_no_rule_names(text: str) -> None:
    assert SafetyNet.rules_only().check(text) is None  # no rule has these words
    assert SAFETY.check(text) == LEARNED_URGENCY, text


@pytest.mark.parametrize(
    "text",
    [
        "上周楼里着过一次小火 现在没事了 就问问谁来检查",
        "电视里说有个小区燃气爆炸了 我们这安全吗",
        "我们单位消防演练 需要报备吗",
        "气死我了 快递又丢了",
    ],
)
def test_near_misses_stay_ordinary(text: str) -> None:
    assert SAFETY.check(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        # over, as the sentence itself says
        "昨天晚上被困在电梯里一个多小时才出来，物业到现在一句道歉都没有",
        "昨天报的老人走失已经找到了 在他闺女家呢 麻烦把单子销了",
        # a follow-up of a case that was handled
        "昨天晚上楼下有人打架 我报了警 想问一下派出所后来是怎么处理的",
        # a hypothetical
        "万一燃气漏了咋办，想问下报警器去哪里装",
        # a manhole cover that rattles is a noise, not a hole
        "门口那个井盖一压就咣当响，吵得睡不着",
    ],
)
def test_a_danger_that_is_over_followed_up_or_only_imagined_is_not_urgent(text: str) -> None:
    assert SAFETY.check(text) is None, text


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("救出来两个了，还有一个老人困在里面", "urgent.trapped"),  # over for some, not for all
        ("井盖被人偷了，留了个大窟窿，晚上根本看不见", "urgent.open_manhole"),
        ("学校门口的雨水井口敞着，没盖", "urgent.open_manhole"),
        ("高速出口一辆拉化工原料的罐车侧翻了，有液体流出来", "urgent.chemical"),
        ("车间里液氨管道泄漏了，好几个工人头晕", "urgent.chemical"),
        ("那间屋顶上冒着烟，越来越大", "urgent.fire"),
        ("楼道里一股烂鸡蛋味，越来越冲", "urgent.gas"),
        ("她刚发消息说不想活了，电话也不接", "urgent.person_in_danger"),
    ],
)
def test_open_manholes_chemical_spills_and_people_still_inside_are_urgent(text: str, rule: str) -> None:
    assert SAFETY.check(text) == rule, text


def test_a_fired_rule_makes_its_matters_likelier_by_the_lean_factor(model: DispatchModel) -> None:
    from services.routing.domain.dispatch import LEAN_FACTOR

    text = "垃圾站那边一直呲呲响"
    before = {a.department: a.confidence for a in model.predict(text).alternatives}
    after = {a.department: a.confidence for a in model.predict(text, lean=frozenset({"gas"})).alternatives}
    p = before["gas"]  # the only matter of its department: the department's probability is its own
    assert after["gas"] == pytest.approx(LEAN_FACTOR * p / (LEAN_FACTOR * p + 1 - p), abs=1e-3)
    hissing = SafetyNet([{"id": "urgent.gas", "matters": ["gas"], "patterns": ["呲呲"]}])
    d = decide(model, hissing, text, urgent_already=False, threshold=0.0)
    assert d.urgent_rule == "urgent.gas" and d.prediction == model.predict(text, lean=frozenset({"gas"}))
    assert hissing.matters_of("urgent.gas") == {"gas"} and hissing.matters_of(None) == frozenset()


def test_every_safety_rule_names_matters_of_the_shipped_catalogue() -> None:
    codes = {m.code for m in shipped_matters()}
    for rule in SAFETY.rules:
        assert rule.matters and set(rule.matters) <= codes, rule.id


def test_the_urgency_fast_path_equals_scikit_learns_probability() -> None:
    learned = SAFETY.learned
    assert learned is not None
    for text in ["孩子把药都吃了 叫不醒", "路灯坏了", "zzzz", "气死我了"]:
        n = normalise(text)
        assert learned.probability(n) == pytest.approx(learned.pipeline.predict_proba([n])[0][1], abs=1e-9)


def test_common_misspellings_are_read_as_the_word_meant() -> None:
    assert normalise("燃汽费咋交") == "燃气费咋交"
    assert normalise("电悌又坏了 物叶不管") == "电梯又坏了 物业不管"
    assert normalise("暖气片") == "暖气片"  # a word stays as it is


def test_a_text_typed_in_pinyin_reads_the_catalogue_terms_it_spells() -> None:
    index = pinyin_index(["工资", "拖欠工资", "路灯", "停水"])
    assert index["gongzi"] == "工资" and "tingshui" in index
    read = read_pinyin("gongzi tuoqian 3 ge yue le, laoban pao le", index)
    assert "工资" in read.split() and "路灯" not in read
    assert read_pinyin("这条街的路灯不亮 ludeng", index) == "这条街的路灯不亮 ludeng"  # mostly characters
    assert read_pinyin("wo jia ting shui le", index).endswith("停水")  # one syllable at a time


def test_the_model_understands_pinyin_through_the_catalogue(model: DispatchModel) -> None:
    assert model.predict("jia li ting shui le, mei shui").department == "water"
    assert model.predict("lou dao li you mei qi wei").matter == "gas"


def test_uncertain_requests_go_to_the_queue_but_urgent_ones_never_wait(model: DispatchModel) -> None:
    ordinary = decide(model, SAFETY, "路灯坏了", urgent_already=False, threshold=0.999)
    assert ordinary.to_queue and not ordinary.review and not ordinary.urgent
    urgent = decide(model, SAFETY, "楼道里有煤气味", urgent_already=False, threshold=0.999)
    assert urgent.urgent and urgent.urgent_rule == "urgent.gas"
    assert not urgent.to_queue and urgent.review
    confident = decide(model, SAFETY, "路灯坏了", urgent_already=False, threshold=0.0)
    assert not confident.to_queue and not confident.review
    assert decide(None, SAFETY, "路灯坏了", urgent_already=False, threshold=0.5).prediction is None


def test_an_urgent_matter_makes_the_request_urgent_without_a_keyword(model: DispatchModel) -> None:
    d = decide(
        model, SAFETY, "闻到燃气味道", urgent_already=False, threshold=0.0, urgent_matter_threshold=0.0
    )
    assert d.urgent


def test_the_shipped_catalogue_covers_a_city() -> None:
    matters = shipped_matters()
    assert len(matters) >= 60
    assert len({m.code for m in matters}) == len(matters)
    leads = {m.lead for m in matters}
    assert leads >= {"water", "power", "gas", "heating", "urban", "environment", "housing", "market"}
    assert leads >= {"transport", "service_center", "public_security", "emergency"}
    assert all(len(m.examples) >= 4 and m.keywords for m in matters)
    categories = {"consultation", "suggestion", "complaint", "help", "repair", "business"}
    assert all(m.category in categories for m in matters)


def test_the_urgency_examples_hold_the_catalogues_examples_as_shipped() -> None:
    """The urgency model learns from the dispatch catalogue's examples too (shared/data keeps a
    copy, as shared code does not read a service's files): the copy is the catalogue's."""
    lines = URGENCY_EXAMPLES_FILE.read_text(encoding="utf-8").splitlines()
    copied = sorted(
        (e["text"], e["urgent"])
        for e in map(json.loads, filter(str.strip, lines))
        if e.get("source") == "catalogue"
    )
    assert copied == sorted((text, m.urgent) for m in shipped_matters() for text in m.examples)


def test_the_same_catalogue_trains_the_same_model() -> None:
    # A model version can be trained again from its catalogue and history and audited.
    first, second = DispatchModel.train(MATTERS, params=QUICK), DispatchModel.train(MATTERS, params=QUICK)
    for text in ["路灯坏了", "家里停水了", "楼道里有煤气味", "垃圾好几天没人收 路灯也不亮"]:
        assert first.probabilities(text).tolist() == second.probabilities(text).tolist()
