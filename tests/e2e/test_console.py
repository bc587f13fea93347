"""The staff console in headless Chromium against the running platform: an agent submits a
request, the department sees it in its queue, accepts and resolves it, the case page shows
the timeline, and the KPI page's figures move. With SCREENSHOTS=1 (`make screenshots`) each
page is saved to docs/screenshots/."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from shared.auth import issue_staff_token
from tests.e2e.conftest import Platform

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 30) -> Any:
    # Tables re-render after every action: an element found a moment ago may be gone.
    ignored = (StaleElementReferenceException, NoAlertPresentException)
    return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=ignored).until(condition)


def sign_in(driver: WebDriver, base: str, token: str) -> None:
    driver.get(f"{base}/console/")
    driver.execute_script("localStorage.clear(); localStorage.setItem('console.lang', 'zh');")
    driver.get(f"{base}/console/")
    box = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#signin textarea"))
    box.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#signin button").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "who").text != "")


def shot(driver: WebDriver, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        time.sleep(0.5)  # let the last request's table render
        driver.save_screenshot(str(SHOTS / f"{name}.png"))


def resolved_count(driver: WebDriver, department: str) -> int | None:
    cells = driver.find_elements(By.CSS_SELECTOR, f'[data-count="{department}.resolved"]')
    return int(cells[0].text) if cells else None


def test_submit_queue_accept_resolve_and_see_the_kpi_move(services: Platform, browser: WebDriver) -> None:
    base = services.urls["intake"]
    supervisor = issue_staff_token("supervisor-01", "supervisor")

    if os.environ.get("SCREENSHOTS"):  # fuller pages for the pictures: a minute of a hotline's day
        from bench.loadgen import LoadGenerator

        asyncio.run(LoadGenerator(base, seed=3).run(4, 15))
    # The KPI page before: how many requests has the urban department resolved this month?

    sign_in(browser, base, supervisor)
    browser.get(f"{base}/console/#/kpi")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#volumes table, #volumes p"))
    before = resolved_count(browser, "urban") or 0

    # An agent takes a call and submits it from the intake form.
    sign_in(browser, base, issue_staff_token("agent-001", "agent"))
    browser.get(f"{base}/console/#/intake")
    form = wait_for(browser, lambda d: d.find_element(By.ID, "new-request"))
    form.find_element(By.NAME, "content").send_keys("幸福路的路灯坏了一个星期，晚上很黑，请尽快维修")
    form.find_element(By.NAME, "name").send_keys("张三")
    form.find_element(By.NAME, "phone").send_keys("13812340000")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    made = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#made strong"))
    request_id = made.text
    wait_for(browser, lambda d: request_id[:8] in d.find_element(By.ID, "mine").text)
    shot(browser, "1-intake")

    # The urban department sees it in its queue, accepts it and resolves it.
    sign_in(browser, base, issue_staff_token("handler-urban-01", "handler", "urban"))

    def queue_row(d: WebDriver) -> Any:
        d.get(f"{base}/console/#/queue")
        d.refresh()
        rows = [r for r in d.find_elements(By.CSS_SELECTOR, "#cases tr") if request_id[:8] in r.text]
        return rows[0] if rows else False

    row = wait_for(browser, queue_row, timeout=45)
    shot(browser, "2-queue")
    row.find_element(By.CSS_SELECTOR, "button.accept").click()
    resolve = wait_for(
        browser,
        lambda d: [
            b
            for r in d.find_elements(By.CSS_SELECTOR, "#cases tr")
            if request_id[:8] in r.text
            for b in r.find_elements(By.CSS_SELECTOR, "button.resolve")
        ],
    )[0]
    resolve.click()
    alert = wait_for(browser, lambda d: d.switch_to.alert)
    alert.send_keys("已更换灯泡，恢复照明")
    alert.accept()
    wait_for(
        browser,
        lambda d: (
            "已办结" in d.find_element(By.ID, "toast").text
            or "Resolved" in d.find_element(By.ID, "toast").text
        ),
    )

    # The case page shows every event so far, in order.
    def timeline_resolved(d: WebDriver) -> bool:
        d.get(f"{base}/console/#/case/{request_id}")
        d.refresh()  # the KPI service may not have folded the last event yet
        wait_for(d, lambda d2: d2.find_elements(By.CSS_SELECTOR, "#timeline li"))
        return "request.resolved" in d.find_element(By.ID, "timeline").text

    wait_for(browser, timeline_resolved, timeout=30)
    timeline = browser.find_element(By.ID, "timeline").text
    for step in ("request.received", "request.routed", "request.accepted", "request.resolved"):
        assert step in timeline
    assert "13812340000" not in browser.page_source  # masked everywhere staff look
    shot(browser, "3-case")

    # The supervisor's KPI page: the urban department has resolved one more.
    sign_in(browser, base, supervisor)

    def moved(d: WebDriver) -> bool:
        d.get(f"{base}/console/#/kpi")
        d.refresh()
        wait_for(d, lambda d2: d2.find_elements(By.CSS_SELECTOR, "#volumes table"))
        return (resolved_count(d, "urban") or 0) == before + 1

    wait_for(browser, moved, timeout=45)
    assert "urban" in browser.find_element(By.ID, "ranking").text
    shot(browser, "5-kpi")
    browser.get(f"{base}/console/#/overdue")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#board table, #board p"))
    shot(browser, "4-overdue")

    # English labels too.
    browser.find_element(By.ID, "lang").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "signout").text == "Sign out")
    with httpx.Client() as http:  # the console is served by the platform, no build step
        assert http.get(f"{base}/console/console.js").status_code == 200
