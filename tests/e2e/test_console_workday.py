"""More of a 12345 centre's day in the console (headless Chromium against the running platform),
asserting what the person at the screen reads, in Chinese:

- a window agent adds the materials a person brings back (补充材料) to an incomplete request:
  the case page names the business type and every missing material as the catalogue does
  (never a code), says what is still missing after a partial supplement, and once nothing is
  missing the request goes on to its department;
- a department returns a request naming the department it belongs to: the request goes
  there at once and the timeline says where it belonged;
- the supervisor's board pages through its supervision orders;
- the accountability list says why a department is on it (months under the pass line).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from shared.auth import issue_staff_token
from tests.e2e import test_console as console
from tests.e2e.conftest import Platform
from tests.e2e.test_console import (
    AGENT,
    ENV_HANDLER,
    HUMAN_TIME,
    SUPERVISOR,
    URBAN_HANDLER,
    action,
    bearer,
    no_errors,
    open_as,
    platform_now,
    shot,
    shows,
    text_of,
    toast_says,
    until,
    wait_for,
)

# The browser, the HTTP client and the platform's base address: test_console's fixtures.
browser, http, base = console.browser, console.http, console.base


def paged_to(driver: WebDriver, listing: str, row: str) -> WebElement:
    """The row `row` of the paged list `listing`, paging on until it shows (other tests'
    rows may fill the first pages)."""

    def probe(d: WebDriver) -> WebElement | bool:
        found = d.find_elements(By.CSS_SELECTOR, f"{listing} {row}")
        if found:
            return found[0]
        more = d.find_elements(By.CSS_SELECTOR, f"{listing} .pager button.next:not([disabled])")
        if more:
            more[0].click()
        return False

    return cast(WebElement, wait_for(driver, probe))


def test_a_window_agent_adds_the_missing_materials_and_the_request_goes_on(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform, tmp_path: Path
) -> None:
    made = http.post(
        f"{base}/v1/requests",
        headers=bearer(AGENT),
        json={
            "channel": "window",
            "content": "来办居住证，今天只带了身份证",
            "business_type": "residence_permit",
            "materials": [{"code": "id_card", "name": "身份证", "media_type": "image/jpeg"}],
            "requester": {"name": "王女士", "phone": "13800138777"},
        },
    )
    assert made.status_code == 201 and made.json()["state"] == "incomplete", made.text
    rid = made.json()["id"]

    open_as(browser, base, AGENT, f"case/{rid}")
    wait_for(browser, shows("#case-state", "待补材料"))
    assert text_of(browser, "#case-business") == "居住证办理"  # the catalogue's name, not residence_permit
    materials = text_of(browser, "#case-materials")
    assert "✓ 身份证" in materials and "✗ 租赁合同或房产证明" in materials and "✗ 近期免冠照片" in materials
    # What is missing, in the timeline too: the materials' names.
    wait_for(browser, shows("#timeline", "待补材料", "缺少材料：租赁合同或房产证明、近期免冠照片"))
    assert "object" not in text_of(browser, "#timeline") and "residence_permit" not in text_of(
        browser, "main"
    )
    assert "· 系统" in text_of(browser, "#timeline") and "system" not in text_of(browser, "#timeline")

    # The person brings the lease first: the agent ticks it and reads what is still missing.
    form = action(browser, "supplement")
    assert "租赁合同或房产证明" in form.text and "近期免冠照片" in form.text and "身份证" not in form.text
    assert "扫描件（JPG）" in form.find_element(By.CSS_SELECTOR, 'li[data-material="photo"]').text
    form.find_element(By.CSS_SELECTOR, 'input[value="lease"]').click()
    wait_for(browser, shows(".supplement-status", "缺少材料：近期免冠照片"))
    # A photo ticked without its scan: intake would refuse it, and the form says so at once.
    form.find_element(By.CSS_SELECTOR, 'input[value="photo"]').click()
    wait_for(browser, shows(".supplement-status", "需上传扫描件（JPG）：近期免冠照片"))
    form.find_element(By.CSS_SELECTOR, 'input[value="photo"]').click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, shows("#supplemented", "已补充，仍缺少：近期免冠照片"))
    assert "待补材料" in text_of(browser, "#case-state")
    wait_for(browser, shows("#case-materials", "✓ 租赁合同或房产证明", "✗ 近期免冠照片"))
    shot(browser, "18-agent-supplement")

    # Then the photo, scanned: nothing is missing, the request goes on to its department.
    scan = tmp_path / "photo.jpg"
    scan.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9")
    form = action(browser, "supplement")
    form.find_element(By.CSS_SELECTOR, 'input.material-file[data-code="photo"]').send_keys(str(scan))
    wait_for(browser, shows(".supplement-status", "材料齐全"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, shows("#supplemented", "材料已补齐，诉求已转入派单"))
    routed = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.is_success and r.json()["state"] == "routed" and bool(r.json()["lead_department"]),
    )
    lead = console.department_names(http, services)[routed["lead_department"]]
    wait_for(browser, shows("#case-lead", lead))  # no reload: the page polls
    wait_for(browser, shows("#case-state", "已派单"))
    wait_for(browser, shows("#timeline", "补充材料：近期免冠照片", "派单"))
    assert "✗" not in text_of(browser, "#facts")
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="supplement"]')
    assert "13800138777" not in browser.page_source
    no_errors(browser)


def test_a_department_returns_a_request_to_the_department_it_belongs_to(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = console.submit_request(
        http,
        base,
        content="小区门口的井盖松动了，车一压就哐当响，晚上吵得睡不着",
        topic="噪音",
        requester={"phone": "13700137333"},
    )
    until(
        lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer(ENV_HANDLER)),
        lambda r: r.is_success and r.json()["state"] == "routed",
    )
    open_as(browser, base, ENV_HANDLER, f"case/{rid}")
    form = action(browser, "return")
    picker = Select(form.find_element(By.NAME, "belongs_to_department"))
    offered = [o.text for o in picker.options]
    assert offered[0] == "（不确定，由系统重新派单）" and "城市管理局" in offered
    assert "生态环境局" not in offered  # not one's own department
    picker.select_by_visible_text("城市管理局")
    form.find_element(By.NAME, "reason").send_keys("井盖属市政设施，归城管办理，非环境噪声")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：退单"))

    # Routing sends it to the department named, at once (not to its next guess).
    routed = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.json()["lead_department"] == "urban" and r.json()["state"] == "routed",
    )
    assert routed["lead_department"] == "urban"
    until(
        lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer(URBAN_HANDLER)),
        lambda r: r.is_success and r.json()["state"] == "routed",
    )
    open_as(browser, base, URBAN_HANDLER, f"case/{rid}")
    wait_for(browser, shows("#case-lead", "城市管理局"))
    wait_for(browser, shows("#timeline", "退单", "应由：城市管理局", "井盖属市政设施"))
    timeline = text_of(browser, "#timeline")
    assert "生态环境局" in timeline and "urban" not in timeline and HUMAN_TIME.search(timeline)
    assert browser.find_elements(By.CSS_SELECTOR, "#actions button.act-accept")  # theirs to sign for
    no_errors(browser)


def test_the_supervisors_board_pages_through_the_supervision_orders(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = console.submit_request(
        http, base, content="供水管道漏水，路面一直在冒水", topic="供水", requester={"phone": "13500135333"}
    )
    water = bearer(issue_staff_token("handler-water-02", "handler", "water"))
    until(
        lambda: http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=water, json={}),
        lambda r: r.is_success,
    )
    # More orders than one page holds, due later than any other test's.
    start = platform_now(http, base) + timedelta(days=30)
    mark = uuid.uuid4().hex[:6]
    for n in range(23):
        issued = http.post(
            f"{u['handling']}/v1/supervision-orders",
            headers=bearer(SUPERVISOR),
            json={
                "request_id": rid,
                "instructions": f"督办{mark}第{n:02d}号",
                "due": (start + timedelta(hours=n)).isoformat(),
            },
        )
        assert issued.status_code == 201, issued.text

    open_as(browser, base, SUPERVISOR, "board")
    wait_for(browser, shows("#orders", "第 1 页"))
    seen: set[str] = set()

    def read_pages(d: WebDriver) -> bool:
        rows = d.execute_script(
            "return [...document.querySelectorAll('#orders tbody tr')].map(tr => tr.innerText)"
        )
        assert len(rows) <= 20, len(rows)  # one page at a time
        seen.update(f"{n:02d}" for n in range(23) for row in rows if f"督办{mark}第{n:02d}号" in row)
        if len(seen) == 23:
            return True
        more = d.find_elements(By.CSS_SELECTOR, "#orders .pager button.next:not([disabled])")
        if more:
            more[0].click()
        return False

    wait_for(browser, read_pages, timeout=60)
    assert "第 1 页" not in text_of(browser, "#orders .pager")  # paged on to reach them all
    orders = text_of(browser, "#orders")
    assert "水务集团" in orders and "剩余" in orders
    last = text_of(browser, "#orders .page-no")
    browser.find_element(By.CSS_SELECTOR, "#orders .pager button.prev").click()
    wait_for(browser, lambda d: text_of(d, "#orders .page-no") not in ("", last))
    no_errors(browser)


def test_the_accountability_list_says_why_a_department_is_on_it(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    open_as(browser, base, SUPERVISOR, "kpi")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#accountability table, #accountability p"))
    # A flag as KPI's GET /v1/accountability answers it (a department flagged needs months of
    # closed periods under the pass line; this browser is given one in the API's own shape).
    flag = {
        "department": "water",
        "period": "2026-11",
        "periods": ["2026-09", "2026-10", "2026-11"],
        "pass_line": 85.0,
        "flagged_at": "2026-12-01T01:00:00+00:00",
    }
    browser.execute_script(
        """const real = window.fetch, answer = arguments[0];
        window.fetch = (url, init) => String(url).includes('/v1/accountability')
          ? Promise.resolve(new Response(answer, {headers: {'content-type': 'application/json'}}))
          : real(url, init);""",
        json.dumps({"items": [flag], "next_cursor": None}),
    )
    period = Select(browser.find_element(By.CSS_SELECTOR, "#period-form select[name=period]"))
    current = period.first_selected_option.get_attribute("value")
    period.select_by_index(1 if period.options[0].get_attribute("value") == current else 0)
    row = wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, '#accountability tr[data-department="water"]')
    )
    assert "水务集团" in row.text
    assert "连续 3 个月低于达标线 85 分（2026-09、2026-10、2026-11）" in row.text, row.text
    assert "2026年12月1日 09:00" in row.text  # flagged at, in Asia/Shanghai
    assert "列入时间" in text_of(browser, "#accountability")
    no_errors(browser)


def test_the_trends_page_names_the_hot_matters(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    # In the citizen's words, no topic: routing dispatches it under a matter of the catalogue.
    lamp = console.submit_request(
        http,
        base,
        content="我们小区东门的路灯坏了好几天了，晚上走路看不见，麻烦尽快修",
        requester={"phone": "13500135444"},
    )
    until(
        lambda: http.get(f"{services.urls['kpi']}/v1/requests/{lamp}/facts", headers=bearer(SUPERVISOR)),
        lambda r: r.is_success and bool(r.json().get("matter")),
    )
    # The hottest matter of the month as KPI counts it, and its name in routing's catalogue.
    period = platform_now(http, base).astimezone(console.SHANGHAI).strftime("%Y-%m")
    spots = http.get(
        f"{services.urls['kpi']}/v1/hotspots", headers=bearer(SUPERVISOR), params={"period": period}
    )
    matter = spots.json()["matters"]["most"][0]["key"]
    catalogued = http.get(f"{services.urls['routing']}/v1/matters/{matter}", headers=bearer(SUPERVISOR))
    name = catalogued.json()["name"].split(" (")[0]
    open_as(browser, base, SUPERVISOR, "trends")
    row = wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#hot-matters tr[data-matter="{matter}"]')
    )
    assert name in row.text, row.text
    assert "事项名称" in text_of(browser, "#hot-matters") and "环比增长" in text_of(browser, "#hot-matters")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#matters-chart svg"))
    assert "热点区域" in text_of(browser, "main") and "热点事项" in text_of(browser, "main")
    shot(browser, "19-supervisor-hot-matters")
    no_errors(browser)


DISPATCHER = issue_staff_token("dispatcher-02", "dispatcher", "coordination")


def test_the_dispatcher_dispatches_an_uncertain_request_from_the_queue(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    routing = services.urls["routing"]
    # Words no matter of the catalogue is sure of: routing leaves it to a dispatcher (待派单).
    rid = console.submit_request(
        http,
        base,
        content="我要反映问题，具体的我也说不清楚",
        requester={"phone": "13600136444"},
    )
    queued = until(
        lambda: http.get(f"{routing}/v1/dispatch-queue", headers=bearer(DISPATCHER), params={"limit": 200}),
        lambda r: r.is_success and any(i["request_id"] == rid for i in r.json()["items"]),
    )
    (item,) = [i for i in queued["items"] if i["request_id"] == rid]
    names = console.department_names(http, services)
    best = item["suggestions"][0]

    open_as(browser, base, DISPATCHER, "dispatch")
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")] == ["派单"]

    form = paged_to(browser, "#waiting", f'form[data-id="{rid}"]')  # urgent first, then the oldest
    row = browser.find_element(By.XPATH, f"//div[@id='waiting']//tr[.//form[@data-id='{rid}']]")
    assert "具体的我也说不清楚" in row.text and "待派单" in row.text and "waiting" not in row.text
    # The top suggestions with their matters and confidence, the best one preselected.
    assert names[best["department"]] in row.text and f"置信度 {round(best['confidence'] * 100)}%" in row.text
    if best.get("matter_name"):
        assert best["matter_name"].split(" (")[0] in row.text
    lead = Select(form.find_element(By.NAME, "lead_department"))
    assert lead.first_selected_option.text == names[best["department"]]
    shot(browser, "20-dispatcher-queue")
    # The agent's notes say more than the words: 城市管理局 leads, 住建局 co-handles.
    lead.select_by_visible_text("城市管理局")
    form.find_element(By.TAG_NAME, "summary").click()
    form.find_element(By.CSS_SELECTOR, 'input[value="housing"]').click()
    form.find_element(By.NAME, "reason").send_keys("小区门口设施损坏，城管牵头，住建局督促物业")
    form.find_element(By.CSS_SELECTOR, "button.act").click()
    wait_for(browser, toast_says("已派单"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#waiting form[data-id="{rid}"]'))
    routed = until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.json()["lead_department"] == "urban" and r.json()["state"] == "routed",
    )
    assert routed["lead_department"] == "urban"
    assert "操作失败" not in text_of(browser, "#toast")  # no page of the dispatcher's answers 403
    no_errors(browser)


def rated_complaint(
    http: httpx.Client,
    base: str,
    services: Platform,
    *,
    content: str,
    topic: str,
    requester: dict[str, str],
    reply: str,
) -> str:
    """A complaint signed for and resolved by the environment bureau, fed back, and rated
    satisfied through the hotline (a return visit is owed for every complaint)."""
    u = services.urls
    rid = console.submit_request(
        http, base, content=content, topic=topic, category="complaint", requester=requester
    )
    env = bearer(ENV_HANDLER)
    until(
        lambda: http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=env, json={}),
        lambda r: r.is_success,
    )
    resolved = http.post(
        f"{u['handling']}/v1/cases/{rid}/resolve",
        headers=env,
        json={"outcome": "resolved", "reply": reply, "override_reason": "协办意见已电话确认"},
    )
    assert resolved.is_success, resolved.text
    until(
        lambda: http.post(f"{u['followup']}/v1/requests/{rid}/feedback", headers=env, json={}),
        lambda r: r.is_success,
    )
    until(
        lambda: http.post(
            f"{u['followup']}/v1/requests/{rid}/rating", headers=console.HOTLINE, json={"rating": "satisfied"}
        ),
        lambda r: r.is_success,
    )
    return rid


def test_an_agent_makes_a_complaints_return_visit_and_records_it(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    rid = rated_complaint(
        http,
        base,
        services,
        content="投诉楼下KTV每天营业到凌晨三点，噪音扰民严重",
        topic="噪音",
        requester={"name": "赵先生", "phone": "13700137555"},
        reply="已约谈KTV经营者，营业时间调整至晚十二点前，并加装隔音设施。",
    )
    # A complaint is always visited again, whatever the rating.
    until(
        lambda: http.get(f"{u['followup']}/v1/revisits", headers=bearer(AGENT), params={"limit": 500}),
        lambda r: r.is_success and any(v["request_id"] == rid for v in r.json()["items"]),
    )

    open_as(browser, base, AGENT, "revisits")
    assert "回访" in text_of(browser, "#nav")
    row = paged_to(browser, "#revisits", f'tr[data-id="{rid}"]')
    text = row.text
    assert (
        "投诉件必访" in text and "投诉" in text and "生态环境局" in text and "KTV每天营业到凌晨三点" in text
    )
    assert "137****7555" in text and "13700137555" not in browser.page_source  # masked
    assert (
        "剩余" in text and "个工作日" in text and HUMAN_TIME.search(text)
    )  # working-time countdown, due date
    # To call back, the agent reads the whole contact, for a purpose intake logs.
    row.find_element(By.CSS_SELECTOR, "button.reveal-contact").click()
    wait_for(browser, shows(f'#revisits tr[data-id="{rid}"] .revealed', "赵先生", "13700137555"))
    assert "本次查看已留痕" in text_of(browser, f'#revisits tr[data-id="{rid}"]')
    reads = http.get(
        f"{base}/v1/personal-data-reads", headers=bearer(SUPERVISOR), params={"request_id": rid}
    ).json()["items"]
    assert any(r["reader_id"] == "agent-007" and r["purpose"] == "回访诉求人" for r in reads), reads
    shot(browser, "21-agent-revisits")
    row = paged_to(browser, "#revisits", f'tr[data-id="{rid}"]')  # the poll may have drawn it again
    Select(row.find_element(By.NAME, "outcome")).select_by_visible_text("问题已解决")
    row.find_element(By.NAME, "notes").send_keys("赵先生表示KTV已按时停业，噪音明显减少，满意")
    row.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, shows("#revisit-recorded", f"已记录诉求 {rid[:8]} 的回访：问题已解决"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#revisits tr[data-id="{rid}"]'))
    done = paged_to(browser, "#revisits-done", f'tr[data-id="{rid}"]')
    assert "问题已解决" in done.text and "噪音明显减少" in done.text and "agent-007" in done.text
    # The case page's timeline has the visit, in words.
    browser.get(f"{base}/console/#/case/{rid}")
    wait_for(browser, shows("#timeline", "安排回访", "回访"))
    # A complaint handled well: the agent proposes it as a typical case for the knowledge base.
    title = f"KTV深夜扰民投诉的处理{rid[:4]}"
    form = action(browser, "kbcase")
    form.find_element(By.NAME, "title").send_keys(title)
    form.find_element(By.NAME, "answer").send_keys(
        "约谈经营者调整营业时间并加装隔音设施，回访确认噪音明显减少。"
    )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, shows("#case-proposed", f"已推荐为典型案例，待督办员审核：{title}"))
    open_as(browser, base, SUPERVISOR, "kb")
    case = wait_for(
        browser, lambda d: d.find_element(By.XPATH, f"//div[@id='articles']//tr[contains(., '{title}')]")
    )
    assert "典型案例" in case.text and "待审批" in case.text and "生态环境局" in case.text
    assert "13700137555" not in browser.page_source
    no_errors(browser)


def test_a_handler_notes_progress_and_the_agent_withdraws_at_the_persons_call(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    rid = console.submit_request(
        http,
        base,
        content="隔壁装修天天电钻声从早到晚，周末也不停",
        topic="噪音",
        requester={"name": "孙女士", "phone": "13700137666"},
    )
    until(
        lambda: http.get(f"{services.urls['handling']}/v1/cases/{rid}", headers=bearer(ENV_HANDLER)),
        lambda r: r.is_success and r.json()["state"] == "routed",
    )
    open_as(browser, base, ENV_HANDLER, f"case/{rid}")
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#actions button.act-accept")).click()
    wait_for(browser, toast_says("已完成：签收"))
    form = action(browser, "progress")
    assert Select(form.find_element(By.NAME, "step")).first_selected_option.text == "调查核实"
    form.find_element(By.NAME, "note").send_keys("已到现场测量，装修噪声白天未超标，已提醒施工方周末停工")
    form.find_element(By.NAME, "notify_requester").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：进展记录"))
    wait_for(browser, shows("#timeline", "办理进展", "调查核实", "已提醒施工方周末停工"))

    # The person calls back: sorted out with the neighbour. The agent withdraws it.
    open_as(browser, base, AGENT, f"case/{rid}")
    wait_for(browser, lambda d: any(w in text_of(d, "#case-state") for w in ("已签收", "办理中")))
    form = action(browser, "withdraw")
    form.find_element(By.NAME, "reason").send_keys("孙女士来电称已与邻居协商解决，申请撤回")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, toast_says("已完成：撤回诉求"))
    wait_for(browser, shows("#case-state", "已撤回"))
    wait_for(browser, shows("#timeline", "撤回", "已与邻居协商解决", "办理进展"))
    assert not browser.find_elements(
        By.CSS_SELECTOR, 'details[data-action="withdraw"]'
    )  # nothing left to withdraw
    assert "13700137666" not in browser.page_source
    no_errors(browser)


def test_a_head_rectifies_a_bad_rating_of_their_staff_and_reads_the_team_figures(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    u = services.urls
    # A window clerk of the service centre: agent-001's own ratings are counted exactly by
    # tests/e2e/test_staff_evaluation.py on the same platform.
    head = issue_staff_token("head-service", "dept_head", "service_center")
    member = http.get(f"{u['routing']}/v1/staff/window-01", headers=bearer(head)).json()
    assert member["department"] == "service_center"
    rated = http.post(
        f"{u['followup']}/v1/staff-ratings",
        headers=console.HOTLINE,
        json={
            "staff_id": "window-01",
            "service_ref": f"call-{uuid.uuid4().hex[:8]}",
            "channel": "hotline",
            "level": "unsatisfied",
            "reasons": ["unclear"],
            "comment": "解释得不清楚",
        },
    )
    assert rated.status_code == 201, rated.text
    task = until(
        lambda: http.get(f"{u['followup']}/v1/rectifications", headers=bearer(head), params={"limit": 500}),
        lambda r: r.is_success and any(t["rating_id"] == rated.json()["id"] for t in r.json()["items"]),
    )
    (mine,) = [t for t in task["items"] if t["rating_id"] == rated.json()["id"]]

    open_as(browser, base, head, "extensions")
    row = paged_to(browser, "#rectifications", f'tr[data-id="{mine["id"]}"]')
    assert member["name"] in row.text and "window-01" in row.text
    assert "剩余" in row.text and "个工作日" in row.text and HUMAN_TIME.search(row.text)
    team = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#team tr[data-staff="window-01"]'))
    assert member["name"] in team.text
    assert "承办件数" in text_of(browser, "#team") and "按时办结率" in text_of(browser, "#team")
    shot(browser, "22-head-rectifications")
    Select(row.find_element(By.NAME, "outcome")).select_by_visible_text("已整改")
    row.find_element(By.NAME, "note").send_keys("已组织业务培训，并回电向评价人解释清楚")
    row.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, toast_says(f"已处理 {member['name']} 的差评：已整改"))
    wait_for(
        browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#rectifications tr[data-id="{mine["id"]}"]')
    )
    decided = http.get(
        f"{u['followup']}/v1/rectifications", headers=bearer(head), params={"limit": 500}
    ).json()
    assert all(t["id"] != mine["id"] or t["outcome"] == "rectified" for t in decided["items"])
    no_errors(browser)


def test_the_caller_lookup_counts_every_earlier_request_and_shows_the_latest(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    ids = [
        console.submit_request(
            http, base, content=f"第{n:02d}次来电反映楼道灯不亮", requester={"phone": phone}
        )
        for n in range(55)
    ]
    open_as(browser, base, AGENT, "agent")
    wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    browser.switch_to.active_element.send_keys(phone)
    # More than one page of intake's answer: all 55 counted, the latest ten shown, newest first.
    wait_for(browser, shows("#caller", "重复来电", "历史诉求 55 件", "显示最近 10 件"))
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#caller tbody tr')].map(tr => tr.dataset.id)"
    )
    assert rows == list(reversed(ids))[:10], rows
    assert "第54次来电" in text_of(browser, "#caller") and "第00次来电" not in text_of(browser, "#caller")
    assert phone not in browser.page_source.replace(f'value="{phone}"', "")  # masked in the list
    no_errors(browser)


def test_a_head_writes_an_article_a_supervisor_publishes_it_and_agents_answer_with_it(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    head = issue_staff_token("head-urban", "dept_head", "urban")
    mark = uuid.uuid4().hex[:4]
    question = f"共享单车乱停放{mark}找谁处理？"
    open_as(browser, base, head, "kbwrite")
    assert "知识库编写" in text_of(browser, "#nav")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "article-form"))
    form.find_element(By.NAME, "question").send_keys(question)
    form.find_element(By.NAME, "answer").send_keys(
        "共享单车乱停放由城市管理局负责，可拨打12345反映具体位置，城管将通知运营企业两小时内清理。"
    )
    Select(form.find_element(By.NAME, "category")).select_by_visible_text("咨询")
    form.find_element(By.NAME, "keywords").send_keys(f"共享单车、乱停放、{mark}")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, shows("#article-saved", f"已保存草稿：{question}"))
    row = browser.find_element(By.XPATH, f"//div[@id='own-articles']//tr[contains(., '{question}')]")
    assert "草稿" in row.text and "知识文章" in row.text
    row.find_element(By.CSS_SELECTOR, "button.kb-submit").click()
    wait_for(browser, shows("#article-saved", f"已提交审核：{question}"))
    wait_for(
        browser,
        lambda d: (
            "待审批"
            in d.find_element(By.XPATH, f"//div[@id='own-articles']//tr[contains(., '{question}')]").text
        ),
    )

    # The supervisor publishes it.
    open_as(browser, base, SUPERVISOR, "kb")
    pending = wait_for(
        browser, lambda d: d.find_element(By.XPATH, f"//div[@id='articles']//tr[contains(., '{question}')]")
    )
    assert "城市管理局" in pending.text
    pending.find_element(By.CSS_SELECTOR, "button.kb-approve").click()
    wait_for(browser, shows("#kb-decided", f"已同意发布：{question}"))

    # An agent typing the same question finds it beside the form.
    open_as(browser, base, AGENT, "agent")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    form.find_element(By.NAME, "content").send_keys(f"小区门口共享单车乱停放{mark}，应该找谁")
    wait_for(browser, shows("#kb", question, "两小时内清理"))
    no_errors(browser)
