"""More of a 12345 centre's day in the console (headless Chromium against the running platform),
asserting what the person at the screen reads, in Chinese:

- a window agent adds the materials a person brings back (补充材料) to an incomplete request:
  the case page names the business type and every missing material as the catalogue does
  (never a code), says what is still missing after a partial supplement, and once nothing is
  missing the request goes on to its department;
- a department returns a request naming the department it belongs to: the request goes
  there at once and the timeline says where it belonged;
"""

from __future__ import annotations

from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.e2e import test_console as console
from tests.e2e.conftest import Platform
from tests.e2e.test_console import (
    AGENT,
    ENV_HANDLER,
    HUMAN_TIME,
    URBAN_HANDLER,
    action,
    bearer,
    no_errors,
    open_as,
    shot,
    shows,
    text_of,
    toast_says,
    until,
    wait_for,
)

# The browser, the HTTP client and the platform's base address: test_console's fixtures.
browser, http, base = console.browser, console.http, console.base


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
