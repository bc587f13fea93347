"""Staff-level evaluation across the running services: a rating of the staff member who
served the person, the rectification a bad one opens (due on the business calendar), its
outcome told to the person, and the member's KPIs, visible only to the right people."""

from __future__ import annotations

import uuid

import httpx

from shared.clock import now
from tests.e2e.conftest import Platform
from tests.e2e.test_happy_path import bearer, until

AGENT = bearer("agent-001", "agent")
OTHER_AGENT = bearer("agent-002", "agent")
HEAD_SERVICE = bearer("head-service", "dept_head", "service_center")
HEAD_URBAN = bearer("head-urban", "dept_head", "urban")
SUPERVISOR = bearer("supervisor-01", "supervisor")
HOTLINE = {"X-API-Key": "dev-hotline-key"}
WINDOW = {"X-API-Key": "dev-window-key"}


async def test_a_bad_rating_is_rectified_on_the_calendar_and_counts_in_the_staff_kpis(
    services: Platform,
) -> None:
    u = services.urls
    period = now().strftime("%Y-%m")
    async with httpx.AsyncClient(timeout=15) as http:
        # The agent takes a consultation and answers it on the spot from the knowledge base.
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "hotline",
                "content": "请问社保卡丢了怎么补办",
                "requester": {"phone": "13800007777"},
            },
        )
        rid = submitted.json()["id"]
        assert submitted.json()["suggested_articles"][0]["id"] == "kb-social-card"
        await http.post(
            f"{u['intake']}/v1/requests/{rid}/answer",
            headers=AGENT,
            json={"answer": "拨打 12333 挂失后到银行网点补办", "article_id": "kb-social-card"},
        )

        # The person rates the agent's service badly; then a window visitor rates the window badly.
        call = f"call-{uuid.uuid4().hex[:8]}"
        bad = {
            "staff_id": "agent-001",
            "service_ref": call,
            "channel": "hotline",
            "level": "unsatisfied",
            "reasons": ["unclear", "slow"],
            "comment": "解释得不清楚",
            "request_id": rid,
        }
        assert (
            await http.post(f"{u['followup']}/v1/staff-ratings", headers=AGENT, json=bad)
        ).status_code == 403
        unknown = await http.post(
            f"{u['followup']}/v1/staff-ratings", headers=HOTLINE, json={**bad, "reasons": ["rude-ish"]}
        )
        assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "reasons"
        nobody = await http.post(
            f"{u['followup']}/v1/staff-ratings", headers=HOTLINE, json={**bad, "staff_id": "nobody"}
        )
        assert nobody.status_code == 422 and nobody.json()["error"]["fields"][0]["field"] == "staff_id"
        rated = await http.post(f"{u['followup']}/v1/staff-ratings", headers=HOTLINE, json=bad)
        assert rated.status_code == 201, rated.text
        assert rated.json()["department"] == "service_center"
        again = await http.post(f"{u['followup']}/v1/staff-ratings", headers=HOTLINE, json=bad)
        assert again.status_code == 409  # one rating per service event

        # The rectification is due N working days later, as routing's calendar counts them.
        due = await http.post(
            f"{u['routing']}/v1/calendar/due",
            headers=SUPERVISOR,
            json={"start": rated.json()["rated_at"], "amount": 5, "unit": "working_days"},
        )
        assert rated.json()["rectification_due"] == due.json()["due"]

        window = await http.post(
            f"{u['followup']}/v1/staff-ratings",
            headers=WINDOW,
            json={
                "staff_id": "agent-001",
                "service_ref": f"ticket-{uuid.uuid4().hex[:8]}",
                "channel": "window",
                "level": "very_unsatisfied",
                "anonymous": True,
            },
        )
        good = await http.post(
            f"{u['followup']}/v1/staff-ratings",
            headers=WINDOW,
            json={
                "staff_id": "agent-001",
                "service_ref": f"ticket-{uuid.uuid4().hex[:8]}",
                "channel": "window",
                "level": "very_satisfied",
                "reasons": ["friendly"],
            },
        )
        assert window.status_code == 201 and good.json()["rectification_due"] is None

        # The head of the member's department sees and decides the tasks; others do not.
        mine = (await http.get(f"{u['followup']}/v1/rectifications", headers=HEAD_SERVICE)).json()["items"]
        tasks = {t["rating_id"]: t for t in mine}
        assert {rated.json()["id"], window.json()["id"]} <= set(tasks)
        urban = (await http.get(f"{u['followup']}/v1/rectifications", headers=HEAD_URBAN)).json()["items"]
        assert rated.json()["id"] not in {t["rating_id"] for t in urban}
        first = tasks[rated.json()["id"]]["id"]
        assert (
            await http.post(
                f"{u['followup']}/v1/rectifications/{first}/outcome",
                headers=HEAD_URBAN,
                json={"outcome": "rectified", "note": "x"},
            )
        ).status_code == 404
        decided = await http.post(
            f"{u['followup']}/v1/rectifications/{first}/outcome",
            headers=HEAD_SERVICE,
            json={"outcome": "rectified", "note": "已组织业务培训，重新向当事人解释"},
        )
        assert decided.json()["person_told"] is True and decided.json()["on_time"] is True
        twice = await http.post(
            f"{u['followup']}/v1/rectifications/{first}/outcome",
            headers=HEAD_SERVICE,
            json={"outcome": "disputed", "note": "again"},
        )
        assert twice.status_code == 409
        second = tasks[window.json()["id"]]["id"]
        disputed = await http.post(
            f"{u['followup']}/v1/rectifications/{second}/outcome",
            headers=HEAD_SERVICE,
            json={"outcome": "disputed", "note": "当时系统故障，与工作人员无关"},
        )
        assert disputed.json()["person_told"] is False  # anonymous: nobody to tell

        # The member's KPIs: the member, their head and supervisors see them; nobody else.
        url = f"{u['kpi']}/v1/staff/agent-001/kpis?period={period}"
        figures = await until(
            lambda: http.get(url, headers=AGENT),
            lambda r: (
                r.status_code == 200
                and r.json()["bad_ratings"]["rectifications_decided"] == 2
                and r.json()["first_contact_resolutions"]["total"] >= 1
            ),
        )
        body = figures.json()
        assert body["department"] == "service_center"
        assert body["received_as_first_responder"] >= 1
        assert body["first_contact_resolutions"]["with_article"] >= 1
        assert body["service_ratings"]["total"] == 3
        assert body["service_ratings"]["satisfaction"]["numerator"] == 1
        assert body["bad_ratings"] == {
            "total": 2,
            "counted": 1,
            "disputed": 1,
            "rectifications_decided": 2,
            "rectified_on_time": {"numerator": 2, "denominator": 2, "rate": 1.0},
            "open": 0,
        }
        assert (await http.get(url, headers=HEAD_SERVICE)).status_code == 200
        assert (await http.get(url, headers=SUPERVISOR)).status_code == 200
        assert (await http.get(url, headers=OTHER_AGENT)).status_code == 403
        assert (await http.get(url, headers=HEAD_URBAN)).status_code == 403

        # Self-evaluation and the superior's, kept beside the figures.
        evaluations = f"{u['kpi']}/v1/staff/agent-001/evaluations/{period}"
        assert (
            await http.put(f"{evaluations}/superior", headers=AGENT, json={"score": 99, "text": "great"})
        ).status_code == 403
        assert (
            await http.put(f"{evaluations}/self", headers=OTHER_AGENT, json={"score": 99, "text": "x"})
        ).status_code == 403
        bad_score = await http.put(f"{evaluations}/self", headers=AGENT, json={"score": 120, "text": "x"})
        assert bad_score.status_code == 422 and bad_score.json()["error"]["fields"][0]["field"] == "score"
        await http.put(f"{evaluations}/self", headers=AGENT, json={"score": 85, "text": "本月加强了政策学习"})
        await http.put(
            f"{evaluations}/superior", headers=HEAD_SERVICE, json={"score": 80, "text": "解释需更耐心"}
        )
        shown = (await http.get(url, headers=HEAD_SERVICE)).json()["evaluations"]
        assert shown["self"]["score"] == 85 and shown["superior"]["by"] == "head-service"
