"""The administrator's day in the console (headless Chromium against the running platform),
asserting what the admin reads, in Chinese:

- the dispatch catalogue (派单目录): add a matter, edit its keywords and see the new version,
  an edit made from a version someone has since saved over told as a conflict in Chinese,
  retire it;
- a department added (inactive: no ranking counts it) and renamed; a dispatch rule added
  and edited; the SLA policies read in words;
- a channel key created with its secret shown once (gone after a reload), then revoked — and
  intake refuses it;
- a State Council notice's day entered through the calendar and listed with its weekday;
- a department head's knowledge-base article approved, another rejected with a reason;
- the agent's "my requests" with the department holding each and its working-time due times.
"""

from __future__ import annotations

import re
import uuid

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from shared.auth import issue_staff_token
from tests.e2e import test_console as console
from tests.e2e.conftest import Platform
from tests.e2e.test_console import (
    ADMIN,
    AGENT,
    HUMAN_TIME,
    bearer,
    no_errors,
    open_as,
    shot,
    shows,
    text_of,
    toast_says,
    wait_for,
)

# The browser, the HTTP client and the platform's base address: test_console's fixtures.
browser, http, base = console.browser, console.http, console.base

URBAN_HEAD = issue_staff_token("head-urban", "dept_head", "urban")


names = console.department_names


def tap(driver: WebDriver, element: WebElement) -> None:
    """Click an element scrolled to the middle of the window (not under the sticky header)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def press(driver: WebDriver, css: str) -> None:
    tap(driver, driver.find_element(By.CSS_SELECTOR, css))


def fill(field: object, text: str) -> None:
    field.clear()  # type: ignore[attr-defined]
    field.send_keys(text)  # type: ignore[attr-defined]


def test_an_admin_adds_edits_and_retires_a_matter_with_its_versions(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    dept = names(http, services)
    code = f"test.drone_{uuid.uuid4().hex[:6]}"
    open_as(browser, base, ADMIN, "matters")
    wait_for(browser, shows("#matters", "第 1 版", dept["urban"]))
    assert "派单目录" in text_of(browser, "#nav")

    # Add: the same form as an edit, with the code.
    tap(browser, browser.find_element(By.CSS_SELECTOR, "button.new-matter"))
    form = wait_for(browser, lambda d: d.find_element(By.ID, "matter-form"))
    form.find_element(By.NAME, "code").send_keys(code)
    form.find_element(By.NAME, "name").send_keys("无人机扰民")
    Select(form.find_element(By.NAME, "category")).select_by_value("complaint")
    Select(form.find_element(By.NAME, "lead_department")).select_by_value("public_security")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'input[data-group="co_departments"][value="urban"]'))
    form.find_element(By.NAME, "keywords").send_keys("无人机、航拍")
    form.find_element(By.NAME, "examples").send_keys("小区上空老有无人机飞来飞去\n无人机半夜在窗外拍照")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#matter-saved", "已新增：无人机扰民（第 1 版）"))
    wait_for(browser, shows("#matter-editor", f"编辑事项 {code}（当前第 1 版）"))
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#matters tr[data-code="{code}"]'))
    assert "无人机扰民" in row.text and dept["public_security"] in row.text and dept["urban"] in row.text
    assert "第 1 版" in row.text and "使用中" in row.text and "投诉" in row.text

    # Edit the keywords (a synonym added): version 2, in the list and in the history.
    form = browser.find_element(By.ID, "matter-form")
    assert form.find_element(By.NAME, "keywords").get_attribute("value") == "无人机、航拍"
    fill(form.find_element(By.NAME, "keywords"), "无人机、航拍、飞行器")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#matter-saved", "已保存：无人机扰民（第 2 版）"))
    wait_for(browser, shows(f'#matters tr[data-code="{code}"]', "第 2 版", "飞行器"))
    wait_for(browser, shows("#matter-editor", "当前第 2 版"))
    tap(browser, browser.find_element(By.CSS_SELECTOR, "#matter-editor details.history summary"))
    wait_for(browser, shows("#matter-editor details.history", "第 2 版", "修改", "新增", "admin-01"))
    shot(browser, "16-admin-matters")

    # Someone else saves in between: this editor's save is refused, told in Chinese.
    matter = http.get(f"{services.urls['routing']}/v1/matters/{code}", headers=bearer(ADMIN)).json()
    editable = ("name", "description", "lead_department", "co_departments", "category", "urgent", "keywords")
    other = {k: matter[k] for k in editable} | {"examples": matter["examples"], "description": "他人修改"}
    assert http.put(
        f"{services.urls['routing']}/v1/matters/{code}", headers=bearer(ADMIN), json=other
    ).is_success
    form = browser.find_element(By.ID, "matter-form")
    fill(form.find_element(By.NAME, "keywords"), "无人机")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, toast_says("操作冲突（409）", "已被他人修改"))
    assert http.get(f"{services.urls['routing']}/v1/matters/{code}", headers=bearer(ADMIN)).json()[
        "keywords"
    ] == ["无人机", "航拍", "飞行器"]

    # Retire: asked once more, then version 4 and 已下线 (shown with the retired ones).
    tap(browser, browser.find_element(By.CSS_SELECTOR, f'#matters tr[data-code="{code}"] button.edit-matter'))
    wait_for(browser, shows("#matter-editor", "当前第 3 版"))
    press(browser, "button.retire-matter")
    wait_for(browser, shows("button.retire-matter", "确认下线"))
    press(browser, "button.retire-matter")
    wait_for(browser, shows("#matter-saved", "已下线：无人机扰民（第 4 版）"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#matters tr[data-code="{code}"]'))
    tap(browser, browser.find_element(By.CSS_SELECTOR, '#matter-filters input[name="include_retired"]'))
    tap(browser, browser.find_element(By.CSS_SELECTOR, '#matter-filters button[type="submit"]'))
    wait_for(browser, shows(f'#matters tr[data-code="{code}"]', "已下线", "第 4 版"))
    # English second: the same page in the other language.
    tap(browser, browser.find_element(By.ID, "lang"))
    wait_for(browser, shows("#main h2", "Dispatch catalogue"))
    wait_for(browser, shows("#matters", "Version", "In use", "Edit"))
    tap(browser, browser.find_element(By.ID, "lang"))
    wait_for(browser, shows("#main h2", "派单目录"))
    no_errors(browser)


def test_an_admin_adds_a_department_and_a_dispatch_rule_and_reads_the_sla_policies(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    dept = names(http, services)
    rule_id = f"test-rule-{uuid.uuid4().hex[:6]}"
    word = f"测试专用词{uuid.uuid4().hex[:4]}"
    open_as(browser, base, ADMIN, "admin")
    wait_for(browser, shows("#policies", "签收", "个工作日"))
    tap(browser, browser.find_element(By.CSS_SELECTOR, "button.new-rule"))
    form = wait_for(browser, lambda d: d.find_element(By.ID, "rule-form"))
    form.find_element(By.NAME, "id").send_keys(rule_id)
    fill(form.find_element(By.NAME, "priority"), "90000")
    Select(form.find_element(By.NAME, "lead_department")).select_by_value("urban")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'input[data-group="category"][value="complaint"]'))
    form.find_element(By.NAME, "keywords").send_keys(word)
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#rule-saved", f"已保存派单规则 {rule_id}"))
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#rules tr[data-id="{rule_id}"]'))
    assert f"类别：投诉；关键词：{word}" in row.text and dept["urban"] in row.text, row.text
    # Edited: the same editor, the id kept.
    tap(browser, row.find_element(By.CSS_SELECTOR, "button.edit-rule"))
    form = wait_for(browser, lambda d: d.find_element(By.ID, "rule-form"))
    assert form.find_element(By.NAME, "id").get_attribute("readonly") is not None
    tap(
        browser, form.find_element(By.CSS_SELECTOR, 'input[data-group="co_departments"][value="environment"]')
    )
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows(f'#rules tr[data-id="{rule_id}"]', dept["environment"]))
    rules = http.get(f"{services.urls['routing']}/v1/rules", headers=bearer(ADMIN)).json()["items"]
    saved = next(r for r in rules if r["id"] == rule_id)
    assert saved["co_departments"] == ["environment"] and saved["match"]["keywords"] == [word]

    # A department: added inactive, then renamed; the name reads at once by its code.
    code = f"test_office_{uuid.uuid4().hex[:4]}"
    press(browser, "button.new-department")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "department-form"))
    form.find_element(By.NAME, "code").send_keys(code)
    form.find_element(By.NAME, "name").send_keys("测试科 (test office)")
    tap(browser, form.find_element(By.NAME, "active"))  # off: not a department that is ranked
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#department-saved", "已保存单位：测试科"))
    wait_for(browser, shows(f'#departments tr[data-code="{code}"]', "测试科", "否"))
    press(browser, f'#departments tr[data-code="{code}"] button.edit-department')
    form = wait_for(browser, lambda d: d.find_element(By.ID, "department-form"))
    assert "编辑单位：测试科" in form.text
    fill(form.find_element(By.NAME, "name"), "测试二科 (second test office)")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows(f'#departments tr[data-code="{code}"]', "测试二科"))
    assert "second test office" not in text_of(browser, f'#departments tr[data-code="{code}"]')
    no_errors(browser)


def test_an_admin_creates_a_channel_key_sees_it_once_and_revokes_it(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    label = f"微信公众号-{uuid.uuid4().hex[:4]}"
    open_as(browser, base, ADMIN, "admin")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "new-key"))
    Select(form.find_element(By.NAME, "channel")).select_by_value("wechat")
    form.find_element(By.NAME, "label").send_keys(label)
    tap(browser, form.find_element(By.TAG_NAME, "button"))
    wait_for(browser, shows("#key-secret", "新密钥（只显示一次）", "只显示这一次"))
    secret = browser.find_element(By.CSS_SELECTOR, "#key-secret code.secret").text
    assert secret.startswith("sk_wechat_"), secret
    assert http.get(f"{base}/v1/channel-keys/whoami", headers={"X-API-Key": secret}).is_success
    row = wait_for(
        browser,
        lambda d: next(
            (r for r in d.find_elements(By.CSS_SELECTOR, "#keys tbody tr") if label in r.text), None
        ),
    )
    assert "微信" in row.text and "有效" in row.text
    key_id = row.get_attribute("data-id")
    assert key_id and secret not in row.text
    # Reloaded: the secret is nowhere on the page any more.
    open_as(browser, base, ADMIN, "admin")
    wait_for(browser, shows("#keys", label))
    assert secret not in browser.find_element(By.TAG_NAME, "body").text
    tap(browser, browser.find_element(By.CSS_SELECTOR, f'#keys tr[data-id="{key_id}"] button.revoke'))
    wait_for(browser, shows("#key-revoked", f"已吊销密钥 {key_id}"))
    wait_for(browser, shows(f'#keys tr[data-id="{key_id}"]', "已吊销"))
    assert not browser.find_elements(By.CSS_SELECTOR, f'#keys tr[data-id="{key_id}"] button.revoke')
    refused = http.get(f"{base}/v1/channel-keys/whoami", headers={"X-API-Key": secret})
    assert refused.status_code == 401, refused.text
    no_errors(browser)


def test_an_admin_enters_a_state_council_notice_and_sees_its_days(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    open_as(browser, base, ADMIN, "admin")
    wait_for(browser, shows("#calendar-years", "来源"))
    tap(browser, browser.find_element(By.CSS_SELECTOR, 'details[data-action="notice"] summary'))
    form = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'form[data-action="notice"]'))
    year = int(Select(form.find_element(By.NAME, "year")).first_selected_option.get_attribute("value"))
    holidays = form.find_element(By.NAME, "holidays")
    seeded = holidays.get_attribute("value")
    assert f"{year}-01-01" in seeded, seeded  # the year's days as routing has them, as ranges
    form.find_element(By.NAME, "notice").send_keys(f"国务院办公厅关于{year}年部分节假日安排的通知（测试）")
    holidays.send_keys(f"\n{year}-12-30~{year}-12-31")
    form.find_element(By.NAME, "workdays").send_keys(f"\n{year}-12-26")
    tap(browser, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))
    wait_for(browser, shows("#notice-entered", f"已录入 {year} 年节假日安排", "已重新计算"))
    wait_for(browser, shows("#calendar-year .days-off", f"{year}年12月31日（星期"))
    wait_for(browser, shows("#calendar-year .make-up-days", f"{year}年12月26日（星期"))
    assert "国务院办公厅通知" in text_of(browser, "#calendar-year")
    assert f"{year} 年工作日历为暂定" not in text_of(browser, "#calendar-banner")
    shot(browser, "17-admin-calendar-notice")
    entered = http.get(f"{services.urls['routing']}/v1/calendar/years/{year}", headers=bearer(ADMIN)).json()
    assert entered["provisional"] is False and f"{year}-12-31" in entered["days_off"]
    assert f"{year}-12-26" in entered["make_up_days"]
    no_errors(browser)


def test_an_admin_approves_one_article_and_rejects_another_with_a_reason(
    base: str, browser: WebDriver, http: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:4]
    made = []
    for question in (f"共享单车乱停放找谁处理（{tag}）", f"夜间施工许可怎么查（{tag}）"):
        article = http.post(
            f"{base}/v1/kb/articles",
            headers=bearer(URBAN_HEAD),
            json={
                "question": question,
                "answer": "可拨打 12345 反映，由城市管理局处理。",
                "department": "urban",
            },
        )
        assert article.status_code == 201, article.text
        aid = article.json()["id"]
        assert http.post(
            f"{base}/v1/kb/articles/{aid}/submit", headers=bearer(URBAN_HEAD), json={}
        ).is_success
        made.append((aid, question))
    (approve_id, approve_q), (reject_id, reject_q) = made
    open_as(browser, base, ADMIN, "kb")
    row = wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#articles tr[data-id="{approve_id}"]')
    )
    assert "知识文章" in row.text and "待审批" in row.text and "城市管理局" in row.text
    tap(browser, row.find_element(By.CSS_SELECTOR, "button.kb-approve"))
    wait_for(browser, shows("#kb-decided", f"已同意发布：{approve_q}"))
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#articles tr[data-id="{approve_id}"]'))
    published = http.get(f"{base}/v1/kb/articles/{approve_id}", headers=bearer(ADMIN)).json()
    assert published["status"] == "published"

    row = browser.find_element(By.CSS_SELECTOR, f'#articles tr[data-id="{reject_id}"]')
    tap(browser, row.find_element(By.CSS_SELECTOR, 'details[data-action="kb-reject"] summary'))
    row.find_element(By.NAME, "note").send_keys("答复内容需注明办理时限")
    tap(browser, row.find_element(By.CSS_SELECTOR, 'form[data-action="kb-reject"] button[type="submit"]'))
    wait_for(browser, shows("#kb-decided", f"已驳回：{reject_q}"))
    rejected = http.get(f"{base}/v1/kb/articles/{reject_id}", headers=bearer(ADMIN)).json()
    assert rejected["status"] == "draft", rejected  # back to its department with the note
    no_errors(browser)


def test_an_agents_requests_show_the_department_holding_each_and_its_due_times(
    base: str, browser: WebDriver, http: httpx.Client, services: Platform
) -> None:
    rid, routed = console.agents_routed_request(
        http, base, "楼下餐馆油烟直排，窗户都不敢开", "油烟", "13800138666"
    )
    lead = names(http, services)[routed["lead_department"]]
    open_as(browser, base, AGENT, "mine")
    wait_for(browser, shows("#mine thead", "当前承办单位", "办理时限"))
    row = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"]'))
    wait_for(browser, shows(f'#mine tr[data-id="{rid}"]', "签收", "办结", "到期"))
    row = browser.find_element(By.CSS_SELECTOR, f'#mine tr[data-id="{rid}"]')
    assert lead in row.text and "已派单" in row.text
    clocks = row.find_elements(By.CSS_SELECTOR, ".countdown")
    assert len(clocks) == 2 and all("working" in c.get_attribute("class") for c in clocks), row.text
    assert re.search(r"(剩余|已超时) \d", row.text) and "自然时间" not in row.text, row.text
    assert HUMAN_TIME.search(row.text), row.text
    no_errors(browser)
