"""The staff console in headless Chromium against the running platform, one workflow per
role, asserting what the person at the screen reads: Chinese labels, states and department
names, times in Asia/Shanghai as 2026年12月2日 10:05, countdowns.

- an agent registers a repeat caller's request with missing materials, and answers another
  on the spot citing a knowledge-base article;
- a lead department signs, contacts, pauses and resumes, asks for an extension, its head
  approves, the co-handling department gives its opinion, the lead resolves with the reply
  and gives feedback; the person rates through a channel and the case page shows it;
- a request returned twice reaches the coordinating office, whose dispatcher dispatches it
  with a lead and a co-handler;
- a supervisor issues a supervision order, the department answers it, the supervisor sees
  the answer and the KPI figures move; the trends page draws its charts with ECharts;
- an administrator sees departments, SLA policies, the calendar and creates a channel key.
- every clock counts down in working time as routing counts it (剩余 1 个工作日 3 小时, 已超时 2 小时),
  coloured as it runs out, with its due time in Asia/Shanghai; in calendar time, said so
  (剩余 1 天 3 小时（自然时间）), when routing cannot say; matter suggestions appear under the
  content as an agent types and fill the form; the first responder chases a request and reads
  what happened; the admin page warns while next year's calendar is provisional, and stops
  once the notice is entered.

With SCREENSHOTS=1 (`make screenshots`) each page is saved to docs/screenshots/."""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.routing.domain.calendar import BusinessCalendar, chinese_calendar_overrides, year_seed
from services.routing.domain.time_left import time_left
from shared.auth import issue_staff_token
from tests.e2e.conftest import Platform

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOTLINE = {"X-API-Key": "dev-hotline-key"}
HUMAN_TIME = re.compile(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d")

AGENT = issue_staff_token("agent-007", "agent")
ENV_HANDLER = issue_staff_token("handler-env-01", "handler", "environment")
ENV_HEAD = issue_staff_token("head-environment", "dept_head", "environment")
URBAN_HANDLER = issue_staff_token("handler-urban-01", "handler", "urban")
DISPATCHER = issue_staff_token("dispatcher-01", "handler", "coordination")
SUPERVISOR = issue_staff_token("supervisor-01", "supervisor")
ADMIN = issue_staff_token("admin-01", "admin")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 45) -> Any:
    # Lists re-render on every poll: an element found a moment ago may be gone.
    ignored = (StaleElementReferenceException, NoSuchElementException)
    return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=ignored).until(condition)


def text_of(driver: WebDriver, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def shows(css: str, *words: str) -> Callable[[WebDriver], bool]:
    return lambda d: all(w in text_of(d, css) for w in words)


def open_as(driver: WebDriver, base: str, token: str, page: str, lang: str = "zh") -> None:
    """Signed in with `token` (as the sign-in form stores it), on #/page, freshly loaded."""
    driver.get(f"{base}/console/")
    driver.execute_script(
        "localStorage.clear(); localStorage.setItem('console.token', arguments[0]);"
        "localStorage.setItem('console.lang', arguments[1]);",
        token,
        lang,
    )
    driver.get(f"{base}/console/#/{page}")
    driver.refresh()
    wait_for(driver, lambda d: d.find_element(By.ID, "who").text != "")


def toast_says(*words: str) -> Callable[[WebDriver], bool]:
    return shows("#toast", *words)


def no_errors(driver: WebDriver) -> None:
    """No script error and no content-security-policy violation in the browser's log."""
    bad = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]
    assert not bad, bad


def shot(driver: WebDriver, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.6)  # let the last list render
        driver.save_screenshot(str(SHOTS / f"{name}.png"))


def action(driver: WebDriver, name: str) -> WebElement:
    """Open the case page's action form `name` (a <details>) and return its form."""

    def opened(d: WebDriver) -> WebElement:
        # The page may re-render (polling) between finding and clicking: wait_for retries
        # a stale element from the start.
        details = d.find_element(By.CSS_SELECTOR, f'details[data-action="{name}"]')
        if not details.get_attribute("open"):
            details.find_element(By.TAG_NAME, "summary").click()
        form = details.find_element(By.TAG_NAME, "form")
        form.is_displayed()  # touches it: stale now rather than in the caller
        return form

    return cast(WebElement, wait_for(driver, opened))


def submit_request(http: httpx.Client, base: str, **body: Any) -> str:
    answer = http.post(f"{base}/v1/requests", headers=HOTLINE, json={"channel": "hotline", **body})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def until(
    probe: Callable[[], httpx.Response], ok: Callable[[httpx.Response], bool], timeout: float = 60
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = probe()
        if ok(response):
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {response.status_code} {response.text[:300]}")
        time.sleep(0.3)


def agents_routed_request(
    http: httpx.Client, base: str, content: str, topic: str, phone: str
) -> tuple[str, Any]:
    """A request a hotline agent registered (the agent is its first responder), once routing
    has placed it: its id and intake's view of it."""
    made = http.post(
        f"{base}/v1/requests",
        headers=bearer(AGENT),
        json={"channel": "hotline", "content": content, "topic": topic, "requester": {"phone": phone}},
    )
    assert made.status_code == 201, made.text
    rid = str(made.json()["id"])
    routed = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.is_success and r.json()["state"] == "routed" and r.json()["lead_department"],
    )
    return rid, routed


def department_names(http: httpx.Client, services: Platform) -> dict[str, str]:
    """Department code → Chinese name, as routing has them."""
    items = http.get(f"{services.urls['routing']}/v1/departments", headers=bearer(AGENT)).json()["items"]
    return {d["code"]: re.split(r"\s*[(（]", d["name"])[0] for d in items}


def case_timeline_has(base: str, rid: str, *labels: str) -> Callable[[WebDriver], bool]:
    """The case page's timeline shows every label (the KPI service folds events shortly
    after they happen; the page polls)."""

    def probe(d: WebDriver) -> bool:
        return all(label in text_of(d, "#timeline") for label in labels)

    return probe


@pytest.fixture(scope="module")
def base(services: Platform) -> str:
    if os.environ.get("SCREENSHOTS"):  # fuller pages for the pictures: a minute of a hotline's day
        from bench.loadgen import LoadGenerator

        asyncio.run(LoadGenerator(services.urls["intake"], seed=3).run(4, 15))
    return services.urls["intake"]


def test_the_console_is_served_with_a_content_security_policy(base: str, http: httpx.Client) -> None:
    page = http.get(f"{base}/console/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    config = http.get(f"{base}/console/config.json")
    assert config.headers["content-security-policy"] == csp
    assert set(config.json()["urls"]) == {"intake", "routing", "handling", "followup", "kpi"}
    assert config.json()["timezone"] == "Asia/Shanghai"
    # ECharts comes from its npm package at make time; the console has no build output in git.
    assert http.get(f"{base}/console/vendor/echarts.esm.min.mjs").status_code == 200


def test_signing_in_with_the_form_and_switching_to_english(base: str, browser: WebDriver) -> None:
    browser.get(f"{base}/console/")
    browser.execute_script("localStorage.clear(); localStorage.setItem('console.lang', 'zh');")
    browser.refresh()
    box = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#signin textarea"))
    assert "员工令牌" in text_of(browser, "#signin")
    box.send_keys(URBAN_HANDLER)
    browser.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait_for(browser, shows("#who", "handler-urban-01", "承办人", "城市管理局"))
    assert "部门待办" in text_of(browser, "#nav")
    browser.find_element(By.ID, "lang").click()
    wait_for(browser, shows("#nav", "Queue"))
    assert "urban management" in text_of(browser, "#who") and "Sign out" in text_of(browser, "#shell")
    browser.find_element(By.ID, "lang").click()
    wait_for(browser, shows("#nav", "部门待办"))


def test_an_agent_registers_a_repeat_callers_request_and_answers_another_on_the_spot(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    phone = "13800138123"
    earlier = submit_request(
        http,
        base,
        content="小区门口路灯坏了三天了，晚上黑乎乎的",
        requester={"name": "陈先生", "phone": phone},
    )
    open_as(browser, base, AGENT, "agent")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    assert browser.switch_to.active_element.get_attribute("id") == "phone"  # keyboard first
    browser.switch_to.active_element.send_keys(phone)
    wait_for(browser, shows("#caller", "重复来电", "历史诉求 1 件", "其中未办结 1 件", earlier[:8]))
    assert "路灯坏了" in text_of(browser, "#caller")
    form.find_element(By.NAME, "name").send_keys("陈先生")
    form.find_element(By.NAME, "content").send_keys("我想办居住证，身份证带了，租房合同房东还没给我")
    Select(form.find_element(By.NAME, "business_type")).select_by_value("residence_permit")
    wait_for(browser, shows("#materials", "身份证", "租赁合同或房产证明", "近期免冠照片"))
    form.find_element(By.CSS_SELECTOR, 'input.material[value="id_card"]').click()
    wait_for(browser, shows("#materials-status", "缺少材料：租赁合同或房产证明、近期免冠照片"))
    shot(browser, "01-agent-register")
    form.find_element(By.NAME, "content").send_keys(Keys.CONTROL, Keys.ENTER)  # submit from the keyboard
    wait_for(browser, shows("#result", "已受理", "待补充材料", "租赁合同或房产证明"))
    made = browser.find_element(By.CSS_SELECTOR, "#result .made-id").text
    assert "业务办理" in text_of(browser, "#result")
    assert browser.find_element(By.ID, "phone").get_attribute("value") == ""  # ready for the next call

    # The same caller again about the street lamp: a duplicate, merged in one step.
    form = browser.find_element(By.ID, "new-request")
    form.find_element(By.NAME, "phone").send_keys(phone)
    wait_for(browser, shows("#caller", "历史诉求 2 件"))
    form.find_element(By.NAME, "content").send_keys("还是那个路灯，小区门口的，到现在也没人来修")
    form.find_element(By.NAME, "content").send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(browser, shows("#duplicates", "疑似重复", earlier[:8], "同一来电人、同一件事"))
    # The caller's other open request (the residence permit) is about something else.
    assert made[:8] not in text_of(browser, "#duplicates")
    browser.find_element(By.CSS_SELECTOR, f'#duplicates button.merge[data-into="{earlier}"]').click()
    wait_for(browser, shows("#merged", f"已合并到 {earlier[:8]}"))

    # The next caller asks what the knowledge base answers: the agent answers at once.
    form = browser.find_element(By.ID, "new-request")
    form.find_element(By.NAME, "phone").send_keys("13912340000")
    form.find_element(By.NAME, "content").send_keys("社保卡丢了咋补办啊，急用")
    wait_for(browser, shows("#kb", "社保卡丢了怎么补办？", "12333"))
    shot(browser, "02-agent-knowledge")
    browser.find_element(By.CSS_SELECTOR, '#kb button.answer-spot[data-article="kb-social-card"]').click()
    wait_for(browser, shows("#result", "已当场答复，引用知识条目 kb-social-card"))
    spot = browser.find_element(By.CSS_SELECTOR, "#result .made-id").text

    # My requests as first responder: both, with their states in Chinese and human times.
    browser.get(f"{base}/console/#/mine")
    wait_for(browser, lambda d: made[:8] in text_of(d, "#mine") and spot[:8] in text_of(d, "#mine"))
    wait_for(browser, shows("#mine", "已合并"))  # the duplicate, merged into the earlier one
    mine = text_of(browser, "#mine")
    # Answered on the spot; followup gives its feedback at once, so it may already read 已反馈.
    [spot_row] = [line for line in mine.splitlines() if line.startswith(spot[:8])]
    assert ("当场答复" in spot_row or "已反馈" in spot_row) and HUMAN_TIME.search(mine), mine
    assert "第 1 页" in mine
    assert phone not in browser.page_source  # masked everywhere staff look
    shot(browser, "03-agent-mine")
    no_errors(browser)


def test_a_department_handles_a_co_handled_case_to_the_persons_rating(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = submit_request(
        http,
        base,
        content="晚上十点多了楼下广场舞音响还开得老大，孩子根本睡不着，<b>天天这样</b>",
        topic="噪音",
        requester={"name": "刘女士", "phone": "13700137000"},
    )
    until(
        lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer(ENV_HANDLER)),
        lambda r: r.is_success,
    )

    # The lead department's queue: the new case with the time left on its clocks.
    open_as(browser, base, ENV_HANDLER, "queue")
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#cases tr[data-id="{rid}"]'))
    assert "已派单" in row.text and "主办" in row.text and "剩" in row.text
    assert row.find_elements(By.CSS_SELECTOR, ".countdown.working.ok, .countdown.working.soon")
    assert "生态环境局" in text_of(browser, "h2")
    shot(browser, "04-department-queue")
    row.find_element(By.CSS_SELECTOR, "button.accept").click()
    wait_for(browser, toast_says("已完成：签收"))

    # The case page: masked content (as text, never markup), clocks, and the actions.
    browser.get(f"{base}/console/#/case/{rid}")
    wait_for(browser, shows("#case-state", "已签收"))
    assert "<b>天天这样</b>" in text_of(browser, "#case-content")  # escaped: shown, not obeyed
    assert not browser.find_elements(By.CSS_SELECTOR, "#case-content b")
    assert "生态环境局" in text_of(browser, "#case-lead")
    assert "办结" in text_of(browser, "#clocks") and "剩" in text_of(browser, "#clocks")
    form = action(browser, "contact")
    form.find_element(By.NAME, "summary").send_keys("已电话联系刘女士，约定今晚到现场查看")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：联系诉求人"))
    form = action(browser, "pause")
    form.find_element(By.NAME, "reason").send_keys("等待刘女士提供噪音录音和具体时段")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, shows("#facts", "暂停中"))
    wait_for(browser, shows("#clocks", "暂停计时（等待群众）"))  # stands still, no countdown
    browser.find_element(By.CSS_SELECTOR, "button.act-resume").click()
    wait_for(browser, toast_says("已完成：恢复计时"))
    form = action(browser, "extension")
    form.find_element(By.NAME, "reason").send_keys("需会同街道对广场舞团队协调，时间较长")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：申请延期"))
    wait_for(browser, case_timeline_has(base, rid, "签收", "联系诉求人", "暂停计时", "恢复计时", "申请延期"))

    # The head decides the extension from their list.
    open_as(browser, base, ENV_HEAD, "extensions")
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#extensions tr[data-id="{rid}"]'))
    assert "办结" in row.text and "需会同街道" in row.text and HUMAN_TIME.search(row.text)
    shot(browser, "05-head-extensions")
    row.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait_for(browser, toast_says("已审批：同意"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#extensions tr[data-id="{rid}"]'))

    # The co-handling department gives its opinion.
    open_as(browser, base, URBAN_HANDLER, f"case/{rid}")
    form = action(browser, "opinion")
    form.find_element(By.NAME, "opinion").send_keys("城管已对广场音响设备进行劝导，建议晚九点后停止")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：协办意见"))

    # The lead resolves with the reply the person will read, and gives feedback.
    open_as(browser, base, ENV_HANDLER, f"case/{rid}")
    form = action(browser, "resolve")
    form.find_element(By.NAME, "reply").send_keys("经协调，广场舞活动已调整为晚上九点前结束，音量已降低。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：办结答复"))
    form = action(browser, "feedback")
    form.find_element(By.NAME, "message").send_keys("您反映的噪音问题已处理，感谢监督。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：反馈诉求人"))

    # The person rates through the hotline's channel; the case page shows it.
    until(
        lambda: http.post(
            f"{u['followup']}/v1/requests/{rid}/rating",
            headers=HOTLINE,
            json={"rating": "satisfied", "score": 5},
        ),
        lambda r: r.is_success,
    )
    wait_for(
        browser,
        case_timeline_has(base, rid, "协办意见", "延期审批", "办结答复", "反馈诉求人", "满意度评价", "满意"),
        timeout=45,
    )
    timeline = text_of(browser, "#timeline")
    assert "经协调，广场舞活动已调整为晚上九点前结束" in timeline
    assert "城管已对广场音响设备进行劝导" in timeline and "城市管理局" in timeline
    assert HUMAN_TIME.search(timeline) and "request." not in timeline  # words, not event codes
    assert "13700137000" not in browser.page_source
    shot(browser, "06-case-page")
    no_errors(browser)


def test_the_coordinating_office_dispatches_a_twice_returned_request(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = submit_request(
        http,
        base,
        content="单元楼里的电梯老是卡在三楼，物业不管",
        topic="物业",
        requester={"phone": "13600136000"},
    )
    first = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.is_success and r.json()["state"] == "routed",
    )["lead_department"]
    # The lead returns it from the case page: not theirs.
    open_as(browser, base, issue_staff_token(f"handler-{first}", "handler", first), f"case/{rid}")
    form = action(browser, "return")
    form.find_element(By.NAME, "reason").send_keys("电梯安全归市场监管局特种设备科，非本单位职责")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：退单"))
    # The next department returns it too: the coordinating office takes it.
    second = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.json()["lead_department"] not in (None, first) and r.json()["state"] == "routed",
    )["lead_department"]
    if second != "coordination":
        handler = bearer(issue_staff_token(f"handler-{second}", "handler", second))
        # Intake may know of the re-route before handling has opened the second case.
        until(
            lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=handler),
            lambda r: r.is_success and r.json()["state"] == "routed",
        )
        back = http.post(
            f"{u['handling']}/v1/cases/{rid}/return", headers=handler, json={"reason": "也不是我们的"}
        )
        assert back.is_success, back.text
    until(
        lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer(DISPATCHER)),
        lambda r: r.is_success and r.json()["state"] == "routed",
    )

    open_as(browser, base, DISPATCHER, "dispatch")
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#waiting tr form[data-id="{rid}"]'))
    assert "电梯老是卡在三楼" in text_of(browser, "#waiting")
    shot(browser, "07-dispatch")
    Select(row.find_element(By.NAME, "lead_department")).select_by_visible_text("市场监管局")
    row.find_element(By.TAG_NAME, "summary").click()
    row.find_element(By.CSS_SELECTOR, 'input[value="housing"]').click()
    row.find_element(By.NAME, "reason").send_keys("电梯属特种设备，市场监管局主办，住建局督促物业")
    row.find_element(By.CSS_SELECTOR, "button.act").click()
    wait_for(browser, toast_says("已派单"))
    routed = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.json()["lead_department"] == "market",
    )
    assert routed["state"] == "routed"
    no_errors(browser)


def counted(driver: WebDriver, department: str, column: str) -> int:
    cells = driver.find_elements(By.CSS_SELECTOR, f'[data-count="{department}.{column}"]')
    return int(cells[0].text) if cells else 0


def ranking_rows(driver: WebDriver) -> list[tuple[str, str, str, float | None]]:
    """The ranking as the page reads, top to bottom: (名次, department code, its name, 得分)."""
    rows = []
    for tr in driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr"):
        cells = tr.find_elements(By.TAG_NAME, "td")
        code = cells[2].find_element(By.CSS_SELECTOR, "[data-score]").get_attribute("data-score") or ""
        score = cells[2].text.strip()
        shown = None if score == "–" else float(score)
        rows.append((cells[0].text.strip(), code, cells[1].text.strip(), shown))
    return rows


def in_ranking_order(rows: list[tuple[str, str, str, float | None]]) -> bool:
    """Best score first (equal scores share a rank, by code), the unscored last, unranked."""
    scored = [r for r in rows if r[3] is not None]
    if rows[: len(scored)] != scored or any(r[0] != "–" for r in rows[len(scored) :]):
        return False
    if [r[1] for r in scored] != [r[1] for r in sorted(scored, key=lambda r: (-(r[3] or 0), r[1]))]:
        return False
    ranks = [int(r[0]) for r in scored]
    higher = [sum(1 for other in scored if (other[3] or 0) > (r[3] or 0)) + 1 for r in scored]
    return ranks == higher


def test_a_supervisor_supervises_sees_the_answer_and_the_figures_move(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    open_as(browser, base, SUPERVISOR, "kpi")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#volumes table, #volumes p"))
    before = counted(browser, "water", "resolved")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ranking tbody tr"))
    ranked_before = ranking_rows(browser)
    assert in_ranking_order(ranked_before), ranked_before
    (water_before,) = [r for r in ranked_before if r[1] == "water"]

    rid = submit_request(
        http,
        base,
        content="家里自来水发黄有异味，烧开了也有味道",
        topic="供水",
        requester={"phone": "13500135000"},
    )
    water = bearer(issue_staff_token("handler-water-01", "handler", "water"))
    until(
        lambda: http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=water, json={}),
        lambda r: r.is_success,
    )

    # The supervisor issues a supervision order from the case page.
    open_as(browser, base, SUPERVISOR, f"case/{rid}")
    form = action(browser, "supervise")
    form.find_element(By.NAME, "instructions").send_keys("群众反映强烈，请于两个工作日内查明水质原因并答复")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("督办单已发出"))
    browser.get(f"{base}/console/#/board")
    wait_for(browser, shows("#orders", "群众反映强烈", "水务集团"))
    assert HUMAN_TIME.search(text_of(browser, "#orders")) or "剩" in text_of(browser, "#orders")

    # The department answers it from its queue page.
    open_as(browser, base, issue_staff_token("handler-water-01", "handler", "water"), "queue")
    order = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#orders form.answer-order"))
    assert "群众反映强烈" in text_of(browser, "#orders")
    order.find_element(By.NAME, "answer").send_keys("已取水样送检，管网冲洗完毕，明日回复检测结果")
    order.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, toast_says("已完成：答复"))
    resolved = http.post(
        f"{u['handling']}/v1/cases/{rid}/resolve",
        headers=water,
        json={"outcome": "resolved", "reply": "水质检测合格，异味系管网老化，已完成冲洗。"},
    )
    assert resolved.is_success, resolved.text

    open_as(browser, base, SUPERVISOR, "board")
    wait_for(browser, shows("#orders", "已取水样送检"))
    shot(browser, "08-supervisor-board")

    def moved(d: WebDriver) -> bool:
        d.refresh()
        wait_for(d, lambda d2: d2.find_elements(By.CSS_SELECTOR, "#volumes table"))
        return counted(d, "water", "resolved") == before + 1

    browser.get(f"{base}/console/#/kpi")
    wait_for(browser, moved, timeout=45)
    ranking = text_of(browser, "#ranking")
    assert "水务集团" in ranking and "按时办结率" in ranking and "满意率" in ranking
    # The ranking moved: the water company, signed for and resolved on time, now has a score
    # above what it had (none, if this was its first request), and stands where that score
    # puts it — above every department scoring less, the ranks read on the page in order.
    chosen = browser.find_element(By.CSS_SELECTOR, '#period-form select[name="period"]')
    period = chosen.get_attribute("value")

    def as_kpi_ranks(d: WebDriver) -> bool:
        kpi = http.get(f"{u['kpi']}/v1/rankings", headers=bearer(SUPERVISOR), params={"period": period})
        page = ranking_rows(d)
        if [(r[1], r[3]) for r in page] == [(k["department"], k["score"]) for k in kpi.json()["items"]]:
            return True
        d.refresh()
        wait_for(d, lambda d2: d2.find_elements(By.CSS_SELECTOR, "#ranking tbody tr"))
        return False

    wait_for(browser, as_kpi_ranks)  # the page reads as KPI ranks them
    ranked = ranking_rows(browser)
    assert in_ranking_order(ranked), ranked
    (water,) = [r for r in ranked if r[1] == "water"]
    assert water[2] == "水务集团" and water[3] is not None
    assert water_before[3] is None or water[3] >= water_before[3], (water_before, water)
    below = [r[1] for r in ranked if r[3] is None or r[3] < water[3]]
    assert [r[1] for r in ranked][len(ranked) - len(below) :] == below, ranked
    assert water[0] == str(1 + sum(1 for r in ranked if r[3] is not None and r[3] > water[3]))
    if water_before[3] is None:  # from among the unranked (–, listed last) to its rank
        assert water_before[0] == "–" and ranked.index(water) < ranked_before.index(water_before)

    # 按事项: a request in the citizen's own words (no topic) goes out under a matter of the
    # dispatch catalogue; the KPI page shows that matter by its name, the request counted
    # among its dispatched ones (paging on until the matter's row shows).
    lamp = submit_request(
        http,
        base,
        content="我家楼下的路灯坏了好几天了，一到晚上黑乎乎的，麻烦派人修一下",
        requester={"phone": "13500135001"},
    )
    matter = until(
        lambda: http.get(f"{u['kpi']}/v1/requests/{lamp}/facts", headers=bearer(SUPERVISOR)),
        lambda r: r.is_success and bool(r.json().get("matter")) and bool(r.json().get("lead_department")),
    )["matter"]
    browser.refresh()
    catalogue = http.get(
        f"{u['routing']}/v1/matters", headers=bearer(SUPERVISOR), params={"include_retired": "true"}
    ).json()["items"]
    name = next(m["name"] for m in catalogue if m["code"] == matter)
    wait_for(browser, lambda d: "按事项" in text_of(d, "main"))  # the page loads again

    def matter_row(d: WebDriver) -> bool:
        if d.find_elements(By.CSS_SELECTOR, f'#by-matter [data-matter="{matter}"]'):
            return True
        more = d.find_elements(By.CSS_SELECTOR, "#by-matter .pager button.next:not([disabled])")
        if more:
            more[0].click()
        return False

    wait_for(browser, matter_row)
    assert text_of(browser, f'#by-matter [data-matter="{matter}"]') == name
    assert counted(browser, matter, "routed") >= 1
    heads = text_of(browser, "#by-matter")
    assert "事项名称" in heads and "按时办结率" in heads and "退单率" in heads
    shot(browser, "09-supervisor-kpi")

    browser.get(f"{base}/console/#/trends")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#trend-chart svg, #trend-chart canvas"))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#topics-chart svg"))
    wait_for(browser, shows("#topics", "数量", "环比增长"))
    shot(browser, "10-supervisor-trends")
    no_errors(browser)


def test_an_administrator_sees_the_organisation_and_creates_a_channel_key(
    base: str, browser: WebDriver
) -> None:
    open_as(browser, base, ADMIN, "admin")
    wait_for(browser, shows("#departments", "城市管理局", "12345 热线协调办"))
    wait_for(browser, shows("#policies", "签收"))
    wait_for(browser, lambda d: "工作日" in text_of(d, "#calendar"))
    assert "居住证办理" in text_of(browser, "#catalog")
    form = browser.find_element(By.ID, "new-key")
    Select(form.find_element(By.NAME, "channel")).select_by_value("wechat")
    form.find_element(By.NAME, "label").send_keys("微信公众号")
    form.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, shows("#new-key-shown", "新密钥（只显示一次）"))
    wait_for(browser, shows("#keys", "微信", "微信公众号"))
    shot(browser, "11-admin")
    open_as(browser, base, SUPERVISOR, "kb")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#articles table, #articles p"))
    shot(browser, "12-kb-approvals")
    no_errors(browser)


# --- issue 21: countdowns, matter suggestions, the chase, the provisional calendar -----------

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The calendar the platform is seeded with (make run's seed): 2026 from chinesecalendar, 2027
# provisional from the statutory holidays.
SEEDED_CALENDAR = BusinessCalendar(
    overrides={**chinese_calendar_overrides(2026), **year_seed(2027).overrides}
)


def calendar_span(ms: float) -> str:
    """The console's words for a stretch of calendar time: 1 天 3 小时 / 3 小时 20 分钟."""
    minutes = max(0, round(abs(ms) / 60000))
    d, h, m = minutes // 1440, minutes % 1440 // 60, minutes % 60
    bits = (
        [f"{d} 天", f"{h} 小时" if h else ""]
        if d
        else [f"{h} 小时", f"{m} 分钟" if m else ""]
        if h
        else [f"{m} 分钟"]
    )
    return " ".join(b for b in bits if b)


def platform_now(http: httpx.Client, base: str) -> datetime:
    """The platform's (pinned) now, as the console is told it."""
    return datetime.fromisoformat(http.get(f"{base}/console/config.json").json()["now"])


def human(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def between(before: datetime, after: datetime) -> list[datetime]:
    """Every 10 seconds from loading a page to a minute after reading it."""
    return [before + timedelta(seconds=s) for s in range(0, int((after - before).total_seconds()) + 61, 10)]


def working_span(minutes: float, workday: float = 450) -> str:
    """The console's words for working time (format.js workingSpan): 1 个工作日 3 小时 / 2 小时 20 分钟."""
    total = math.floor(abs(minutes) + 0.5)  # as Math.round
    d = total // round(workday)
    rest = total - d * round(workday)
    h, m = rest // 60, rest % 60
    bits = (
        [f"{d} 个工作日", f"{h} 小时" if h else ""]
        if d
        else [f"{h} 小时", f"{m} 分钟" if m else ""]
        if h
        else [f"{m} 分钟"]
    )
    return " ".join(b for b in bits if b)


def working_countdown(due: datetime, seen: datetime) -> str:
    """What a countdown reads at `seen`, counted on the seeded calendar independently of routing."""
    (left,) = time_left(SEEDED_CALENDAR, [due], seen)
    words = working_span(left.working_minutes_left)
    return f"已超时 {words}" if left.overdue else f"剩余 {words}"


def test_the_queue_counts_down_each_clock_in_working_time(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = submit_request(
        http,
        base,
        content="楼下烧烤店每天半夜还在外面摆摊吵闹，油烟也大",
        topic="噪音",
        requester={"phone": "13700137111"},
    )
    case = until(
        lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer(ENV_HANDLER)),
        lambda r: r.is_success,
    )
    # A supervision order whose due is known: a week and two minutes from now, in working hours
    # (the pinned clock is Wednesday 2 December 2026 shortly after 10:00), so five working days.
    before = platform_now(http, base)
    local = before.astimezone(SHANGHAI)
    assert local.date().isoformat() == "2026-12-02" and 9 <= local.hour < 11, local  # the pinned clock
    order_due = before + timedelta(days=7, minutes=2)
    order = http.post(
        f"{u['handling']}/v1/supervision-orders",
        headers=bearer(SUPERVISOR),
        json={"request_id": rid, "instructions": "请五个工作日内查处烧烤扰民", "due": order_due.isoformat()},
    )
    assert order.status_code == 201, order.text

    open_as(browser, base, ENV_HANDLER, "queue")
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#cases tr[data-id="{rid}"]'))
    wait_for(browser, lambda d: "请五个工作日内查处烧烤扰民" in text_of(d, "#orders"))
    text = row.text
    orders = text_of(browser, "#orders")
    after = platform_now(http, base)
    moments = between(before, after)
    for clock in ("accept", "resolve"):
        due = datetime.fromisoformat(case["due"][clock])
        # What the row may read, counted from any moment between loading and reading it.
        expected = {working_countdown(due, m) for m in moments}
        assert any(e in text for e in expected), (clock, expected, text)
        assert f"到期 {human(due)}" in text, (clock, text)  # the due time in Asia/Shanghai
    assert "自然时间" not in text  # routing said the working time left: no calendar time
    assert row.find_elements(By.CSS_SELECTOR, ".countdown.working.ok, .countdown.working.soon")
    assert not row.find_elements(By.CSS_SELECTOR, ".countdown.calendar")
    # The order's clock: exactly five working days, green.
    order_row = browser.find_element(
        By.XPATH, "//div[@id='orders']//tr[contains(., '请五个工作日内查处烧烤扰民')]"
    )
    assert "剩余 5 个工作日" in order_row.text, orders
    assert order_row.find_elements(By.CSS_SELECTOR, ".countdown.working.ok")

    # The case page reads the same for each clock still running, and in English too.
    browser.get(f"{base}/console/#/case/{rid}")
    wait_for(browser, shows("#clocks", "办结", "剩余"))
    clocks = text_of(browser, "#clocks")
    after = platform_now(http, base)
    due = datetime.fromisoformat(case["due"]["resolve"])
    moments = between(before, after)
    assert any(working_countdown(due, m) in clocks for m in moments), clocks
    assert "自然时间" not in clocks
    assert human(due) in clocks
    browser.find_element(By.ID, "lang").click()
    wait_for(
        browser, lambda d: re.search(r"\d+ (h|min|working days?)( \d+ (h|min))? left", text_of(d, "#clocks"))
    )
    browser.find_element(By.ID, "lang").click()
    wait_for(browser, shows("#clocks", "剩余"))
    no_errors(browser)


def test_countdowns_fall_back_to_calendar_time_when_routing_cannot_say(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    rid = submit_request(
        http,
        base,
        content="小区门口的共享单车乱停乱放，堵住了消防通道",
        topic="噪音",
        requester={"phone": "13700137112"},
    )
    case = until(
        lambda: http.get(f"{services.urls['handling']}/v1/cases/{rid}", headers=bearer(ENV_HANDLER)),
        lambda r: r.is_success,
    )
    before = platform_now(http, base)
    open_as(browser, base, ENV_HANDLER, "queue")
    # Routing's time-left answers 503 in this browser: the console counts calendar time and says so.
    browser.execute_script(
        """const real = window.fetch;
        window.fetch = (url, init) => String(url).includes('/v1/calendar/time-left')
          ? Promise.resolve(new Response('{}', {status: 503, headers: {'content-type': 'application/json'}}))
          : real(url, init);"""
    )
    wait_for(browser, lambda d: "（自然时间）" in text_of(d, f'#cases tr[data-id="{rid}"]'))
    text = text_of(browser, f'#cases tr[data-id="{rid}"]')
    after = platform_now(http, base)
    moments = between(before, after)
    due = datetime.fromisoformat(case["due"]["resolve"])
    expected = {f"剩余 {calendar_span((due - m).total_seconds() * 1000)}（自然时间）" for m in moments}
    assert any(e in text for e in expected), (expected, text)
    assert "工作日" not in text  # calendar time is never passed off as working time


def test_matter_suggestions_appear_as_the_agent_types_and_fill_the_form(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    words = "我们这条街的路灯坏了一个多星期了，晚上黑灯瞎火的"
    from_api = http.post(
        f"{services.urls['routing']}/v1/matter-suggestions", headers=bearer(AGENT), json={"text": words}
    ).json()["items"]
    assert from_api[0]["code"] == "urban.streetlight"
    open_as(browser, base, AGENT, "agent")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    form.find_element(By.NAME, "phone").send_keys("13912345678")
    form.find_element(By.NAME, "content").send_keys(words)
    wait_for(browser, shows("#matter-suggestions", "推荐事项", "路灯故障", "主办单位：城市管理局"))
    items = browser.find_elements(By.CSS_SELECTOR, "#matter-suggestions li")
    assert [i.get_attribute("data-matter") for i in items] == [m["code"] for m in from_api]  # best first
    assert "报修" in items[0].text and "置信度" in items[0].text
    items[0].find_element(By.CSS_SELECTOR, "button.pick-matter").click()
    wait_for(browser, shows("#matter-picked", "已选事项：路灯故障"))
    assert form.find_element(By.NAME, "topic").get_attribute("value") == "路灯故障"
    assert Select(form.find_element(By.NAME, "category")).first_selected_option.text == "报修"
    shot(browser, "13-agent-matter-suggestions")
    form.find_element(By.NAME, "content").send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(browser, shows("#result", "已受理", "报修"))
    assert text_of(browser, "#matter-suggestions") == ""  # ready for the next call
    no_errors(browser)


def test_the_first_responder_chases_a_request_and_reads_what_happened(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    rid, routed = agents_routed_request(
        http, base, "小区旁边工地凌晨两点还在打桩，吵得整栋楼睡不着", "噪音", "13800138555"
    )
    lead = department_names(http, services)[routed["lead_department"]]
    open_as(browser, base, AGENT, "mine")
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"]'))
    assert lead in row.text and "已派单" in row.text
    row.find_element(By.CSS_SELECTOR, "button.chase").click()
    wait_for(
        browser,
        shows("#chased", f"已催办诉求 {rid[:8]}：已提醒主办单位{lead}（第 1 次催办），并通知该单位负责人"),
    )
    wait_for(browser, toast_says("已催办诉求", lead))
    shot(browser, "14-agent-chase")
    wait_for(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"] button.chase').is_enabled(),
    )
    browser.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"] button.chase').click()
    wait_for(browser, shows("#chased", "第 2 次催办"))
    # A request no department holds (answered on the spot, merged, …) has no chase button.
    # Read the rows in one go: the page re-renders them as it polls, so an element found a moment
    # ago may be gone by the time its text is asked for.
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#mine tbody tr')].map("
        "tr => [tr.innerText, tr.querySelector('button.chase') !== null])"
    )
    assert rows, text_of(browser, "#mine")
    for text, has_chase in rows:
        if any(word in text for word in ("当场答复", "已合并", "已反馈")):
            assert not has_chase, text

    # The lead department signs and waits on the person: the first responder reads that its
    # clocks stand still, not a countdown running out.
    handling = services.urls["handling"]
    department = routed["lead_department"]
    handler = bearer(issue_staff_token(f"handler-{department}-01", "handler", department))
    until(
        lambda: http.post(f"{handling}/v1/cases/{rid}/accept", headers=handler, json={}),
        lambda r: r.is_success,
    )
    paused = http.post(
        f"{handling}/v1/cases/{rid}/pause", headers=handler, json={"reason": "等待市民提供打桩录像"}
    )
    assert paused.is_success, paused.text

    # No reload: the page polls what changed elsewhere.
    wait_for(
        browser,
        lambda d: (
            "暂停计时（等待群众）" in d.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"]').text
        ),
    )
    running = ", ".join(
        f'#mine tr[data-id="{rid}"] .countdown.{level}' for level in ("ok", "soon", "overdue")
    )
    assert not browser.find_elements(By.CSS_SELECTOR, running), text_of(browser, "#mine")
    no_errors(browser)


def test_the_admin_calendar_page_warns_while_a_years_calendar_is_provisional(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    routing = services.urls["routing"]
    years = http.get(f"{routing}/v1/calendar/years", headers=bearer(ADMIN)).json()["items"]
    this_year = platform_now(http, base).astimezone(SHANGHAI).year
    provisional = [y for y in years if y["provisional"] and y["year"] >= this_year]
    assert [y["year"] for y in provisional] == [this_year + 1], (
        years
    )  # seeded: next year's notice not out yet
    next_year = provisional[0]
    open_as(browser, base, ADMIN, "admin")
    wait_for(
        browser, shows("#calendar-banner", f"{this_year + 1} 年工作日历为暂定", "国务院办公厅", "法定节假日")
    )
    assert f"{this_year} 年工作日历为暂定" not in text_of(browser, "#calendar-banner")
    shot(browser, "15-admin-calendar-provisional")
    browser.find_element(By.ID, "lang").click()
    wait_for(
        browser, shows("#calendar-banner", f"The {this_year + 1} calendar is provisional.", "State Council")
    )
    browser.find_element(By.ID, "lang").click()
    wait_for(browser, shows("#calendar-banner", "暂定"))

    # The notice entered (the same days off: only the provisional state changes): no banner.
    entered = http.put(
        f"{routing}/v1/calendar/years/{next_year['year']}",
        headers=bearer(ADMIN),
        json={
            "notice": f"国务院办公厅关于{next_year['year']}年部分节假日安排的通知（测试）",
            "holidays": next_year["days_off"],
            "workdays": next_year["make_up_days"],
        },
    )
    assert entered.is_success, entered.text
    open_as(browser, base, ADMIN, "admin")
    wait_for(browser, shows("#calendar", "工作日"))
    assert "暂定" not in text_of(browser, "#calendar-banner")
    no_errors(browser)
