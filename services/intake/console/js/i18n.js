// Every word the console shows, in Chinese first and English second. Values the APIs send
// (states, categories, channels, clocks, event types, …) are looked up as "group.value".

const ZH = {
  app: "12345 诉求工作台", signout: "退出", signin: "登录", token: "员工令牌（make run 打印的令牌）",
  langToggle: "EN", updated: "已更新", failed: "操作失败", noRows: "暂无记录", loading: "加载中…",
  prev: "上一页", next: "下一页", page: "第 {n} 页", yes: "是", no: "否", all: "全部", show: "查询",
  "nav.agent": "登记受理", "nav.mine": "我的首问", "nav.queue": "部门待办", "nav.extensions": "负责人审批",
  "nav.dispatch": "派单", "nav.board": "超期督办", "nav.kpi": "考核排名", "nav.trends": "趋势热点",
  "nav.admin": "系统管理", "nav.kb": "知识库审核", "nav.case": "诉求详情",
  // agent
  newRequest: "登记诉求", callerLookup: "来电人查询", phone: "来电号码", name: "姓名", channel: "渠道",
  content: "诉求内容", title: "标题", category: "类别", urgency: "紧急程度", area: "区域", address: "详细地址",
  businessType: "业务类型", none: "（无）", materials: "申请材料", materialsMissing: "缺少材料：{list}",
  materialsComplete: "材料齐全", anonymous: "匿名反映", autoDetect: "自动识别", submit: "提交（Ctrl+Enter）",
  earlierMore: "历史诉求 {n} 件以上", latestShown: "显示最近 {n} 件", earlier: "历史诉求 {n} 件", openOnes: "其中未办结 {n} 件", repeatCaller: "重复来电", newCaller: "新来电人，无历史诉求",
  kbBeside: "知识库参考", kbHint: "输入诉求内容后自动检索", answerOnSpot: "当场答复并引用此条",
  answeredOnSpot: "已当场答复，引用知识条目 {id}", received: "已受理，编号 {id}", incomplete: "已受理，待补充材料",
  mine: "我首问的诉求", chase: "催办", chasedWhat: "已催办诉求 {id}：已提醒主办单位{dept}（第 {n} 次催办），并通知该单位负责人", receivedAt: "受理时间", lead: "主办单位",
  state: "状态", id: "编号", actions: "操作", dueAt: "办结期限", submittedOk: "提交成功",
  matterSuggestions: "推荐事项（按已输入的诉求内容）", matterPicked: "已选事项：{name}（已填入事项和类别）",
  // handling
  queue: "部门待办", timeLeft: "剩余时间", clockAccept: "签收", clockResolve: "办结", routedAt: "派单时间",
  handler: "承办人", filters: "筛选", onlyUrgent: "仅紧急", onlyOverdue: "仅超期", onlyAtRisk: "仅临期",
  mineOnly: "仅我承办", overdueBy: "已超时 {d}（自然时间）", left: "剩余 {d}（自然时间）", stopped: "已停止", paused: "暂停中", clockPaused: "暂停计时（等待群众）",
  workLeft: "剩余 {d}", workOverdueBy: "已超时 {d}", workday1: "{n} 个工作日", workdays: "{n} 个工作日",
  hours: "{n} 小时", minutes: "{n} 分钟",
  caseTitle: "诉求 {id}", facts: "诉求信息", contactMasked: "联系方式（已脱敏）", timeline: "办理过程",
  clocks: "时限", caseActions: "办理操作", accept: "签收", contact: "联系诉求人", how: "联系方式",
  summary: "沟通情况", progress: "进展记录", step: "环节", note: "说明", notify: "同时告知诉求人",
  pause: "暂停计时（等待诉求人）", resume: "恢复计时", reason: "原因", extension: "申请延期", clockName: "时限",
  requestedDue: "申请延至", returnCase: "退单", returnHint: "退单原因（写明应由哪个单位办理）",
  opinion: "协办意见", resolve: "办结答复", outcome: "办理结果", reply: "答复诉求人的内容",
  overrideReason: "未收齐协办意见仍办结的理由", save: "提交", done: "已完成：{what}", roleLead: "主办", roleCo: "协办",
  notYours: "本单位不是此诉求的承办单位", noActions: "当前状态下无可用操作",
  met: "按时完成", metLate: "超期完成", feedback: "反馈诉求人", message: "反馈内容", rate: "录入满意度评价", rating: "评价", comment: "诉求人意见",
  requestFacts: "诉求信息", topic: "事项", submittedAt: "提交时间", anonymousYes: "匿名",
  // extensions
  rectifications: "差评整改", teamKpis: "本单位人员考核（本月）", casesHandled: "承办件数", serviceRatings: "服务评价数",
  duplicates: "疑似重复诉求（可一键合并）", why: "依据", mergeInto: "合并到此件", merged: "已合并到 {id}",
  extensions: "待审批的延期申请", approve: "同意", reject: "不同意", requestedBy: "申请人", decided: "已审批",
  // supervisor
  board: "超期与临期", overdueClocks: "已超期", atRiskClocks: "临近超期", lateOrders: "逾期未答复的督办单",
  supervise: "督办", instructions: "督办要求", orderDue: "答复期限", issued: "督办单已发出", orders: "督办单",
  answered: "已答复", answer: "答复", department: "单位", due: "到期", warnAt: "预警",
  kpi: "考核排名", period: "考核月份", ranking: "单位排名", rank: "名次", score: "得分", passed: "达标",
  rates: "各项指标", volumes: "办理量", exportCsv: "导出 CSV", accountability: "问责清单", flags: "问题",
  byMatter: "按事项", returnRate: "退单率", matterUnnamed: "（派单目录未收录）",
  trends: "得分走势（近六个月）", hotspots: "热点问题与区域", topics: "热点问题", areas: "热点区域",
  count: "数量", growth: "环比增长", chartTrend: "各单位月度得分", chartTopics: "热点问题", chartAreas: "热点区域",
  // dispatch
  dispatchQueue: "待派单", dispatchMissing: "派单队列接口（/v1/dispatch-queue）尚未上线：", dispatchOwnQueue: "以下为协调办待办（多次退单升级、未匹配规则的诉求）。",
  dispatchStates: "以下为已退单、待协调的诉求。", chooseLead: "选择主办单位",
  suggestions: "推荐单位", confidence: "置信度", coHandlers: "协办单位", dispatch: "派单", dispatched: "已派单",
  // admin
  departments: "单位", code: "代码", head: "负责人", coordinating: "协调单位", rules: "派单规则",
  priority: "优先级", match: "匹配条件", slaPolicies: "时限标准", calendar: "工作日历", day: "日期",
  workday: "工作日", holiday: "节假日", provisional: "（暂定）",
  calendarProvisional: "{year} 年工作日历为暂定。", calendarProvisionalWhy: "尚未录入国务院办公厅当年节假日安排通知，目前按法定节假日临时计算（没有调休上班日）；录入通知后，尚未到期的办理时限会重新计算。",
  calendarProvisionalTodo: "通知发布后，请由管理员录入全部放假日期和调休上班日期。", channelKeys: "渠道密钥", label: "说明",
  createKey: "新建密钥", revoke: "吊销", keyCreated: "新密钥（只显示一次）：{key}", active: "有效",
  kb: "知识库审核", question: "问题", kind: "类型", status: "状态", catalog: "业务目录", deadlineClass: "时限类别",
  working: "工作时间", version: "版本",
  "nav.matters": "派单目录", matters: "派单目录（事项）", matterCode: "事项编码", matterName: "事项名称",
  description: "说明", keywords: "关键词（含同义词）", listHint: "用顿号、逗号或换行分隔", examples: "诉求示例（每行一条）",
  urgentMatter: "紧急事项（直接派单，不等人工）", activeState: "使用中", edit: "编辑", retire: "下线", retireConfirm: "确认下线",
  newMatter: "新增事项", editing: "编辑事项 {code}（当前第 {n} 版）", versionN: "第 {n} 版", includeRetired: "含已下线事项",
  saved: "已保存：{what}（第 {n} 版）", retiredOk: "已下线：{what}（第 {n} 版）", createdOk: "已新增：{what}（第 {n} 版）",
  history: "修改记录", updatedBy: "修改人", updatedAt: "修改时间", cancel: "取消",
  conflictSaid: "操作冲突（409）：{why}", currentState: "（当前状态：{state}）",
  newRule: "新增规则", ruleId: "规则编号", editRule: "编辑规则 {id}", ruleSaved: "已保存派单规则 {id}",
  matchCategory: "类别", matchUrgency: "紧急程度", matchKeywords: "关键词", matchTopic: "事项", matchArea: "区域",
  matchBusiness: "业务类型", anything: "任何诉求", inUse: "启用",
  editPolicy: "新增或修改时限标准", scope: "适用范围", scopeAll: "全部类别", scopeBusiness: "业务：{name}",
  amount: "时长", unit: "单位", warnPct: "预警（已用时限的 %）", policySaved: "已保存时限标准：{what}",
  enterNotice: "录入国务院节假日安排通知", noticeYear: "年份", noticeTitle: "通知标题和文号",
  noticeHolidays: "放假日期（通知列出的全部放假日；可写区间，如 2027-02-15~2027-02-21）", noticeWorkdays: "调休上班日期",
  noticeEntered: "已录入 {year} 年节假日安排：放假 {off} 天，调休上班 {work} 天；未到期的办理时限已重新计算",
  daysWrong: "无法识别的日期：{list}", calendarYears: "各年度日历", source: "来源", notice: "通知", daysOff: "放假日",
  makeUpDays: "调休上班日", yearFinal: "已按通知确定", calendarYear: "{year} 年放假与调休安排", nextDays: "近三周（点 ⇄ 改为工作日或休息日）",
  keyId: "密钥编号", keyOnce: "请立即复制保存：密钥只显示这一次，离开或刷新本页后无法再次查看。", keyRevoked: "已吊销密钥 {id}",
  revoked: "已吊销", createdAt: "创建时间",
  pendingKb: "待审核的知识文章与典型案例", rejectNote: "驳回理由（必填）", kbApproved: "已同意发布：{q}", kbRejected: "已驳回：{q}",
  currentDept: "当前承办单位", dueTimes: "办理时限",
  newDepartment: "新增单位", editDepartment: "编辑单位：{name}", departmentName: "单位名称（中文 (English)）", parentDept: "上级单位",
  departmentSaved: "已保存单位：{name}",
  belongsTo: "应由", belongsToPick: "应由哪个单位办理", belongsUnknown: "（不确定，由系统重新派单）",
  materialsAdded: "补充材料：{list}", supplement: "补充材料", supplementHint: "勾选诉求人本次补交的材料",
  supplementedAll: "材料已补齐，诉求已转入派单", supplementedSome: "已补充，仍缺少：{list}",
  flagWords: "连续 {n} 个月低于达标线 {line} 分（{periods}）", flaggedAt: "列入时间",
  actorSystem: "系统", actorRequester: "诉求人",
  proposeCase: "推荐为典型案例", caseTitle2: "案例标题（可不填）", caseAnswer: "办理经过与结果（供今后参考）", caseProposed: "已推荐为典型案例，待督办员审核：{q}",
  "nav.kbwrite": "知识库编写", newArticle: "新建知识文章", newArticleHint: "写好后保存为草稿，再提交督办员审核发布",
  ownArticles: "本单位的知识文章", saveDraft: "保存草稿", submitForApproval: "提交审核", validTo: "有效期至",
  articleDrafted: "已保存草稿：{q}", articleSubmitted: "已提交审核：{q}", articleRetired: "已下线：{q}",
  revealContact: "查看完整联系方式", contactRead: "（本次查看已留痕）", purposeRevisit: "回访诉求人", purposeCase: "联系诉求人",
  ratedAt: "评价时间", rectifyNote: "整改情况（将告知评价人）", rectified: "已处理 {who} 的差评：{outcome}",
  withdraw: "撤回诉求", withdrawReason: "撤回原因（诉求人的原话）",
  "nav.revisits": "回访", revisitsDue: "待回访（按期限先后）", revisitsDone: "已回访", revisitReason: "回访原因",
  revisitDue: "回访期限", revisitOutcome: "回访结果", revisitNotes: "回访情况", revisitedBy: "回访人",
  revisitRecorded: "已记录诉求 {id} 的回访：{outcome}（诉求状态：{state}）",
  scan: "扫描件", chartMatters: "热点事项（派单目录）", chartMatterAreas: "同一地点的热点事项", matterAtPlace: "事项 · 区域",
  // catalogue editor, article edits, full text, closing, staff ratings, staff, dispatch models
  editCatalog: "编辑业务类型 {code}（当前第 {n} 版）", catalogName: "业务名称", catalogSaved: "已保存业务类型：{name}（第 {n} 版）",
  materialCode: "材料编码", materialName: "材料名称", mandatory: "必交", mediaTypes: "文件类型（如 application/pdf、image/jpeg）",
  maxSize: "大小上限（字节）", removeMaterial: "删除", materialsHint: "空白一行可新增一项材料；勾选“删除”去掉该项",
  editArticle: "修改知识文章：{q}（当前第 {n} 版）", articleEdited: "已保存修改：{q}（第 {n} 版，已回到草稿，需重新提交审核）",
  readFullText: "查看原文", fullTextPurpose: "查看原因（将记入审计日志）", fullTextShown: "原文（本次查看已留痕）",
  personalReads: "个人信息查看记录（审计）", readWhat: "查看内容", reader: "查看人", purpose: "原因", readAt: "查看时间",
  readerRole: "角色", requestIdFilter: "诉求编号",
  closeCase: "归档", closeReason: "归档说明", closeDefault: "办结归档", closedOk: "诉求 {id} 已归档",
  staffRate: "窗口服务评价", servedBy: "办理人：{name}", staffLevel: "评价等级", staffReasons: "原因（可多选）",
  staffRated: "已记录对 {name} 的服务评价：{level}", rectifyBy: "差评整改期限：{due}",
  staffList: "工作人员", staffId: "工号", staffName: "姓名", roleName: "角色", editStaff: "编辑工作人员：{name}",
  staffSaved: "已保存工作人员：{name}（{role}）", dispatchModels: "智能派单模型", trainNow: "立即训练",
  trainingStarted: "已开始训练新模型（当前使用第 {n} 版），训练完成后出现在列表中", trainingRunning: "已有训练在进行中（当前使用第 {n} 版）",
  modelVersion: "模型版本", trainedAt: "训练时间", trainedBy: "训练人", catalogueMatters: "目录事项数", historyLabels: "历史样本数",
  threshold: "置信阈值", modelInUse: "（使用中）",
  "role.dispatcher": "派单员",
  // roles
  "role.agent": "坐席", "role.handler": "承办人", "role.dept_head": "单位负责人", "role.supervisor": "督办员",
  "role.admin": "管理员", "role.ops": "运维",
};

const EN = {
  app: "12345 Service requests", signout: "Sign out", signin: "Sign in", token: "Staff token (make run prints them)",
  langToggle: "中文", updated: "Updated", failed: "Failed", noRows: "Nothing here", loading: "Loading…",
  prev: "Previous", next: "Next", page: "Page {n}", yes: "yes", no: "no", all: "All", show: "Show",
  "nav.agent": "Register", "nav.mine": "My requests", "nav.queue": "Queue", "nav.extensions": "Head's decisions",
  "nav.dispatch": "Dispatch", "nav.board": "Overdue", "nav.kpi": "Rankings", "nav.trends": "Trends",
  "nav.admin": "Administration", "nav.kb": "KB approvals", "nav.case": "Case",
  newRequest: "New request", callerLookup: "Caller lookup", phone: "Caller's phone", name: "Name", channel: "Channel",
  content: "What the person says", title: "Title", category: "Category", urgency: "Urgency", area: "Area", address: "Address",
  businessType: "Business type", none: "(none)", materials: "Materials", materialsMissing: "Missing: {list}",
  materialsComplete: "All materials present", anonymous: "Anonymous", autoDetect: "Detect", submit: "Submit (Ctrl+Enter)",
  earlierMore: "over {n} earlier requests", latestShown: "the latest {n} shown", earlier: "{n} earlier requests", openOnes: "{n} still open", repeatCaller: "Repeat caller", newCaller: "New caller, no earlier requests",
  kbBeside: "Knowledge base", kbHint: "Type the content to search", answerOnSpot: "Answer now citing this",
  answeredOnSpot: "Answered on the spot citing {id}", received: "Received, id {id}", incomplete: "Received, materials missing",
  mine: "My first-responder requests", chase: "Chase", chasedWhat: "Request {id} chased: {dept}, the lead department, reminded (chase no. {n}) and its head told", receivedAt: "Received", lead: "Lead department",
  state: "State", id: "ID", actions: "Actions", dueAt: "Resolve by", submittedOk: "Submitted",
  matterSuggestions: "Suggested matters (from the content so far)", matterPicked: "Matter picked: {name} (matter and category filled in)",
  queue: "Department queue", timeLeft: "Time left", clockAccept: "Accept", clockResolve: "Resolve", routedAt: "Routed",
  handler: "Handler", filters: "Filters", onlyUrgent: "Urgent only", onlyOverdue: "Overdue only", onlyAtRisk: "At risk only",
  mineOnly: "Mine only", overdueBy: "{d} overdue (calendar time)", left: "{d} left (calendar time)", stopped: "stopped", paused: "paused", clockPaused: "clock paused (waiting on the person)",
  workLeft: "{d} left", workOverdueBy: "{d} overdue", workday1: "{n} working day", workdays: "{n} working days",
  hours: "{n} h", minutes: "{n} min",
  caseTitle: "Request {id}", facts: "Request", contactMasked: "Contact (masked)", timeline: "Timeline",
  clocks: "Clocks", caseActions: "Actions", accept: "Sign for it", contact: "Contact the person", how: "How",
  summary: "What was said", progress: "Progress note", step: "Step", note: "Note", notify: "Tell the person too",
  pause: "Pause (waiting on the person)", resume: "Resume", reason: "Reason", extension: "Ask for an extension", clockName: "Clock",
  requestedDue: "New due time", returnCase: "Return", returnHint: "Reason (name the department it belongs to)",
  opinion: "Co-handler opinion", resolve: "Resolve with reply", outcome: "Outcome", reply: "Reply the person will read",
  overrideReason: "Reason to resolve without every co-opinion", save: "Submit", done: "Done: {what}", roleLead: "lead", roleCo: "co-handler",
  notYours: "Your department does not handle this request", noActions: "No action in this state",
  met: "met", metLate: "met late", feedback: "Feedback to the person", message: "Message", rate: "Record the person's rating", rating: "Rating", comment: "Comment",
  requestFacts: "Request", topic: "Matter", submittedAt: "Submitted", anonymousYes: "anonymous",
  rectifications: "Rectifications of bad ratings", teamKpis: "Team figures (this month)", casesHandled: "Cases handled", serviceRatings: "Service ratings",
  duplicates: "Likely repeats (merge in one step)", why: "Why", mergeInto: "Merge into this", merged: "Merged into {id}",
  extensions: "Pending extension requests", approve: "Approve", reject: "Reject", requestedBy: "Requested by", decided: "Decided",
  board: "Overdue and at risk", overdueClocks: "Overdue", atRiskClocks: "At risk", lateOrders: "Supervision orders past due",
  supervise: "Supervise", instructions: "Instructions", orderDue: "Answer by", issued: "Supervision order issued", orders: "Supervision orders",
  answered: "Answered", answer: "Answer", department: "Department", due: "Due", warnAt: "Warning",
  kpi: "Rankings", period: "Month", ranking: "Ranking", rank: "Rank", score: "Score", passed: "Passed",
  rates: "Rates", volumes: "Volumes", exportCsv: "Export CSV", accountability: "Accountability", flags: "Flags",
  byMatter: "By matter", returnRate: "Return rate", matterUnnamed: "(not in the dispatch catalogue)",
  trends: "Score trend (six months)", hotspots: "Hot spots", topics: "Topics", areas: "Areas",
  count: "Count", growth: "Growth", chartTrend: "Monthly score per department", chartTopics: "Topics", chartAreas: "Areas",
  dispatchQueue: "Waiting for dispatch", dispatchMissing: "The dispatch queue API (/v1/dispatch-queue) is not available yet: ", dispatchOwnQueue: "showing the coordinating office's queue (escalated and unmatched requests).",
  dispatchStates: "showing returned and escalated requests.", chooseLead: "Choose the lead",
  suggestions: "Suggestions", confidence: "Confidence", coHandlers: "Co-handlers", dispatch: "Dispatch", dispatched: "Dispatched",
  departments: "Departments", code: "Code", head: "Head", coordinating: "Coordinating", rules: "Dispatch rules",
  priority: "Priority", match: "Match", slaPolicies: "SLA policies", calendar: "Calendar", day: "Day",
  workday: "Working day", holiday: "Holiday", provisional: "(provisional)",
  calendarProvisional: "The {year} calendar is provisional.", calendarProvisionalWhy: "The State Council's holiday notice for the year has not been entered: the statutory holidays are used for now (no make-up working days); once it is entered, due times not yet reached are recomputed.",
  calendarProvisionalTodo: "When the notice is published, an administrator enters every day off and every make-up working day.", channelKeys: "Channel keys", label: "Label",
  createKey: "New key", revoke: "Revoke", keyCreated: "New key (shown once): {key}", active: "Active",
  kb: "KB approvals", question: "Question", kind: "Kind", status: "Status", catalog: "Business catalogue", deadlineClass: "Deadline class",
  working: "Working time", version: "Version",
  "nav.matters": "Dispatch catalogue", matters: "Dispatch catalogue (matters)", matterCode: "Matter code", matterName: "Matter",
  description: "Description", keywords: "Keywords (and synonyms)", listHint: "separate with 、 , or new lines", examples: "Examples (one a line)",
  urgentMatter: "Urgent matter (dispatched at once)", activeState: "In use", edit: "Edit", retire: "Retire", retireConfirm: "Confirm retiring",
  newMatter: "New matter", editing: "Editing {code} (now version {n})", versionN: "v{n}", includeRetired: "Include retired",
  saved: "Saved: {what} (version {n})", retiredOk: "Retired: {what} (version {n})", createdOk: "Added: {what} (version {n})",
  history: "History", updatedBy: "By", updatedAt: "Changed", cancel: "Cancel",
  conflictSaid: "Conflict (409): {why}", currentState: " (now {state})",
  newRule: "New rule", ruleId: "Rule id", editRule: "Edit rule {id}", ruleSaved: "Rule {id} saved",
  matchCategory: "Category", matchUrgency: "Urgency", matchKeywords: "Keywords", matchTopic: "Matter", matchArea: "Area",
  matchBusiness: "Business type", anything: "any request", inUse: "Active",
  editPolicy: "Add or change an SLA policy", scope: "Scope", scopeAll: "every category", scopeBusiness: "Business: {name}",
  amount: "Amount", unit: "Unit", warnPct: "Warn at (% of the time)", policySaved: "SLA policy saved: {what}",
  enterNotice: "Enter the State Council's holiday notice", noticeYear: "Year", noticeTitle: "Notice title and number",
  noticeHolidays: "Days off (every one the notice lists; ranges like 2027-02-15~2027-02-21)", noticeWorkdays: "Make-up working days",
  noticeEntered: "{year} entered: {off} days off, {work} make-up working days; due times not yet reached recomputed",
  daysWrong: "Not dates: {list}", calendarYears: "Calendar years", source: "Source", notice: "Notice", daysOff: "Days off",
  makeUpDays: "Make-up working days", yearFinal: "final (notice entered)", calendarYear: "{year}: days off and make-up days", nextDays: "Next three weeks (⇄ switches a day)",
  keyId: "Key id", keyOnce: "Copy it now: the key is shown this once and cannot be seen again after leaving or reloading the page.", keyRevoked: "Key {id} revoked",
  revoked: "Revoked", createdAt: "Created",
  pendingKb: "Articles and cases waiting for approval", rejectNote: "Why rejected (required)", kbApproved: "Published: {q}", kbRejected: "Rejected: {q}",
  currentDept: "Department now", dueTimes: "Due",
  newDepartment: "New department", editDepartment: "Edit {name}", departmentName: "Name (中文 (English))", parentDept: "Parent department",
  departmentSaved: "Department saved: {name}",
  belongsTo: "Belongs to", belongsToPick: "The department it belongs to", belongsUnknown: "(not sure: route it again)",
  materialsAdded: "Materials added: {list}", supplement: "Add materials", supplementHint: "Tick what the person has brought now",
  supplementedAll: "All materials in: the request goes on to dispatch", supplementedSome: "Added; still missing: {list}",
  flagWords: "{n} months in a row under the pass line of {line} ({periods})", flaggedAt: "Flagged",
  actorSystem: "system", actorRequester: "the person",
  proposeCase: "Propose as a typical case", caseTitle2: "Title (optional)", caseAnswer: "How it was handled and resolved", caseProposed: "Proposed as a typical case, for a supervisor to approve: {q}",
  "nav.kbwrite": "Write KB articles", newArticle: "New article", newArticleHint: "Saved as a draft; submit it for a supervisor to publish",
  ownArticles: "The department's articles", saveDraft: "Save draft", submitForApproval: "Submit for approval", validTo: "Valid until",
  articleDrafted: "Draft saved: {q}", articleSubmitted: "Submitted for approval: {q}", articleRetired: "Retired: {q}",
  revealContact: "Show the full contact", contactRead: "(this read is logged)", purposeRevisit: "return visit", purposeCase: "contacting the person",
  ratedAt: "Rated", rectifyNote: "What was done (the person is told)", rectified: "{who}'s bad rating decided: {outcome}",
  withdraw: "Withdraw the request", withdrawReason: "Why (in the person's words)",
  "nav.revisits": "Return visits", revisitsDue: "Return visits to make (soonest first)", revisitsDone: "Visits made", revisitReason: "Why",
  revisitDue: "Visit by", revisitOutcome: "Outcome", revisitNotes: "What the person said", revisitedBy: "Visited by",
  revisitRecorded: "Return visit to {id} recorded: {outcome} (request now {state})",
  scan: "Scan", chartMatters: "Hot matters (dispatch catalogue)", chartMatterAreas: "Hot matters at one place", matterAtPlace: "Matter · area",
  editCatalog: "Edit business type {code} (now version {n})", catalogName: "Business name", catalogSaved: "Business type saved: {name} (version {n})",
  materialCode: "Material code", materialName: "Material name", mandatory: "Required", mediaTypes: "File types (e.g. application/pdf, image/jpeg)",
  maxSize: "Size limit (bytes)", removeMaterial: "Remove", materialsHint: "Fill the blank row to add a material; tick Remove to drop one",
  editArticle: "Edit article: {q} (now version {n})", articleEdited: "Edit saved: {q} (version {n}, back to draft: submit it again)",
  readFullText: "Read the full text", fullTextPurpose: "Why (written to the audit log)", fullTextShown: "Full text (this read is logged)",
  personalReads: "Personal data reads (audit)", readWhat: "What", reader: "Reader", purpose: "Purpose", readAt: "Read at",
  readerRole: "Role", requestIdFilter: "Request id",
  closeCase: "Close", closeReason: "Closing note", closeDefault: "Completed and closed", closedOk: "Request {id} closed",
  staffRate: "Rate the window service", servedBy: "Served by: {name}", staffLevel: "Rating", staffReasons: "Reasons (any)",
  staffRated: "Rating of {name} recorded: {level}", rectifyBy: "Rectification due: {due}",
  staffList: "Staff", staffId: "Staff id", staffName: "Name", roleName: "Role", editStaff: "Edit staff member: {name}",
  staffSaved: "Staff member saved: {name} ({role})", dispatchModels: "Dispatch models", trainNow: "Train now",
  trainingStarted: "Training a new model (version {n} in use); it appears here when done", trainingRunning: "A training is running already (version {n} in use)",
  modelVersion: "Model version", trainedAt: "Trained", trainedBy: "Trained by", catalogueMatters: "Catalogue matters", historyLabels: "History samples",
  threshold: "Confidence threshold", modelInUse: "(in use)",
  "role.dispatcher": "Dispatcher",
  "role.agent": "Agent", "role.handler": "Handler", "role.dept_head": "Head", "role.supervisor": "Supervisor",
  "role.admin": "Admin", "role.ops": "Ops",
};

// Values the APIs send, by group: [Chinese, English].
const VALUES = {
  state: {
    received: ["已受理", "Received"], incomplete: ["待补材料", "Materials missing"], supplemented: ["已补材料", "Supplemented"],
    answered_at_intake: ["当场答复", "Answered at intake"], routed: ["已派单", "Routed"], returned: ["已退单", "Returned"],
    escalated: ["待协调", "Escalated"], accepted: ["已签收", "Accepted"], in_progress: ["办理中", "In progress"],
    resolved: ["已办结", "Resolved"], feedback_given: ["已反馈", "Feedback given"], rated: ["已评价", "Rated"],
    reopened: ["重新办理", "Reopened"], revisited: ["已回访", "Revisited"], closed: ["已归档", "Closed"],
    merged: ["已合并", "Merged"], withdrawn: ["已撤回", "Withdrawn"], paused: ["暂停中", "Paused"],
    pending: ["待审批", "Pending"], approved: ["已同意", "Approved"], rejected: ["已驳回", "Rejected"],
    draft: ["草稿", "Draft"], published: ["已发布", "Published"], retired: ["已下线", "Retired"],
  },
  category: {
    consultation: ["咨询", "Consultation"], suggestion: ["建议", "Suggestion"], complaint: ["投诉", "Complaint"],
    help: ["求助", "Help"], repair: ["报修", "Repair"], business: ["业务办理", "Business"],
  },
  urgency: { normal: ["一般", "Normal"], urgent: ["紧急", "Urgent"] },
  conflict: {
    version_conflict: ["该事项已被他人修改并保存为新版本，请重新打开后再编辑", "someone saved a newer version in between: open it again and redo the edit"],
    already_retired: ["该事项已经下线", "it is retired already"],
    conflict: ["已有相同编号的记录，或当前状态不允许此操作", "the code exists already, or its state does not allow this"],
    illegal_transition: ["当前状态不允许此操作", "not allowed in its current state"],
    extension_pending: ["已有待审批的延期申请", "an extension request is pending already"],
    nothing_to_pause: ["没有可暂停的时限", "no running clock to pause"], not_paused: ["时限未暂停", "the clocks are not paused"],
    idempotency_conflict: ["重复提交且内容不同", "a repeated submission with different content"],
    empty_catalogue: ["派单目录中没有使用中的事项", "the catalogue has no active matter"],
    opinions_missing: ["尚未收到全部协办单位的意见：请等待，或填写“未收齐协办意见仍办结的理由”后办结", "not every co-handler has given its opinion: wait, or give the reason to resolve without"],
  },
  kind: { article: ["知识文章", "Article"], case: ["典型案例", "Case"] },
  unit: { working_days: ["个工作日", "working days"], working_hours: ["个工作小时", "working hours"], hours: ["小时（自然时间）", "hours (calendar)"] },
  calendarSource: {
    chinesecalendar: ["chinesecalendar 数据（已公布的安排）", "chinesecalendar (published notices)"],
    holidays: ["法定节假日（暂定）", "statutory holidays (provisional)"], state_council: ["国务院办公厅通知", "State Council notice"],
    none: ["无（仅周末）", "none (weekends only)"],
  },
  // The dispatch queue's own states (routing): waiting for a dispatcher, or an urgent best
  // guess already sent, to review.
  dispatchState: {
    waiting: ["待派单", "Waiting"], review: ["待复核（已先行派出）", "To review (sent ahead)"],
    dispatched: ["已人工派单", "Dispatched"], confirmed: ["已确认", "Confirmed"],
  },
  revisitReason: {
    complaint: ["投诉件必访", "Complaint (always visited)"], unsatisfied: ["不满意件回访", "Unsatisfied rating"],
    sampled: ["抽样回访", "Sampled"],
  },
  revisitOutcome: { solved: ["问题已解决", "Solved"], recurred: ["问题复发，重新办理", "Came back: handled again"], unreachable: ["联系不上", "Could not be reached"] },
  materialProblem: {
    missing: ["缺少", "Missing"], wrong_media_type: ["需上传扫描件", "Scan needed"], too_large: ["文件过大", "File too large"],
  },
  matterAction: { created: ["新增", "Created"], updated: ["修改", "Edited"], retired: ["下线", "Retired"] },
  duplicateReason: {
    same_person: ["同一来电人、同一件事", "The same person about the same thing"],
    same_matter_and_place: ["同一事项、同一地点", "The same matter at the same place"],
    similar_text_same_place: ["同一地点、内容相近", "Similar words at the same place"],
  },
  channel: {
    hotline: ["12345 热线", "Hotline"], web: ["网站", "Web"], app: ["手机 App", "App"], wechat: ["微信", "WeChat"],
    weibo: ["微博", "Weibo"], email: ["电子邮件", "Email"], window: ["窗口", "Window"], letter: ["信件", "Letter"],
    open311: ["Open311", "Open311"],
  },
  clock: {
    accept: ["签收", "Accept"], first_contact: ["首次联系", "First contact"], resolve: ["办结", "Resolve"],
    feedback: ["反馈", "Feedback"], revisit: ["回访", "Revisit"], supervision: ["督办答复", "Supervision"],
  },
  outcome: {
    resolved: ["已解决", "Resolved"], partially_resolved: ["部分解决", "Partly resolved"],
    explained: ["已解释说明", "Explained"], cannot_resolve: ["无法解决", "Cannot be resolved"],
  },
  how: {
    phone: ["电话", "Phone"], sms: ["短信", "SMS"], email: ["邮件", "Email"], visit: ["上门", "Visit"],
    channel: ["原渠道", "Channel"], other: ["其他", "Other"],
  },
  step: { investigate: ["调查核实", "Investigate"], plan: ["制定方案", "Plan"], implement: ["组织实施", "Implement"], other: ["其他", "Other"] },
  role: { lead: ["主办", "Lead"], co: ["协办", "Co-handler"] },
  rectification: { rectified: ["已整改", "Rectified"], explained: ["已说明", "Explained"], disputed: ["有异议", "Disputed"] },
  readWhat: { requester: ["联系方式", "Contact"], text: ["诉求原文", "Full text"] },
  staffLevel: {
    very_satisfied: ["非常满意", "Very satisfied"], satisfied: ["满意", "Satisfied"], basically_satisfied: ["基本满意", "Basically satisfied"],
    unsatisfied: ["不满意", "Unsatisfied"], very_unsatisfied: ["非常不满意", "Very unsatisfied"],
  },
  staffReason: {
    attitude: ["服务态度差", "Poor attitude"], slow: ["办事效率低", "Slow"], unclear: ["政策解释不清楚", "Unclear explanation"],
    repeated_trips: ["让我多次跑腿", "Made me come back again"], not_resolved: ["问题没有解决", "Not resolved"],
    not_by_the_rules: ["不按规定办事", "Not by the rules"], long_wait: ["等候时间长", "Long wait"], professional: ["业务熟练", "Professional"],
    friendly: ["态度热情", "Friendly"], efficient: ["办事高效", "Efficient"], other: ["其他", "Other"],
  },
  rating: {
    satisfied: ["满意", "Satisfied"], basically_satisfied: ["基本满意", "Basically satisfied"],
    unsatisfied: ["不满意", "Unsatisfied"], no_response: ["未评价", "No response"],
  },
  event: {
    "request.received": ["受理登记", "Received"], "request.incomplete": ["待补材料", "Materials missing"],
    "request.supplemented": ["补充材料", "Supplemented"], "request.answered_at_intake": ["当场答复", "Answered at intake"],
    "request.routed": ["派单", "Routed"], "request.rerouted": ["改派", "Re-routed"], "request.returned": ["退单", "Returned"],
    "request.escalated": ["提交协调", "Escalated"], "request.accepted": ["签收", "Accepted"], "request.contacted": ["联系诉求人", "Contacted"],
    "request.progressed": ["办理进展", "Progress"], "request.paused": ["暂停计时", "Paused"], "request.resumed": ["恢复计时", "Resumed"],
    "request.extension_requested": ["申请延期", "Extension requested"], "request.extension_decided": ["延期审批", "Extension decided"],
    "request.co_opinion_added": ["协办意见", "Co-handler opinion"], "request.resolved": ["办结答复", "Resolved"],
    "request.feedback_given": ["反馈诉求人", "Feedback given"], "request.rated": ["满意度评价", "Rated"],
    "request.reopened": ["重新办理", "Reopened"], "request.revisit_scheduled": ["安排回访", "Revisit scheduled"],
    "request.revisited": ["回访", "Revisited"], "request.closed": ["归档", "Closed"], "request.merged": ["合并", "Merged"],
    "request.withdrawn": ["撤回", "Withdrawn"], "request.supervised": ["督办", "Supervised"],
    "request.sla_warning": ["临期预警", "SLA warning"], "request.sla_breached": ["超期", "SLA breached"],
    "request.personal_data_purged": ["个人信息清除", "Personal data purged"],
    "request.chased": ["催办", "Chased"], "request.due_changed": ["时限调整", "Due time moved"],
    "request.due_recomputed": ["节假日调整时限", "Due time recomputed (calendar)"],
    "request.merge_released": ["解除合并", "Merge released"], "request.supervision_answered": ["督办回复", "Supervision answered"],
    "request.dispatched": ["人工派单", "Dispatched"],
    "notification.requested": ["发送通知", "Notification"], "notification.sent": ["通知已发出", "Notification sent"],
    "notification.delivered": ["通知已送达", "Notification delivered"],
  },
  rate: {
    acceptance_timeliness: ["签收及时率", "Accepted in time"], on_time_resolution: ["按时办结率", "Resolved on time"],
    feedback_timeliness: ["反馈及时率", "Feedback in time"], handling_accuracy: ["办理准确率", "Accuracy"],
    satisfaction: ["满意率", "Satisfaction"], first_contact_timeliness: ["首次联系及时率", "First contact in time"],
  },
  volume: {
    received: ["受理", "Received"], routed: ["派单", "Routed"], accepted: ["签收", "Accepted"], resolved: ["办结", "Resolved"],
    feedback_given: ["已反馈", "Feedback given"], rated: ["已评价", "Rated"], closed: ["已归档", "Closed"], overdue_open: ["超期未结", "Overdue, open"],
  },
};

export const i18n = { lang: localStorage.getItem("console.lang") === "en" ? "en" : "zh" };

export function setLang(lang) {
  i18n.lang = lang;
  localStorage.setItem("console.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

/** t("left", {d: "3小时"}): a label with its {placeholders} filled in (the caller escapes). */
export function t(key, params = {}) {
  const text = (i18n.lang === "zh" ? ZH : EN)[key] ?? ZH[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** label("state", "resolved") → 已办结 / Resolved; an unknown value is shown as it came. */
export function label(group, value) {
  if (value === null || value === undefined || value === "") return "";
  const pair = VALUES[group]?.[value];
  return pair ? pair[i18n.lang === "zh" ? 0 : 1] : String(value);
}

export const values = (group) => Object.keys(VALUES[group] || {});

// Names configured in both languages, "城市管理局 (urban management)": the one for the page.
const split = (name) => {
  const match = /^(.*?)\s*[(（](.*)[)）]\s*$/.exec(name || "");
  return match ? [match[1], match[2]] : [name || "", name || ""];
};

export const bilingual = (name) => split(name)[i18n.lang === "zh" ? 0 : 1];

// Departments come from routing's /v1/departments.
const departments = new Map();

export function learnDepartments(items) {
  for (const d of items) departments.set(d.code, d.name ? split(d.name) : [d.code, d.code]);
}

export function departmentName(code) {
  if (!code) return "";
  const pair = departments.get(code);
  return pair ? pair[i18n.lang === "zh" ? 0 : 1] : code;
}

export const knownDepartments = () => [...departments.keys()];
