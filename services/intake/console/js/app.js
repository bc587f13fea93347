// The shell: sign-in, navigation by role, the language toggle, and polling the page shown.
import { html, render, $, on } from "./dom.js";
import { t, i18n, setLang, learnDepartments, departmentName } from "./i18n.js";
import { session, claims, everyPage } from "./api.js";
import { syncClock, now } from "./format.js";
import { toast, forgetContacts } from "./ui.js";
import { agentPage, minePage } from "./pages/agent.js";
import { queuePage, extensionsPage } from "./pages/queue.js";
import { casePage } from "./pages/case.js";
import { boardPage, kpiPage, trendsPage } from "./pages/supervisor.js";
import { adminPage, kbPage, kbWritePage, mattersPage } from "./pages/admin.js";
import { dispatchPage } from "./pages/dispatch.js";
import { revisitsPage } from "./pages/followup.js";

const PAGES = {
  agent: agentPage, mine: minePage, queue: queuePage, extensions: extensionsPage, case: casePage,
  board: boardPage, kpi: kpiPage, trends: trendsPage, admin: adminPage, matters: mattersPage, kb: kbPage, dispatch: dispatchPage,
  revisits: revisitsPage, kbwrite: kbWritePage,
};

function navFor(me) {
  const coordinating = me.department === "coordination";
  return {
    agent: ["agent", "mine", "revisits"],
    handler: ["queue", ...(coordinating ? ["dispatch"] : [])],
    dept_head: ["queue", "extensions", ...(coordinating ? ["dispatch"] : []), "board", "kpi", "kbwrite"],
    dispatcher: ["dispatch"], // the board (GET /v1/overdue) is for oversight roles only
    supervisor: ["board", "kpi", "trends", "dispatch", "revisits", "kb"],
    admin: ["admin", "matters", "kb", "kbwrite", "board", "kpi"],
    ops: ["board", "kpi", "trends"],
  }[me.role] || [];
}

const POLL_MS = Number(new URLSearchParams(location.search).get("poll")) || 15000;
let current = null; // the page on screen: {refresh?}
let poller = null;
let departmentsLoaded = false;

function shell(me, pages, active) {
  render("#shell", html`
    <div class="brand">${t("app")}</div>
    <nav id="nav">${pages.map((p) => html`<a href="#/${p}" class="${p === active ? "active" : ""}" data-page="${p}">${t(`nav.${p}`)}</a>`)}</nav>
    <span id="who">${me ? html`${me.sub} · ${t(`role.${me.role}`)}${me.department ? html` · <span id="who-dept"></span>` : ""}` : ""}</span>
    <span id="updated" class="muted" aria-live="polite"></span>
    <button id="lang" type="button">${t("langToggle")}</button>
    ${me ? html`<button id="signout" type="button">${t("signout")}</button>` : ""}`);
}

function signIn(main) {
  shell(null, [], null);
  render(main, html`<section class="card narrow"><h2>${t("signin")}</h2>
    <form id="signin"><label class="field"><span>${t("token")}</span><textarea name="token" required></textarea></label>
    <button class="primary" type="submit">${t("signin")}</button></form></section>`);
  $("#signin").addEventListener("submit", (event) => {
    event.preventDefault();
    session.token = new FormData(event.target).get("token").trim();
    localStorage.setItem("console.token", session.token);
    location.hash = "";
    route();
  });
}

async function route() {
  clearInterval(poller);
  current = null;
  forgetContacts(); // a contact read in full is not carried to another page
  document.title = t("app");
  const main = $("#main");
  const me = session.token ? claims() : null;
  if (!me || (me.exp && me.exp * 1000 < now())) return signIn(main);
  if (!departmentsLoaded) {
    try {
      learnDepartments((await everyPage("routing", "/v1/departments")).items);
      departmentsLoaded = true;
    } catch (e) {
      toast(e.message, true);
    }
  }
  const pages = navFor(me);
  const [, wanted, ...rest] = location.hash.split("/");
  const page = wanted in PAGES ? wanted : pages[0];
  shell(me, pages, page);
  if (me.department) {
    $("#who-dept").textContent = departmentName(me.department);
  }
  try {
    current = (await PAGES[page](main, { me, arg: rest.map(decodeURIComponent).join("/") })) || null;
    if (current?.refresh) {
      poller = setInterval(async () => {
        if (document.hidden) return;
        try {
          await current.refresh();
          const stamp = new Date(now());
          $("#updated").textContent = `${t("updated")} ${stamp.toLocaleTimeString(i18n.lang === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai", hour12: false })}`;
        } catch (e) {
          toast(e.message, true);
        }
      }, POLL_MS);
    }
  } catch (e) {
    toast(e.message, true);
  }
}

async function start() {
  const config = await (await fetch("config.json")).json();
  session.urls = config.urls;
  syncClock(config.now, config.timezone);
  setLang(i18n.lang);
  on(document.body, "click", "#lang", () => {
    setLang(i18n.lang === "zh" ? "en" : "zh");
    route();
  });
  on(document.body, "click", "#signout", () => {
    localStorage.removeItem("console.token");
    session.token = null;
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
