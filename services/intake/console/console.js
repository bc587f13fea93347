// The staff console: plain JavaScript, no build step. It calls each service's API with the
// staff token the user signs in with; what a role may do is still decided by the services.
"use strict";

const I18N = {
  zh: {
    title: "诉求工作台", signout: "退出", signin: "登录", token: "员工令牌（make run 打印的令牌）",
    intake: "受理", queue: "部门待办", overdue: "超期督办", kpi: "考核", "case": "诉求详情",
    newRequest: "登记诉求", channel: "渠道", content: "诉求内容", name: "姓名", phone: "电话",
    submit: "提交", myRequests: "我首问的诉求", id: "编号", state: "状态", category: "类别",
    urgency: "紧急程度", received: "受理时间", lead: "主办部门", suggested: "推荐知识",
    answerWith: "用此条当场答复", answered: "已当场答复", submitted: "已受理，编号",
    accept: "签收", resolve: "办结", reply: "办理结果答复", department: "部门", due: "办结期限",
    actions: "操作", urgent: "紧急", overdueTag: "已超期", atRisk: "临近超期", noRows: "暂无",
    timeline: "办理过程", clock: "时限", dueAt: "到期", supervise: "督办", instructions: "督办要求",
    sent: "已发出", period: "考核期", ranking: "部门排名", rank: "名次", score: "得分",
    passed: "达标", rates: "各项指标", trend: "得分走势（近六个月）", hotspots: "热点",
    topics: "热点问题", areas: "热点区域", count: "数量", growth: "增长", accepted: "已签收",
    resolved: "已办结", acceptance_timeliness: "签收及时率", on_time_resolution: "按时办结率",
    feedback_timeliness: "反馈及时率", handling_accuracy: "办理准确率", satisfaction: "满意率",
    failed: "操作失败", yes: "是", no: "否", load: "查询", volumes: "办理量", routed: "派单",
    feedback_given: "已反馈", rated: "已评价", overdue_open: "超期未结",
  },
  en: {
    title: "Service requests", signout: "Sign out", signin: "Sign in", token: "Staff token (make run prints them)",
    intake: "Intake", queue: "Queue", overdue: "Overdue", kpi: "KPIs", "case": "Case",
    newRequest: "New request", channel: "Channel", content: "What the person says", name: "Name", phone: "Phone",
    submit: "Submit", myRequests: "My first-responder requests", id: "ID", state: "State", category: "Category",
    urgency: "Urgency", received: "Received", lead: "Lead department", suggested: "Suggested articles",
    answerWith: "Answer on the spot with this", answered: "Answered on the spot", submitted: "Received, id",
    accept: "Accept", resolve: "Resolve", reply: "Reply to the person", department: "Department", due: "Resolve by",
    actions: "Actions", urgent: "urgent", overdueTag: "overdue", atRisk: "at risk", noRows: "Nothing here",
    timeline: "Timeline", clock: "Clock", dueAt: "Due", supervise: "Supervise", instructions: "Instructions",
    sent: "Sent", period: "Period", ranking: "Ranking", rank: "Rank", score: "Score",
    passed: "Passed", rates: "Rates", trend: "Score trend (last six months)", hotspots: "Hot spots",
    topics: "Topics", areas: "Areas", count: "Count", growth: "Growth", accepted: "Accepted",
    resolved: "Resolved", acceptance_timeliness: "Accepted in time", on_time_resolution: "Resolved on time",
    feedback_timeliness: "Feedback in time", handling_accuracy: "Accuracy", satisfaction: "Satisfaction",
    failed: "Failed", yes: "yes", no: "no", load: "Show", volumes: "Volumes", routed: "Routed",
    feedback_given: "Feedback given", rated: "Rated", overdue_open: "Overdue, open",
  },
};

const state = { lang: localStorage.getItem("console.lang") || "zh", token: localStorage.getItem("console.token"), urls: {} };
const t = (key) => I18N[state.lang][key] || key;
const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// The platform's clock: the PC's clock, corrected by how far it was from the server's at start.
const serverNow = () => Date.now() + (state.clockOffset || 0);
const when = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, timeZone: state.timezone }) : "");
const pct = (rate) => (rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`);

function claims() {
  try {
    const part = state.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch (e) {
    return null;
  }
}

function toast(message, error = false) {
  const el = $("#toast");
  el.textContent = message;
  el.className = error ? "error" : "";
  el.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.style.display = "none"), 4000);
}

async function api(service, path, { method = "GET", body } = {}) {
  const response = await fetch(state.urls[service] + path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = data?.error;
    const fields = (error?.fields || []).map((f) => `${f.field}: ${f.message}`).join("; ");
    throw new Error(`${t("failed")} (${response.status}): ${error?.message || data}${fields ? " — " + fields : ""}`);
  }
  return data;
}

function table(columns, rows, rowClass = () => "") {
  if (!rows.length) return `<p class="muted">${t("noRows")}</p>`;
  const head = columns.map(([key]) => `<th>${esc(t(key))}</th>`).join("");
  const body = rows.map((row) => `<tr class="${rowClass(row)}">${columns.map(([, cell]) => `<td>${cell(row)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const caseLink = (id) => `<a href="#/case/${esc(id)}">${esc(id.slice(0, 8))}</a>`;

// --- pages -------------------------------------------------------------------------

const PAGES = {
  async intake(main) {
    main.innerHTML = `
      <h2>${t("intake")}</h2>
      <div class="grid">
        <section class="card">
          <h3>${t("newRequest")}</h3>
          <form id="new-request">
            <label>${t("channel")}<select name="channel"><option value="hotline">12345 热线 hotline</option><option value="window">窗口 window</option></select></label>
            <label>${t("content")}<textarea name="content" required></textarea></label>
            <label>${t("name")}<input name="name"></label>
            <label>${t("phone")}<input name="phone"></label>
            <button class="primary" type="submit">${t("submit")}</button>
          </form>
          <div id="result"></div>
        </section>
        <section class="card"><h3>${t("myRequests")}</h3><div id="mine"></div></section>
      </div>`;
    const showMine = async () => {
      const mine = await api("intake", "/v1/requests?first_responder=me&limit=50");
      $("#mine").innerHTML = table(
        [["id", (r) => caseLink(r.id)], ["state", (r) => esc(r.state)], ["category", (r) => esc(r.category)],
         ["lead", (r) => esc(r.lead_department)], ["received", (r) => when(r.received_at)]],
        mine.items,
        (r) => (r.urgency === "urgent" ? "urgent" : ""),
      );
    };
    $("#new-request").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      const requester = {};
      if (form.get("name")) requester.name = form.get("name");
      if (form.get("phone")) requester.phone = form.get("phone");
      try {
        const made = await api("intake", "/v1/requests", {
          method: "POST",
          body: { channel: form.get("channel"), content: form.get("content"), ...(Object.keys(requester).length ? { requester } : {}) },
        });
        const suggestions = (made.suggested_articles || [])
          .map((a) => `<li>${esc(a.question)} <button class="act answer" data-article="${esc(a.id)}" data-request="${esc(made.id)}">${t("answerWith")}</button></li>`)
          .join("");
        $("#result").innerHTML = `<p id="made">${t("submitted")} <strong>${esc(made.id)}</strong> · ${esc(made.category)} · ${esc(made.urgency)}</p>` +
          (suggestions ? `<h3>${t("suggested")}</h3><ul>${suggestions}</ul>` : "");
        event.target.reset();
        await showMine();
      } catch (e) {
        toast(e.message, true);
      }
    });
    $("#result").addEventListener("click", async (event) => {
      const button = event.target.closest("button.answer");
      if (!button) return;
      try {
        const article = await api("intake", `/v1/kb/articles/${button.dataset.article}`);
        await api("intake", `/v1/requests/${button.dataset.request}/answer`, {
          method: "POST",
          body: { answer: article.answer, article_id: article.id },
        });
        toast(t("answered"));
        await showMine();
      } catch (e) {
        toast(e.message, true);
      }
    });
    await showMine();
  },

  async queue(main) {
    const me = claims();
    main.innerHTML = `<h2>${t("queue")} · ${esc(me.department || "")}</h2><section class="card" id="cases"></section>`;
    const show = async () => {
      const [cases, risky] = await Promise.all([
        api("handling", "/v1/cases?limit=100"),
        api("handling", "/v1/cases?limit=100&at_risk=true"),
      ]);
      const atRisk = new Set(risky.items.map((c) => c.request_id));
      const now = serverNow();
      const isOverdue = (c) => ["resolve", "accept"].some((k) => c.due?.[k] && Date.parse(c.due[k]) < now);
      $("#cases").innerHTML = table(
        [
          ["id", (c) => caseLink(c.request_id)],
          ["urgency", (c) => (c.urgency === "urgent" ? `<span class="badge urgent">${t("urgent")}</span>` : "")],
          ["state", (c) => esc(c.state) + (isOverdue(c) ? ` <span class="badge overdue">${t("overdueTag")}</span>` : atRisk.has(c.request_id) ? ` <span class="badge at-risk">${t("atRisk")}</span>` : "")],
          ["category", (c) => esc(c.category)],
          ["due", (c) => when(c.due?.resolve)],
          ["actions", (c) =>
            (c.state === "routed" ? `<button class="act accept" data-id="${esc(c.request_id)}">${t("accept")}</button>` : "") +
            (["accepted", "in_progress"].includes(c.state) ? `<button class="act resolve" data-id="${esc(c.request_id)}">${t("resolve")}</button>` : "")],
        ],
        cases.items,
        (c) => [c.urgency === "urgent" ? "urgent" : "", isOverdue(c) ? "overdue" : atRisk.has(c.request_id) ? "at-risk" : ""].join(" "),
      );
    };
    $("#cases").addEventListener("click", async (event) => {
      const button = event.target.closest("button.act");
      if (!button) return;
      const id = button.dataset.id;
      try {
        if (button.classList.contains("accept")) {
          await api("handling", `/v1/cases/${id}/accept`, { method: "POST", body: {} });
          toast(t("accepted"));
        } else {
          const reply = prompt(t("reply"), "已处理完毕");
          if (!reply) return;
          await api("handling", `/v1/cases/${id}/resolve`, { method: "POST", body: { outcome: "resolved", reply } });
          toast(t("resolved"));
        }
        await show();
      } catch (e) {
        toast(e.message, true);
      }
    });
    await show();
  },

  async case(main, id) {
    const me = claims();
    main.innerHTML = `<h2>${t("case")} ${esc(id)}</h2><div class="grid"><section class="card" id="facts"></section><section class="card"><h3>${t("timeline")}</h3><ul class="timeline" id="timeline"></ul></section></div>`;
    const show = async () => {
      const timeline = await api("kpi", `/v1/requests/${id}/timeline`);
      $("#timeline").innerHTML = timeline.events
        .map((e) => `<li><strong>${esc(e.type)}</strong> <span class="muted">${when(e.occurred_at)} · ${esc(e.producer)} · ${esc(e.actor.id)}</span>${summary(e)}</li>`)
        .join("");
      let actions = "";
      if (["handler", "dept_head"].includes(me.role)) {
        try {
          const c = await api("handling", `/v1/cases/${id}`);
          if (c.state === "routed") actions += `<button class="primary act-accept">${t("accept")}</button>`;
          if (["accepted", "in_progress"].includes(c.state)) actions += `<button class="primary act-resolve">${t("resolve")}</button>`;
        } catch (e) { /* not this department's case */ }
      }
      if (me.role === "supervisor") actions += `<button class="primary act-supervise">${t("supervise")}</button>`;
      $("#facts").innerHTML = `<p>${t("state")}: <strong id="case-state">${esc(timeline.state)}</strong></p><p>${t("lead")}: ${esc(timeline.lead_department || "")}</p>${actions}`;
    };
    $("#facts").addEventListener("click", async (event) => {
      try {
        if (event.target.classList.contains("act-accept")) await api("handling", `/v1/cases/${id}/accept`, { method: "POST", body: {} });
        if (event.target.classList.contains("act-resolve")) {
          const reply = prompt(t("reply"), "已处理完毕");
          if (!reply) return;
          await api("handling", `/v1/cases/${id}/resolve`, { method: "POST", body: { outcome: "resolved", reply } });
        }
        if (event.target.classList.contains("act-supervise")) {
          const instructions = prompt(t("instructions"), "请于两个工作日内办结并报告");
          if (!instructions) return;
          const due = new Date(serverNow() + 2 * 86400000).toISOString();
          await api("handling", "/v1/supervision-orders", { method: "POST", body: { request_id: id, instructions, due } });
          toast(t("sent"));
        }
        setTimeout(show, 800);
      } catch (e) {
        toast(e.message, true);
      }
    });
    await show();
  },

  async overdue(main) {
    main.innerHTML = `<h2>${t("overdue")}</h2><section class="card" id="board"></section>`;
    const board = await api("handling", "/v1/overdue");
    $("#board").innerHTML = table(
      [
        ["id", (c) => caseLink(c.request_id)],
        ["department", (c) => esc(c.department)],
        ["clock", (c) => esc(c.clock)],
        ["dueAt", (c) => `${when(c.due)} <span class="badge overdue">${t("overdueTag")}</span>`],
        ["actions", (c) => `<button class="act supervise" data-id="${esc(c.request_id)}" data-department="${esc(c.department)}">${t("supervise")}</button>`],
      ],
      board.clocks,
      () => "overdue",
    );
    $("#board").addEventListener("click", async (event) => {
      const button = event.target.closest("button.supervise");
      if (!button) return;
      const instructions = prompt(t("instructions"), "请于两个工作日内办结并报告");
      if (!instructions) return;
      try {
        const due = new Date(serverNow() + 2 * 86400000).toISOString();
        await api("handling", "/v1/supervision-orders", {
          method: "POST",
          body: { request_id: button.dataset.id, department: button.dataset.department, instructions, due },
        });
        toast(t("sent"));
      } catch (e) {
        toast(e.message, true);
      }
    });
  },

  async kpi(main) {
    // This month in the organisation's zone, by the platform's clock.
    const [year, monthNo] = new Intl.DateTimeFormat("en-CA", { timeZone: state.timezone, year: "numeric", month: "2-digit" })
      .format(new Date(serverNow()))
      .split("-")
      .map(Number);
    const month = (offset) => {
      const d = new Date(Date.UTC(year, monthNo - 1 - offset, 1));
      return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
    };
    main.innerHTML = `
      <h2>${t("kpi")}</h2>
      <section class="card"><label>${t("period")}<input id="period" value="${month(0)}" style="width:10rem"></label>
        <button class="primary" id="show">${t("load")}</button></section>
      <section class="card"><h3>${t("ranking")}</h3><div id="ranking"></div></section>
      <section class="card"><h3>${t("volumes")}</h3><div id="volumes"></div></section>
      <section class="card"><h3>${t("trend")}</h3><div id="trend"></div></section>
      <section class="card"><h3>${t("hotspots")}</h3><div class="grid"><div id="topics"></div><div id="areas"></div></div></section>`;
    const show = async () => {
      const period = $("#period").value;
      const [ranking, spots, figures] = await Promise.all([
        api("kpi", `/v1/rankings?period=${period}`),
        api("kpi", `/v1/hotspots?period=${period}`),
        api("kpi", `/v1/kpis?period=${period}`),
      ]);
      $("#volumes").innerHTML = table(
        [["department", (r) => esc(r.department)], ...["routed", "accepted", "resolved", "feedback_given", "rated", "overdue_open"]
          .map((k) => [k, (r) => `<span data-count="${esc(r.department)}.${k}">${esc(r.counts[k])}</span>`])],
        figures.items,
      );
      const rates = ["acceptance_timeliness", "on_time_resolution", "feedback_timeliness", "handling_accuracy", "satisfaction"];
      $("#ranking").innerHTML = table(
        [["rank", (r) => esc(r.rank ?? "–")], ["department", (r) => esc(r.department)], ["score", (r) => esc(r.score ?? "–")],
         ["passed", (r) => (r.passed === null ? "–" : r.passed ? t("yes") : t("no"))],
         ...rates.map((k) => [k, (r) => pct(r[k])])],
        ranking.items,
      );
      const spot = (rows) => table([["category", (r) => esc(r.key)], ["count", (r) => esc(r.count)], ["growth", (r) => esc(r.growth)]], rows.slice(0, 8));
      $("#topics").innerHTML = `<h3>${t("topics")}</h3>` + spot(spots.topics.most || spots.topics);
      $("#areas").innerHTML = `<h3>${t("areas")}</h3>` + spot(spots.areas.most || spots.areas);
      const months = [5, 4, 3, 2, 1, 0].map(month);
      const history = await Promise.all(months.map((m) => api("kpi", `/v1/rankings?period=${m}`)));
      $("#trend").innerHTML = trendChart(months, history);
    };
    $("#show").addEventListener("click", () => show().catch((e) => toast(e.message, true)));
    await show();
  },
};

function summary(event) {
  const d = event.data || {};
  const bits = [d.content, d.lead_department && `→ ${d.lead_department}`, d.department, d.reply, d.answer, d.rating, d.outcome, d.reason]
    .filter(Boolean)
    .map((v) => esc(typeof v === "string" ? v : JSON.stringify(v)));
  return bits.length ? `<div class="muted">${bits.join(" · ")}</div>` : "";
}

function trendChart(months, history) {
  const width = 640, height = 220, pad = 36;
  const departments = [...new Set(history.flatMap((h) => h.items.map((r) => r.department)))];
  const colours = ["#1f4e79", "#c62828", "#2e7d32", "#f0a500", "#6a1b9a", "#00838f", "#5d4037", "#455a64"];
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(months.length - 1, 1);
  const y = (score) => height - pad - (score / 100) * (height - 2 * pad);
  const lines = departments.map((dept, n) => {
    const points = history
      .map((h, i) => [i, h.items.find((r) => r.department === dept)?.score])
      .filter(([, s]) => s !== null && s !== undefined)
      .map(([i, s]) => `${x(i)},${y(s)}`);
    const colour = colours[n % colours.length];
    return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.join(" ")}"/>` +
      points.map((p) => `<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${colour}"/>`).join("") +
      `<text x="${width - pad + 4}" y="${14 + n * 14}" font-size="11" fill="${colour}">${esc(dept)}</text>`;
  });
  const axis = months.map((m, i) => `<text x="${x(i)}" y="${height - 10}" font-size="11" text-anchor="middle">${m}</text>`).join("") +
    [0, 50, 85, 100].map((s) => `<line x1="${pad}" x2="${width - pad}" y1="${y(s)}" y2="${y(s)}" stroke="#dde3ea"/><text x="4" y="${y(s) + 4}" font-size="10">${s}</text>`).join("");
  return `<svg class="trend" viewBox="0 0 ${width + 90} ${height}" width="100%">${axis}${lines.join("")}</svg>`;
}

// --- shell -------------------------------------------------------------------------

const NAV = {
  agent: ["intake"],
  handler: ["queue"],
  dept_head: ["queue", "overdue", "kpi"],
  supervisor: ["overdue", "kpi"],
  admin: ["intake", "overdue", "kpi"],
  ops: ["overdue", "kpi"],
};

function signIn(main) {
  main.innerHTML = `<section class="card" style="max-width:40rem"><h2>${t("signin")}</h2>
    <form id="signin"><label>${t("token")}<textarea name="token" required></textarea></label>
    <button class="primary" type="submit">${t("signin")}</button></form></section>`;
  $("#signin").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = new FormData(event.target).get("token").trim();
    localStorage.setItem("console.token", state.token);
    location.hash = "";
    route();
  });
}

async function route() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  $("#lang").textContent = state.lang === "zh" ? "EN" : "中文";
  const main = $("#main");
  const me = state.token ? claims() : null;
  if (!me || (me.exp && me.exp * 1000 < serverNow())) {
    $("#nav").innerHTML = "";
    $("#who").textContent = "";
    return signIn(main);
  }
  const pages = NAV[me.role] || [];
  const [, page = pages[0], arg] = location.hash.split("/");
  $("#nav").innerHTML = pages.map((p) => `<a href="#/${p}" class="${p === page ? "active" : ""}">${t(p)}</a>`).join("");
  $("#who").textContent = `${me.sub} · ${me.role}${me.department ? " · " + me.department : ""}`;
  try {
    await PAGES[page in PAGES ? page : pages[0]](main, arg && decodeURIComponent(arg));
  } catch (e) {
    toast(e.message, true);
  }
}

async function start() {
  const config = await (await fetch("config.json")).json();
  state.urls = config.urls;
  state.timezone = config.timezone;
  state.clockOffset = Date.parse(config.now) - Date.now();
  $("#lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("console.lang", state.lang);
    route();
  });
  $("#signout").addEventListener("click", () => {
    localStorage.removeItem("console.token");
    state.token = null;
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
