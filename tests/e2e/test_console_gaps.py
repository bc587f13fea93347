"""Screens for operations the APIs offered and the console lacked (headless Chromium against
the running platform), asserting what the person reads, in Chinese:

- an admin edits a business type of the materials catalogue (its name, a material renamed
  and made optional, one added with its file type) and reads the new version;
- a department head edits a knowledge-base article and reads the edited text in the list;
- an agent reads a request's full text (查看原文) for a stated purpose, and the admin reads
  that read in the personal-data audit list;
- an agent closes (归档) a rated request from its case page;
- the person rates the window clerk who served them, with the reasons followup lists;
- an admin edits a staff member and trains a new dispatch model;
- the registration form's 事项 suggestions are the dispatch catalogue's matters, its 区域
  suggestions the areas routing's rules know, and an area of one's own is taken as typed.

With SCREENSHOTS=1 (`make screenshots`) each new screen is saved to docs/screenshots/.
"""

from __future__ import annotations

import re
import uuid

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from shared.auth import issue_staff_token
from tests.e2e import test_console as console
from tests.e2e.conftest import Platform
from tests.e2e.test_console import (
    ADMIN,
    AGENT,
    ENV_HANDLER,
    HUMAN_TIME,
    action,
    bearer,
    no_errors,
    open_as,
    shot,
    shows,
    text_of,
    until,
    wait_for,
)
from tests.e2e.test_console_admin import URBAN_HEAD, fill, press, tap
from tests.e2e.test_console_workday import paged_to, rated_complaint

# The browser, the HTTP client and the platform's base address: test_console's fixtures.
browser, http, base = console.browser, console.http, console.base

WINDOW_CLERK = issue_staff_token("window-01", "agent")


def framed(driver: WebDriver, css: str, name: str) -> None:
    """The screenshot `name` with the element `css` scrolled to the middle of the window."""
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'})", driver.find_element(By.CSS_SELECTOR, css)
    )
    shot(driver, name)


def test_an_admin_edits_a_business_type_of_the_materials_catalogue(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    code = f"test_permit_{uuid.uuid4().hex[:6]}"
    made = http.put(
        f"{base}/v1/catalog/{code}",
        headers=bearer(ADMIN),
        json={
            "name": "摊位许可",
            "deadline_class": "standard",
            "materials": [
                {"code": "id_card", "name": "身份证", "mandatory": True, "media_types": ["image/jpeg"]},
                {"code": "photo", "name": "照片", "mandatory": True},
            ],
        },
    )
    assert made.is_success and made.json()["version"] == 1, made.text

    open_as(browser, base, ADMIN, "admin")
    row = f'#catalog tr[data-code="{code}"]'  # the page polls: rows are read by their selector
    wait_for(browser, shows(row, "摊位许可", "第 1 版", "身份证（必交）"))
    press(browser, f"{row} button.edit-catalog")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "catalog-form"))
    assert f"编辑业务类型 {code}（当前第 1 版）" in form.text
    assert "材料名称" in form.text and "必交" in form.text and "文件类型" in form.text
    assert form.find_element(By.NAME, "mat_code_0").get_attribute("value") == "id_card"
    assert form.find_element(By.NAME, "mat_types_0").get_attribute("value") == "image/jpeg"
    fill(form.find_element(By.NAME, "name"), "临时摊位许可")
    fill(form.find_element(By.NAME, "mat_name_1"), "近期免冠照片")
    tap(browser, form.find_element(By.NAME, "mat_mandatory_1"))  # optional now
    form.find_element(By.NAME, "mat_code_2").send_keys("site_plan")  # the blank row: one more
    form.find_element(By.NAME, "mat_name_2").send_keys("摊位平面图")
    form.find_element(By.NAME, "mat_types_2").send_keys("application/pdf、image/png")
    framed(browser, "#catalog-form", "23-admin-catalog-edit")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#catalog-saved", "已保存业务类型：临时摊位许可（第 2 版）"))
    wait_for(browser, shows(f'#catalog tr[data-code="{code}"]', "临时摊位许可", "第 2 版"))
    materials = text_of(browser, f'#catalog tr[data-code="{code}"]')
    assert "身份证（必交）" in materials and "摊位平面图（必交）" in materials, materials
    assert "近期免冠照片" in materials and "近期免冠照片（必交）" not in materials
    saved = http.get(f"{base}/v1/catalog/{code}", headers=bearer(ADMIN)).json()
    assert saved["version"] == 2 and saved["name"] == "临时摊位许可"
    by_code = {m["code"]: m for m in saved["materials"]}
    assert by_code["photo"]["mandatory"] is False and by_code["photo"]["name"] == "近期免冠照片"
    assert by_code["site_plan"]["media_types"] == ["application/pdf", "image/png"]
    # The agent's registration offers it by its new name, with its materials.
    open_as(browser, base, AGENT, "agent")
    picker = wait_for(browser, lambda d: d.find_element(By.ID, "business-type"))
    Select(picker).select_by_value(code)
    wait_for(browser, shows("#materials", "身份证", "近期免冠照片", "摊位平面图"))
    assert "临时摊位许可" in picker.text
    no_errors(browser)


def test_a_head_edits_an_article_and_reads_the_edited_text(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    mark = uuid.uuid4().hex[:4]
    question = f"占道经营{mark}怎么举报？"
    made = http.post(
        f"{base}/v1/kb/articles",
        headers=bearer(URBAN_HEAD),
        json={
            "question": question,
            "answer": "可拨打12345反映，城管三个工作日内处理。",
            "department": "urban",
            "keywords": ["占道经营", mark],
        },
    )
    assert made.status_code == 201, made.text
    article = made.json()["id"]

    open_as(browser, base, URBAN_HEAD, "kbwrite")
    row = f'#own-articles tr[data-id="{article}"]'
    wait_for(browser, shows(row, "三个工作日内", "草稿"))
    press(browser, f"{row} button.kb-edit")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "article-edit"))
    assert f"修改知识文章：{question}（当前第 1 版）" in form.text
    assert form.find_element(By.NAME, "question").get_attribute("value") == question
    assert form.find_element(By.NAME, "keywords").get_attribute("value") == f"占道经营、{mark}"
    fill(form.find_element(By.NAME, "answer"), "可拨打12345或在“城管通”上传照片，城管两小时内到场处置。")
    framed(browser, "#article-edit", "24-kb-article-edit")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#article-saved", f"已保存修改：{question}（第 2 版"))
    wait_for(browser, shows(f'#own-articles tr[data-id="{article}"]', "城管两小时内到场处置", "草稿"))
    assert "三个工作日内" not in text_of(browser, f'#own-articles tr[data-id="{article}"]')
    assert not browser.find_elements(By.ID, "article-edit")
    read = http.get(f"{base}/v1/kb/articles/{article}", headers=bearer(URBAN_HEAD)).json()
    assert read["version"] == 2 and "两小时内到场" in read["answer"]
    no_errors(browser)


def test_an_agent_reads_the_full_text_and_the_admin_reads_the_audit(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    rid = console.submit_request(
        http,
        base,
        content="我家门口的窨井盖松动了，有事请打我另一个电话13912345678",
        requester={"name": "钱先生", "phone": "13900139001"},
    )
    open_as(browser, base, AGENT, f"case/{rid}")
    wait_for(browser, shows("#case-content", "窨井盖松动"))
    assert "13912345678" not in text_of(browser, "#case-content")  # masked as staff see it
    form = action(browser, "fulltext")
    assert "查看原因" in form.text
    form.find_element(By.NAME, "purpose").send_keys("核实诉求人留的电话")
    tap(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(browser, shows("#case-full-text", "原文（本次查看已留痕）", "13912345678"))
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="fulltext"]')
    framed(browser, "#case-full-text", "25-agent-full-text")
    no_errors(browser)

    # The admin reads who read it, when and why.
    open_as(browser, base, ADMIN, "admin")
    filters = wait_for(browser, lambda d: d.find_element(By.ID, "reads-filters"))
    filters.find_element(By.NAME, "request_id").send_keys(rid)
    tap(browser, filters.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    read = f'#reads tr[data-request="{rid}"]'  # the list re-renders: read it by its selector
    wait_for(browser, shows(read, "agent-007", "坐席", "诉求原文", "核实诉求人留的电话"))
    assert HUMAN_TIME.search(text_of(browser, read)), text_of(browser, read)
    assert "个人信息查看记录" in text_of(browser, "main")
    framed(browser, "#reads", "26-admin-personal-data-reads")
    no_errors(browser)


def _rated_complaint(http: httpx.Client, base: str, services: Platform) -> str:
    """A complaint handled, fed back and rated (a return visit owed: it stays 已评价)."""
    rid = rated_complaint(
        http,
        base,
        services,
        content="投诉小区旁边的烧烤店每晚油烟直排，熏得没法开窗",
        topic="污染",
        requester={"name": "孙女士", "phone": "13700137888"},
        reply="已责令烧烤店安装油烟净化设施。",
    )
    until(
        lambda: http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)),
        lambda r: r.is_success and r.json()["state"] == "rated",
    )
    return rid


def test_an_agent_closes_a_rated_request_from_its_case_page(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    rid = _rated_complaint(http, base, services)
    # A handler is not offered 归档 (agents, supervisors and admins close).
    open_as(browser, base, ENV_HANDLER, f"case/{rid}")
    wait_for(browser, shows("#case-state", "已评价"))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#actions *"))
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="close"]')

    open_as(browser, base, AGENT, f"case/{rid}")
    wait_for(browser, shows("#case-state", "已评价"))
    form = action(browser, "close")
    assert form.find_element(By.NAME, "reason").get_attribute("value") == "办结归档"
    fill(form.find_element(By.NAME, "reason"), "已办结并回访确认，归档")
    tap(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(browser, shows("#case-closed", f"诉求 {rid[:8]} 已归档"))
    wait_for(browser, shows("#case-state", "已归档"))
    wait_for(browser, shows("#timeline", "归档", "已办结并回访确认，归档"), timeout=60)
    framed(browser, "#case-closed", "27-agent-close")
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="close"]')
    assert http.get(f"{base}/v1/requests/{rid}", headers=bearer(AGENT)).json()["state"] == "closed"
    no_errors(browser)


def test_the_person_rates_the_window_clerk_who_served_them(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    made = http.post(
        f"{base}/v1/requests",
        headers=bearer(WINDOW_CLERK),
        json={
            "channel": "window",
            "content": "来窗口咨询灵活就业人员社保补贴怎么申请",
            "category": "consultation",
            "requester": {"name": "周先生", "phone": "13800138456"},
        },
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    clerk = http.get(f"{services.urls['routing']}/v1/staff/window-01", headers=bearer(AGENT)).json()["name"]
    head = bearer(issue_staff_token("head-service", "dept_head", "service_center"))
    rectifications = f"{services.urls['followup']}/v1/rectifications"

    def clerks_tasks(answer: httpx.Response) -> int:
        return sum(1 for t in answer.json()["items"] if t["staff_id"] == "window-01")

    before = clerks_tasks(http.get(rectifications, headers=head, params={"limit": 500}))

    # The clerk themselves is not offered a rating of their own service.
    open_as(browser, base, WINDOW_CLERK, f"case/{rid}")
    wait_for(browser, shows("#facts", "窗口"))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#actions *"))
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="staffrate"]')

    # At the service desk, the person rates the clerk's service.
    open_as(browser, base, AGENT, f"case/{rid}")
    form = action(browser, "staffrate")
    assert f"办理人：{clerk}（window-01）" in form.text
    assert "政策解释不清楚" in form.text and "态度热情" in form.text and "让我多次跑腿" in form.text
    levels = [o.text for o in Select(form.find_element(By.NAME, "level")).options]
    assert levels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"], levels
    Select(form.find_element(By.NAME, "level")).select_by_visible_text("不满意")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'input[data-group="reasons"][value="unclear"]'))
    tap(browser, form.find_element(By.CSS_SELECTOR, 'input[data-group="reasons"][value="repeated_trips"]'))
    form.find_element(By.NAME, "comment").send_keys("材料清单说了两遍才明白")
    framed(browser, 'details[data-action="staffrate"]', "28-window-staff-rating")
    tap(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    said = wait_for(browser, lambda d: d.find_element(By.ID, "staff-rated"))
    assert f"已记录对 {clerk}（window-01） 的服务评价：不满意" in said.text, said.text
    assert "差评整改期限：" in said.text and HUMAN_TIME.search(said.text)
    assert not browser.find_elements(By.CSS_SELECTOR, 'details[data-action="staffrate"]')
    until(  # the bad rating is the clerk's head's to rectify
        lambda: http.get(rectifications, headers=head, params={"limit": 500}),
        lambda r: r.is_success and clerks_tasks(r) == before + 1,
    )
    no_errors(browser)


def test_an_admin_edits_a_staff_member_and_trains_a_dispatch_model(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    routing = services.urls["routing"]
    member = f"aa-test-{uuid.uuid4().hex[:4]}"  # sorts onto the first pages
    put = http.put(
        f"{routing}/v1/staff/{member}",
        headers=bearer(ADMIN),
        json={"name": "测试 坐席", "role": "agent", "department": None},
    )
    assert put.is_success, put.text
    names = console.department_names(http, services)

    open_as(browser, base, ADMIN, "admin")
    paged_to(browser, "#staff", f'tr[data-staff="{member}"]')
    row = f'#staff tr[data-staff="{member}"]'
    wait_for(browser, shows(row, "测试 坐席", "坐席", "是"))
    press(browser, f"{row} button.edit-staff")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "staff-form"))
    assert "编辑工作人员：测试 坐席" in form.text
    fill(form.find_element(By.NAME, "name"), "测试 城管处理人")
    Select(form.find_element(By.NAME, "role")).select_by_visible_text("承办人")
    Select(form.find_element(By.NAME, "department")).select_by_value("urban")
    framed(browser, "#staff-form", "29-admin-staff-edit")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#staff-saved", "已保存工作人员：测试 城管处理人（承办人）"))
    paged_to(browser, "#staff", f'tr[data-staff="{member}"]')
    wait_for(browser, shows(row, "测试 城管处理人", "承办人", names["urban"]))
    saved = http.get(f"{routing}/v1/staff/{member}", headers=bearer(ADMIN)).json()
    assert saved["role"] == "handler" and saved["department"] == "urban"

    # The dispatch models: each version with when and by whom it was trained; train one now.
    models = http.get(f"{routing}/v1/dispatch-models", headers=bearer(ADMIN)).json()["items"]
    newest = models[0]["version"] if models else 0
    if models:
        wait_for(browser, shows(f'#models tr[data-version="{newest}"]', f"第 {newest} 版", "（使用中）"))
        assert HUMAN_TIME.search(text_of(browser, f'#models tr[data-version="{newest}"]'))
    assert "训练时间" in text_of(browser, "#models") or not models
    press(browser, "button.train-model")
    wait_for(browser, shows("#training", "已开始训练新模型"))

    def trained(d: WebDriver) -> bool:
        if not d.find_elements(By.CSS_SELECTOR, f'#models tr[data-version="{newest + 1}"]'):
            d.refresh()
            wait_for(d, lambda d2: d2.find_elements(By.CSS_SELECTOR, "#models table, #models p"))
            return False
        return True

    wait_for(browser, trained, timeout=120)
    row_text = text_of(browser, f'#models tr[data-version="{newest + 1}"]')
    assert f"第 {newest + 1} 版" in row_text and "（使用中）" in row_text and "admin-01" in row_text
    assert HUMAN_TIME.search(row_text), row_text
    if models:
        assert "（使用中）" not in text_of(browser, f'#models tr[data-version="{newest}"]')
    framed(browser, "#models", "30-admin-dispatch-models")
    no_errors(browser)


def test_the_registration_form_suggests_catalogue_matters_and_takes_any_area(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    routing = services.urls["routing"]
    matters = http.get(f"{routing}/v1/matters", headers=bearer(AGENT), params={"limit": 500}).json()["items"]
    rules = http.get(f"{routing}/v1/rules", headers=bearer(AGENT)).json()["items"]
    open_as(browser, base, AGENT, "agent")
    wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    topics = [
        o.get_attribute("value") or "" for o in browser.find_elements(By.CSS_SELECTOR, "#topics option")
    ]
    expected = {re.sub(r"\s*[(（].*[)）]\s*$", "", m["name"]) for m in matters if m["active"]}
    assert topics and set(topics) == expected, (topics, expected)
    areas = [o.get_attribute("value") or "" for o in browser.find_elements(By.CSS_SELECTOR, "#areas option")]
    assert set(areas) == {a for r in rules for a in (r["match"].get("area") or [])}
    form = browser.find_element(By.ID, "new-request")
    assert form.find_element(By.NAME, "topic").get_attribute("list") == "topics"
    assert form.find_element(By.NAME, "area").get_attribute("list") == "areas"
    form.find_element(By.NAME, "phone").send_keys("13600136321")
    form.find_element(By.NAME, "content").send_keys("新开发区这边的路灯晚上全都不亮")
    form.find_element(By.NAME, "topic").send_keys(topics[0])
    form.find_element(By.NAME, "area").send_keys("临港新片区")  # not a suggestion: taken as typed
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    made = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#made .made-id")).text
    full = http.get(
        f"{base}/v1/requests/{made}/text", headers=bearer(AGENT), params={"purpose": "测试核对区域"}
    ).json()
    assert full["area"] == "临港新片区" and full["topic"] == topics[0]
    no_errors(browser)
