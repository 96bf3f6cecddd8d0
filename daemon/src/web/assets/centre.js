/* The Kefu account centre (PROTOCOL.md "The account centre"): one page, no
 * framework, no third-party file. It signs in over the appliance's WebSocket (/ws)
 * with the protocol's own Login, so the session is a protocol session and every
 * request is checked by the daemon; the page only hides what the role lacks.
 * Everything from the network is put in the page as text (textContent, value),
 * never as HTML. */
(function () {
  "use strict";
  var I18N = {
    en: {
      title: "Account centre", signIn: "Sign in", agentAt: "Agent@account",
      password: "Password", otp: "Token code", signInBtn: "Sign in",
      otpHint: "Only if your account's security level asks for a token code.",
      logout: "Sign out", other: "中文", badUser: "Write agent@account, e.g. 1001@800000.",
      closed: "The connection to the appliance ended. Sign in again.",
      idle: "Signed out after 15 minutes without activity.",
      ended: "Your session has ended. Sign in again.",
      refused: "Refused by the appliance", working: "Working…", saved: "Saved.",
      m_account: "Account information", m_space: "Enterprise space",
      m_campaigns: "Market activities", m_codes: "Entry-point codes",
      m_menu: "Navigation menu", m_points: "Points and balance",
      notYet: "This module has no data on this appliance yet: the appliance does not keep it. Nothing is shown rather than something made up.",
      codesBefore: "Codes generated before", newCode: "New code", editCode: "Edit code",
      description: "Code description", kind: "Kind", Fixed: "Fixed icon", Floating: "Floating icon",
      Link: "Link for forums and microblogs", routing: "Routing", Auto: "Automatic",
      Agent: "To an agent", Group: "To a group", routeValue: "Agent number or group",
      siteUrl: "Site address", style: "Icon style", anonymous: "Anonymous window style",
      save: "Save", cancel: "Cancel", edit: "Edit", copy: "Copy snippet", copied: "Copied.",
      snippet: "Snippet", edited: "Edited", none: "No codes yet.",
      menuOn: "Menu on", rootPrompt: "Prompt", addOption: "Add option", remove: "Remove",
      label: "Label", action: "Action", value: "Value", OpenUrl: "Open a web page",
      AutoReply: "Automatic reply", ToAgent: "To an agent", ToGroup: "To a group",
      HumanService: "Human service", SubMenu: "Sub-menu", subPrompt: "Sub-menu prompt",
      available: "Available units", reserved: "Reserved units", toppedUp: "Topped up",
      settled: "Settled", refunded: "Refunded", points: "Points",
      pointsNote: "One point per yuan spent on messages actually sent.",
      m_reports: "Reports", report: "Report", from: "From", to: "To", show: "Show",
      csat: "Customer satisfaction", work: "Daily work report", trend: "Visit trend",
      site: "Site analytics", exportCsv: "Export CSV", exportXlsx: "Export Excel",
      download: "Download",
      tooLong: "The range is at most {n} days.", badRange: "Choose a first day before the last.",
      agent: "Agent", date: "Day", conversations: "Conversations", customers: "Customers",
      visits: "Visits", unique: "Unique visitors", pageViews: "Page views",
      consultations: "Consultations", referrer: "Referring site", total: "Total",
      satisfied: "Satisfied", noData: "No data in this range.", opt: "Option"
    },
    zh: {
      title: "账户中心", signIn: "登录", agentAt: "工号@营销号", password: "密码",
      otp: "令牌动态码", signInBtn: "登录", otpHint: "仅当安全级别要求令牌时填写。",
      logout: "退出", other: "English", badUser: "请按 工号@营销号 填写，例如 1001@800000。",
      closed: "与服务器的连接已断开，请重新登录。", idle: "15 分钟无操作，已自动退出。",
      ended: "会话已结束，请重新登录。",
      refused: "服务器拒绝", working: "处理中…", saved: "已保存。",
      m_account: "账户信息", m_space: "企业空间", m_campaigns: "市场活动",
      m_codes: "在线咨询图标", m_menu: "导航菜单", m_points: "积分与余额",
      notYet: "本设备尚未保存此模块的数据，因此不显示任何内容，而不是编造内容。",
      codesBefore: "生成过的代码", newCode: "新建代码", editCode: "修改代码",
      description: "代码描述", kind: "类型", Fixed: "固定图标", Floating: "浮动图标",
      Link: "在论坛/微博发布", routing: "接入方式", Auto: "自动分配", Agent: "指定到工号",
      Group: "指定到分组", routeValue: "工号或分组", siteUrl: "企业网址", style: "图标风格",
      anonymous: "匿名风格", save: "保存", cancel: "取消", edit: "修改", copy: "复制代码",
      copied: "已复制。", snippet: "代码", edited: "修改时间", none: "还没有代码。",
      menuOn: "开启导航菜单", rootPrompt: "提示语", addOption: "添加选项", remove: "删除",
      label: "选项", action: "动作", value: "内容", OpenUrl: "打开网页", AutoReply: "自动回复",
      ToAgent: "指定到工号", ToGroup: "指定到分组", HumanService: "人工服务", SubMenu: "下级菜单",
      subPrompt: "下级菜单提示语", available: "可用额度", reserved: "已预留", toppedUp: "累计充值",
      settled: "已结算", refunded: "已退还", points: "积分", pointsNote: "实际发送的消息每消费一元得一积分。",
      m_reports: "数据分析报表", report: "报表", from: "开始日期", to: "结束日期", show: "查询",
      csat: "满意度调查", work: "工作日报", trend: "访问量趋势", site: "网站分析",
      exportCsv: "导出 CSV", exportXlsx: "导出 Excel", download: "下载",
      tooLong: "时间范围最长 {n} 天。",
      badRange: "开始日期须早于结束日期。", agent: "工号", date: "日期", conversations: "会话量",
      customers: "独立 QQ 数", visits: "访问人次", unique: "独立访客", pageViews: "浏览量",
      consultations: "咨询量", referrer: "来源网站", total: "合计", satisfied: "满意率",
      noData: "此时间段没有数据。", opt: "选项"
    }
  };
  /* Words of the modules in their own files (centre-csat.js). */
  var extra = (window.KefuCentre && window.KefuCentre.text) || {};
  Object.keys(extra).forEach(function (l) {
    Object.keys(extra[l]).forEach(function (k) { if (I18N[l]) I18N[l][k] = extra[l][k]; });
  });
  /* The profile and style modules (centre-profile.js) bring their own strings. */
  var EXT = window.KefuCentreProfile || null;
  if (EXT) ["en", "zh"].forEach(function (l) {
    Object.keys(EXT.strings[l]).forEach(function (k) { I18N[l][k] = EXT.strings[l][k]; });
  });
  var query = new URLSearchParams(location.search);
  var lang = /^zh/.test(query.get("lang") || navigator.language || "") ? "zh" : "en";
  var T = I18N[lang];
  var IDLE_MS = 15 * 60 * 1000, RESUME_ID = 4294967295;
  var ws = null, calls = {}, reqId = 0, session = null, heartbeat = null, idleTimer = null;
  var $ = function (id) { return document.getElementById(id); };

  /* An element whose texts are set as text: kids are elements or strings. */
  function el(tag, props, kids) {
    var e = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "text") e.textContent = props[k];
      else if (k === "on") Object.keys(props.on).forEach(function (ev) { e.addEventListener(ev, props.on[ev]); });
      else if (k in e && k !== "className" && typeof props[k] !== "string") e[k] = props[k];
      else if (k === "className") e.className = props[k];
      else if (k === "value") e.value = props[k];
      else e.setAttribute(k, props[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function field(label, input) { return el("label", {}, [el("span", { text: label }), input]); }
  function select(cls, values, current) {
    return el("select", { className: cls }, values.map(function (v) {
      return el("option", { value: v, text: T[v] || v, selected: v === current });
    }));
  }
  function status(text) { $("status").textContent = text || ""; }
  function translate() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = T.title;
    $("title").textContent = T.title;
    $("lang").textContent = T.other;
    $("logout").textContent = T.logout;
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (e) {
      e.textContent = T[e.getAttribute("data-t")];
    });
  }

  /* The protocol's JSON messages (PROTOCOL.md "The JSON messages"). */
  function raw(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }
  function call(request) {
    return new Promise(function (resolve) {
      var id = ++reqId;
      calls[id] = resolve;
      raw({ id: id, request: request });
    });
  }
  /* The centre's WebSocket. `fresh`: for a sign-in (the gateway resumes nothing and
   * sets a new session cookie); otherwise the gateway resumes the session of the
   * browser's cookie, if it holds one, and says so first ({"centre":{"resuming":…}}). */
  function connect(onWelcome, fresh) {
    if (ws) { ws.onclose = null; ws.close(); clearInterval(heartbeat); }
    var resuming = false;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/centre/ws" + (fresh ? "?fresh=1" : ""));
    ws.onmessage = function (e) {
      var m = JSON.parse(e.data);
      if (m.centre) {
        resuming = m.centre.resuming === true;
      } else if (m.welcome) {
        heartbeat = setInterval(function () { raw({ ping: Date.now() }); },
          Math.max(1000, m.welcome.heartbeat_ms || 20000));
        onWelcome(resuming);
      } else if (m.id !== undefined) {
        var done = calls[m.id];
        delete calls[m.id];
        if (done) done({ r: m.response || null, err: m.error || null });
        // The daemon ended the session after 15 minutes without a request (39.5).
        if (m.error && m.error.code === 232 && session) signedOut(T.idle);
      } else if (m.seq !== undefined) {
        raw({ ack: m.seq });
      } else if (m.ping !== undefined) {
        raw({ pong: m.ping });
      }
    };
    ws.onclose = function () {
      ws = null;
      clearInterval(heartbeat);
      Object.keys(calls).forEach(function (id) { calls[id]({ r: null, err: { code: 0, message: T.closed } }); });
      calls = {};
      if (session) signedOut(T.closed);
    };
  }
  function errText(err) { return T.refused + " (" + err.code + "): " + err.message; }

  function signIn(ev) {
    ev.preventDefault();
    var m = /^\s*(\d{1,9})@(\d{1,19})\s*$/.exec($("si-user").value);
    if (!m) { $("si-err").textContent = T.badUser; return; }
    var otp = $("si-otp").value.trim();
    $("si-err").textContent = "";
    $("si-go").disabled = true;
    status(T.working);
    connect(function () {
      call({ CentreLogin: { account: Number(m[2]), agent: Number(m[1]), password: $("si-pass").value,
        otp: otp ? otp : null } }).then(signedIn);
    }, true);
  }
  function signedIn(a) {
    $("si-go").disabled = false;
    status("");
    $("si-pass").value = "";
    if (a.err || !a.r.LoggedIn) {
      $("si-err").textContent = a.err ? errText(a.err) : T.closed;
      if (ws) ws.close();
      return;
    }
    session = a.r.LoggedIn;
    // Resumable: the gateway keeps the token and binds this browser's cookie to it.
    call("EnableResume").then(showApp);
  }
  /* A reload: the gateway resumes the cookie's session, if any. */
  function resumeOrSignIn() {
    connect(function (resuming) {
      if (!resuming) { ws.onclose = null; ws.close(); $("si-user").focus(); return; }
      calls[RESUME_ID] = function (a) {
        if (a.err || !a.r.Resumed) { ws.onclose = null; ws.close(); signedOut(T.ended); return; }
        call("WhoAmI").then(function (w) {
          if (w.err || !w.r.Session) { signedOut(w.err ? errText(w.err) : T.closed); return; }
          session = w.r.Session;
          showApp();
        });
      };
    }, false);
  }
  /* A ticket from the desktop client (/centre/?ticket=HEX): used once, then taken out of
   * the address so it stays in no history. */
  function ticketSignIn(hex) {
    history.replaceState(null, "", location.pathname + (query.get("lang") ? "?lang=" + query.get("lang") : ""));
    var bytes = [];
    for (var i = 0; i + 1 < hex.length && bytes.length < 64; i += 2) bytes.push(parseInt(hex.substr(i, 2), 16) || 0);
    status(T.working);
    connect(function () { call({ CentreTicketLogin: { ticket: bytes } }).then(signedIn); }, true);
  }
  function signedOut(why) {
    session = null;
    clearTimeout(idleTimer);
    $("app").hidden = true;
    $("logout").hidden = true;
    $("who").textContent = "";
    $("signin").hidden = false;
    $("si-err").textContent = why || "";
    $("si-user").focus();
  }
  function logout(why) {
    var s = ws;
    session = null;
    if (s) call("Logout").then(function () { s.onclose = null; s.close(); });
    signedOut(typeof why === "string" ? why : "");
  }
  function touch() {
    clearTimeout(idleTimer);
    if (session) idleTimer = setTimeout(function () { logout(T.idle); }, IDLE_MS);
  }

  /* Modules, each behind its permission (PROTOCOL.md section 18.4's table). */
  var MODULES = [
    { id: "codes", perms: [16], centre: "ServiceConfig", render: renderCodes },
    { id: "menu", perms: [16], centre: "ServiceConfig", render: renderMenu },
    { id: "reports", perms: [16], centre: "ServiceConfig", render: renderReports },
    { id: "csat", perms: [16], centre: "ServiceConfig", render: function (view) {
      window.KefuCentre.csat(view, { el: el, call: call, T: T, field: field, status: status, errText: errText });
    } },
    { id: "points", perms: [13, 10], centre: "AccountInfo", render: renderPoints },
    { id: "account", perms: [13], centre: "AccountInfo", render: renderNotYet },
    { id: "space", perms: [14], centre: "EnterpriseSpace", render: renderNotYet },
    { id: "campaigns", perms: [15], centre: "Campaigns", render: renderNotYet },
    { id: "profile", perms: [13], centre: "AccountInfo", render: function (v) { EXT.profile(v, API); } },
    { id: "style", perms: [16], centre: "ServiceConfig", render: function (v) { EXT.style(v, API); } }
  ].filter(function (m) { return EXT || (m.id !== "profile" && m.id !== "style"); });
  /* What centre-profile.js is given. */
  var API = { el: el, field: field, call: call, status: status, errText: errText,
    T: function () { return T; } };
  function has(p) { return (session.permissions & (1 << (p - 1))) !== 0; }
  function showApp() {
    $("signin").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = session.agent + "@" + session.account + " " + session.nickname;
    var nav = $("nav");
    nav.textContent = "";
    var shown = MODULES.filter(function (m) { return m.perms.every(has); });
    shown.forEach(function (m) {
      nav.appendChild(el("button", { type: "button", id: "nav-" + m.id, text: T["m_" + m.id],
        on: { click: function () { open(m); } } }));
    });
    touch();
    if (shown.length) open(shown[0]); else $("view").textContent = "";
  }
  /* Opening a module asks the daemon for its ticket first: the daemon, not the page,
   * decides whether this agent may enter it. */
  function open(m) {
    Array.prototype.forEach.call($("nav").children, function (b) {
      if (b.id === "nav-" + m.id) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    });
    var view = $("view");
    view.textContent = "";
    view.setAttribute("data-module", m.id);
    call({ AccountCentreTicket: { module: m.centre } }).then(function (a) {
      if (a.err) { view.appendChild(el("p", { className: "err", text: errText(a.err) })); return; }
      view.appendChild(el("h2", { text: T["m_" + m.id] }));
      m.render(view);
      view.focus();
    });
  }
  function renderNotYet(view) { view.appendChild(el("p", { className: "notice", text: T.notYet })); }

  /* At security level medium the daemon asks a token code for value-added data
   * (OTP_REQUIRED 34, OTP_INVALID 35, OTP_REPLAYED 36): the page asks for it. */
  function renderPoints(view, otp) {
    call({ GetBalance: { otp: otp || null } }).then(function (a) {
      if (a.err) {
        view.appendChild(el("p", { className: "err", text: errText(a.err) }));
        if (a.err.code >= 34 && a.err.code <= 36) {
          var code = el("input", { className: "p-otp", inputmode: "numeric", maxlength: "8" });
          var form = el("form", { className: "row" }, [field(T.otp, code),
            el("button", { type: "submit", text: T.show })]);
          form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            while (view.children.length > 1) view.removeChild(view.lastChild);
            renderPoints(view, code.value.trim());
          });
          view.appendChild(form);
          code.focus();
        }
        return;
      }
      var b = a.r.Balance;
      var rows = [["points", b.points], ["available", b.available], ["reserved", b.reserved],
        ["toppedUp", b.topped_up], ["settled", b.settled], ["refunded", b.refunded]];
      view.appendChild(el("table", { className: "balance" }, rows.map(function (r) {
        return el("tr", {}, [el("th", { text: T[r[0]] }), el("td", { className: "b-" + r[0], text: String(r[1]) })]);
      })));
      view.appendChild(el("p", { className: "hint", text: T.pointsNote }));
    });
  }

  /* Reports (S2–S5): tables and SVG charts drawn here; date ranges as the manual
   * allows (CSAT and the work report 180 days, visits 366; 7 days by default). */
  var REPORTS = { csat: 180, work: 180, trend: 366, site: 366 };
  var DAY_MS = 86400000;
  function dayOf(iso) { var p = iso.split("-"); return Math.floor(Date.UTC(+p[0], +p[1] - 1, +p[2]) / DAY_MS); }
  function isoOf(day) { return new Date(day * DAY_MS).toISOString().slice(0, 10); }
  function dateOf(day) { var d = new Date(day * DAY_MS); return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }; }
  function dateText(d) { return d.year + "-" + ("0" + d.month).slice(-2) + "-" + ("0" + d.day).slice(-2); }
  function renderReports(view) {
    call("GetServerTime").then(function (a) {
      var today = a.r && a.r.Clock ? Math.floor(a.r.Clock.unix_ms / DAY_MS) : Math.floor(Date.now() / DAY_MS);
      var kind = select("r-kind", Object.keys(REPORTS), "csat");
      var from = el("input", { type: "date", className: "r-from", value: isoOf(today - 6) });
      var to = el("input", { type: "date", className: "r-to", value: isoOf(today) });
      var out = el("div", { className: "r-out", "aria-live": "polite" });
      var err = el("p", { className: "err", role: "alert" });
      var form = el("form", { className: "card row" }, [field(T.report, kind), field(T.from, from), field(T.to, to),
        el("button", { type: "submit", className: "r-show", text: T.show })]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        err.textContent = "";
        out.textContent = "";
        var f = dayOf(from.value), t = dayOf(to.value), max = REPORTS[kind.value];
        if (!(f <= t)) { err.textContent = T.badRange; return; }
        if (t - f + 1 > max) { err.textContent = T.tooLong.replace("{n}", max); return; }
        runReport(kind.value, f, t, out, err);
      });
      view.appendChild(form);
      view.appendChild(err);
      view.appendChild(out);
    });
  }
  function runReport(kind, f, t, out, err) {
    var req = kind === "csat" ? { CsatReport: { from: f, to: t, detail: false, after: null } }
      : kind === "work" ? { GetWorkReport: { from: dateOf(f), to: dateOf(t), agent: null } }
      : kind === "trend" ? { GetVisitTrend: { from_day: f, until_day: t } }
      : { GetSiteAnalytics: { from_day: f, until_day: t } };
    call(req).then(function (a) {
      if (a.err) { err.textContent = errText(a.err); return; }
      var r = a.r, head, rows, bars;
      if (kind === "csat") {
        var lines = r.CsatReport.lines;
        head = [T.agent, T.opt + " 1", T.opt + " 2", T.opt + " 3", T.opt + " 4", T.opt + " 5", T.total, T.satisfied];
        rows = lines.map(function (l) {
          var total = l.counts.reduce(function (x, y) { return x + y; }, 0);
          var sat = total ? Math.round((l.counts[3] + l.counts[4]) * 1000 / total) / 10 + "%" : "–";
          return [l.agent].concat(l.counts, [total, sat]);
        });
        bars = lines.map(function (l) { return [String(l.agent), l.counts.reduce(function (x, y) { return x + y; }, 0)]; });
      } else if (kind === "work") {
        head = [T.date, T.agent, T.conversations, T.customers];
        rows = r.WorkReport.map(function (w) { return [dateText(w.date), w.agent, w.conversations, w.customers]; });
        var per = {};
        r.WorkReport.forEach(function (w) { var k = dateText(w.date); per[k] = (per[k] || 0) + w.conversations; });
        bars = Object.keys(per).map(function (k) { return [k.slice(5), per[k]]; });
      } else {
        var days = kind === "trend" ? r.VisitTrend : r.SiteAnalytics.days;
        head = [T.date, T.visits, T.unique, T.pageViews, T.consultations];
        rows = days.map(function (d) { return [isoOf(d.day), d.visits, d.unique_visitors, d.page_views, d.consultations]; });
        bars = days.map(function (d) { return [isoOf(d.day).slice(5), d.visits]; });
      }
      out.appendChild(chart(bars, T[kind]));
      out.appendChild(rows.length ? table(head, rows, "r-table") : el("p", { className: "r-empty", text: T.noData }));
      if (kind === "site" && r.SiteAnalytics.referrers.length) {
        out.appendChild(table([T.referrer, T.visits], r.SiteAnalytics.referrers.map(function (n) {
          return [n.name, n.count];
        }), "r-referrers"));
      }
      out.appendChild(exportRow(kind, f, t));
    });
  }
  function table(head, rows, cls) {
    return el("table", { className: cls }, [el("tr", {}, head.map(function (h) { return el("th", { text: String(h) }); }))]
      .concat(rows.map(function (r) { return el("tr", {}, r.map(function (c) { return el("td", { text: String(c) }); })); })));
  }
  /* A bar chart in SVG, made of elements (no markup from data). */
  function chart(bars, title) {
    var NS = "http://www.w3.org/2000/svg", w = 640, h = 180, pad = 24;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("class", "r-chart");
    svg.setAttribute("role", "img");
    var t = document.createElementNS(NS, "title");
    t.textContent = title;
    svg.appendChild(t);
    var max = Math.max.apply(null, bars.map(function (b) { return b[1]; }).concat([1]));
    var step = (w - pad) / Math.max(bars.length, 1);
    bars.forEach(function (b, i) {
      var bh = Math.round((h - 2 * pad) * b[1] / max);
      var r = document.createElementNS(NS, "rect");
      r.setAttribute("x", String(pad + i * step + step * 0.15));
      r.setAttribute("y", String(h - pad - bh));
      r.setAttribute("width", String(Math.max(step * 0.7, 1)));
      r.setAttribute("height", String(bh));
      r.setAttribute("fill", "#1d4f91");
      var tip = document.createElementNS(NS, "title");
      tip.textContent = b[0] + ": " + b[1];
      r.appendChild(tip);
      svg.appendChild(r);
      if (bars.length <= 31) {
        var label = document.createElementNS(NS, "text");
        label.setAttribute("x", String(pad + i * step + step / 2));
        label.setAttribute("y", String(h - 6));
        label.setAttribute("font-size", "10");
        label.setAttribute("text-anchor", "middle");
        label.textContent = b[0];
        svg.appendChild(label);
      }
    });
    return svg;
  }
  /* Exports through ExportReport/ExportChunk (PROTOCOL.md section 36): the chunks are
   * put together in the page and offered as a file; the report kind is the page's. */
  function exportRow(kind, f, t) {
    var row = el("div", { className: "row r-export" });
    var report = kind === "csat" ? { Csat: { from: f, to: t } }
      : kind === "work" ? { WorkReport: { from: dateOf(f), to: dateOf(t), agent: null } }
      : kind === "trend" ? { VisitTrend: { from_day: f, until_day: t } }
      : { SiteAnalytics: { from_day: f, until_day: t } };
    [["Csv", T.exportCsv], ["Xlsx", T.exportXlsx]].forEach(function (x) {
      row.appendChild(el("button", { type: "button", className: "sec r-export-" + x[0].toLowerCase(), text: x[1],
        on: { click: function () { exportFile(report, x[0], row); } } }));
    });
    return row;
  }
  function exportFile(report, format, row) {
    var parts = [];
    function got(a) {
      if (a.err) { row.appendChild(el("p", { className: "err", text: errText(a.err) })); return; }
      var c = a.r.ExportData;
      parts.push(new Uint8Array(c.data));
      if (!c.last) { call({ ExportChunk: { export: c.export, index: c.index + 1 } }).then(got); return; }
      var type = format === "Csv" ? "text/csv" : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
      var link = el("a", { className: "r-file r-file-" + format.toLowerCase(), download: "report." + format.toLowerCase(),
        href: URL.createObjectURL(new Blob(parts, { type: type })), text: T.download + " report." + format.toLowerCase() });
      row.appendChild(link);
      link.focus();
    }
    call({ ExportReport: { report: report, format: format, otp: null } }).then(got);
  }

  /* Entry-point codes (W1, PROTOCOL.md section 31). */
  function renderCodes(view) {
    var form = codeForm(view, null);
    var list = el("div", { id: "codes" });
    view.appendChild(form);
    view.appendChild(el("h3", { text: T.codesBefore }));
    view.appendChild(list);
    loadCodes(list, view);
  }
  function loadCodes(list, view) {
    call("ListEntryCodes").then(function (a) {
      list.textContent = "";
      if (a.err) { list.appendChild(el("p", { className: "err", text: errText(a.err) })); return; }
      var codes = a.r.EntryCodes;
      if (!codes.length) { list.appendChild(el("p", { text: T.none })); return; }
      var head = el("tr", {}, ["#", T.description, T.kind, T.routing, T.siteUrl, T.edited, ""].map(function (h) {
        return el("th", { text: h });
      }));
      list.appendChild(el("table", {}, [head].concat(codes.map(function (c) {
        return el("tr", { "data-code": String(c.id) }, [
          el("td", { text: String(c.id) }),
          el("td", { className: "c-desc", text: c.draft.description }),
          el("td", { text: T[c.draft.kind] || c.draft.kind }),
          el("td", { text: routingText(c.draft.routing) }),
          el("td", { text: c.draft.site_url }),
          el("td", { text: new Date(c.edited_at).toLocaleString() }),
          el("td", {}, [el("button", { type: "button", className: "sec c-edit", text: T.edit,
            on: { click: function () { editCode(view, c); } } })])
        ]);
      }))));
    });
  }
  function routingText(r) {
    if (r === "Auto") return T.Auto;
    if (r.Agent !== undefined) return T.Agent + " " + r.Agent;
    return T.Group + " " + r.Group;
  }
  function editCode(view, code) {
    var old = view.querySelector("form.code");
    view.replaceChild(codeForm(view, code), old);
    view.querySelector(".f-desc").focus();
  }
  function snippetFor(id) {
    return "<script src=\"" + location.origin + "/chat.js\" data-account=\"" + session.account +
      "\" data-code=\"" + id + "\" async></" + "script>";
  }
  function codeForm(view, code) {
    var d = code ? code.draft : { description: "", kind: "Fixed", routing: "Auto", site_url: "https://", style: "A-01", anonymous: false };
    var route = d.routing === "Auto" ? "Auto" : d.routing.Agent !== undefined ? "Agent" : "Group";
    var routeValue = route === "Agent" ? String(d.routing.Agent) : route === "Group" ? d.routing.Group : "";
    var f = {
      desc: el("input", { className: "f-desc", value: d.description, maxlength: "200" }),
      kind: select("f-kind", ["Fixed", "Floating", "Link"], d.kind),
      route: select("f-route", ["Auto", "Agent", "Group"], route),
      routeValue: el("input", { className: "f-route-value", value: routeValue }),
      site: el("input", { className: "f-site", value: d.site_url, type: "url" }),
      style: el("input", { className: "f-style", value: d.style, maxlength: "32" }),
      anon: el("input", { className: "f-anon", type: "checkbox", checked: d.anonymous })
    };
    var err = el("p", { className: "err", role: "alert" });
    var kids = [
      el("h3", { text: code ? T.editCode + " #" + code.id : T.newCode }),
      field(T.description, f.desc),
      el("div", { className: "row" }, [field(T.kind, f.kind), field(T.routing, f.route),
        field(T.routeValue, f.routeValue), field(T.style, f.style)]),
      field(T.siteUrl, f.site),
      el("label", {}, [f.anon, " " + T.anonymous]),
      el("div", { className: "row" }, [el("button", { type: "submit", className: "f-save", text: T.save }),
        code ? el("button", { type: "button", className: "sec", text: T.cancel,
          on: { click: function () { view.replaceChild(codeForm(view, null), form); } } }) : null]),
      err
    ];
    if (code) {
      var snippet = el("textarea", { className: "snippet", readOnly: true, rows: 2, value: snippetFor(code.id) });
      kids.push(field(T.snippet, snippet));
      kids.push(el("button", { type: "button", className: "sec f-copy", text: T.copy, on: { click: function () {
        snippet.select();
        (navigator.clipboard ? navigator.clipboard.writeText(snippet.value) : Promise.resolve())
          .then(function () { status(T.copied); }, function () { status(T.copied); });
      } } }));
    }
    var form = el("form", { className: "card code" }, kids);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var r = f.route.value, v = f.routeValue.value.trim();
      var routing = r === "Auto" ? "Auto" : r === "Agent" ? { Agent: Number(v) || 0 } : { Group: v };
      var draft = { description: f.desc.value, kind: f.kind.value, routing: routing,
        site_url: f.site.value.trim(), style: f.style.value, anonymous: f.anon.checked };
      var req = code ? { EditEntryCode: { id: code.id, draft: draft } } : { CreateEntryCode: { draft: draft } };
      call(req).then(function (a) {
        if (a.err) { err.textContent = errText(a.err); return; }
        status(T.saved);
        var saved = a.r.EntryCode;
        view.replaceChild(codeForm(view, saved), form);
        loadCodes($("codes"), view);
      });
    });
    return form;
  }

  /* Navigation menu (M4, PROTOCOL.md section 25): edited as a tree of two levels,
   * sent flat (node 0 the root, a sub-menu naming its node by index). */
  var ACTIONS = ["AutoReply", "OpenUrl", "ToAgent", "ToGroup", "HumanService", "SubMenu"];
  function treeOf(nodes, i, depth) {
    var n = nodes[i] || { prompt: "", options: [] };
    return { prompt: n.prompt, options: n.options.map(function (o) {
      var type = typeof o.action === "string" ? o.action : Object.keys(o.action)[0];
      var value = typeof o.action === "string" ? "" : o.action[type];
      var sub = type === "SubMenu" && depth < 5 ? treeOf(nodes, value, depth + 1) : null;
      return { label: o.label, type: type, value: type === "SubMenu" ? "" : String(value), sub: sub };
    }) };
  }
  function flatten(tree) {
    var nodes = [];
    (function add(t) {
      var node = { prompt: t.prompt, options: [] };
      nodes.push(node);
      t.options.forEach(function (o) {
        var action;
        if (o.type === "HumanService") action = "HumanService";
        else if (o.type === "SubMenu") action = { SubMenu: add(o.sub || { prompt: "", options: [] }) };
        else if (o.type === "ToAgent") action = { ToAgent: Number(o.value) || 0 };
        else { action = {}; action[o.type] = o.value; }
        node.options.push({ label: o.label, action: action });
      });
      return nodes.indexOf(node);
    })(tree);
    return nodes;
  }
  function renderMenu(view) {
    call("GetNavigationMenu").then(function (a) {
      if (a.err) { view.appendChild(el("p", { className: "err", text: errText(a.err) })); return; }
      var menu = a.r.NavigationMenu;
      var state = { enabled: menu.enabled, tree: menu.nodes.length ? treeOf(menu.nodes, 0, 1) : { prompt: "", options: [] } };
      var body = el("div", { className: "card menu" });
      var err = el("p", { className: "err", role: "alert" });
      var enabled = el("input", { type: "checkbox", className: "menu-enabled", checked: state.enabled,
        on: { change: function () { state.enabled = enabled.checked; } } });
      var save = el("button", { type: "button", className: "menu-save", text: T.save, on: { click: function () {
        err.textContent = "";
        call({ SetNavigationMenu: { menu: { enabled: state.enabled, nodes: flatten(state.tree) } } }).then(function (s) {
          if (s.err) err.textContent = errText(s.err); else status(T.saved);
        });
      } } });
      view.appendChild(el("label", {}, [enabled, " " + T.menuOn]));
      view.appendChild(body);
      view.appendChild(save);
      view.appendChild(err);
      drawNode(body, state.tree, 1);
    });
  }
  function drawNode(box, node, level) {
    box.textContent = "";
    var prompt = el("textarea", { className: "menu-prompt", rows: 2, value: node.prompt,
      on: { input: function () { node.prompt = prompt.value; } } });
    box.appendChild(field(level === 1 ? T.rootPrompt : T.subPrompt, prompt));
    node.options.forEach(function (o, i) {
      var types = level === 1 ? ACTIONS : ACTIONS.filter(function (t) { return t !== "SubMenu"; });
      var label = el("input", { className: "opt-label", value: o.label, maxlength: "50",
        on: { input: function () { o.label = label.value; } } });
      var type = select("opt-type", types, o.type);
      var value = el("input", { className: "opt-value", value: o.value,
        on: { input: function () { o.value = value.value; } } });
      value.hidden = o.type === "HumanService" || o.type === "SubMenu";
      var sub = el("div", { className: "sub" });
      type.addEventListener("change", function () {
        o.type = type.value;
        if (o.type === "SubMenu" && !o.sub) o.sub = { prompt: "", options: [] };
        drawNode(box, node, level);
      });
      var row = el("div", { className: "opt", "data-level": String(level) }, [
        el("div", { className: "row" }, [field(T.label, label), field(T.action, type), field(T.value, value),
          el("button", { type: "button", className: "sec opt-remove", text: T.remove, on: { click: function () {
            node.options.splice(i, 1);
            drawNode(box, node, level);
          } } })])
      ]);
      if (o.type === "SubMenu") { row.appendChild(sub); drawNode(sub, o.sub, level + 1); }
      box.appendChild(row);
    });
    box.appendChild(el("button", { type: "button", className: "sec add-opt", text: T.addOption, on: { click: function () {
      node.options.push({ label: "", type: "AutoReply", value: "", sub: null });
      drawNode(box, node, level);
      var labels = box.querySelectorAll(":scope > .opt .opt-label");
      if (labels.length) labels[labels.length - 1].focus();
    } } }));
  }

  translate();
  if (/^[0-9a-fA-F]{2,128}$/.test(query.get("ticket") || "")) ticketSignIn(query.get("ticket"));
  else resumeOrSignIn();
  $("signin").addEventListener("submit", signIn);
  $("logout").addEventListener("click", logout);
  $("lang").addEventListener("click", function () {
    lang = lang === "zh" ? "en" : "zh";
    T = I18N[lang];
    translate();
    if (session) showApp();
  });
  ["keydown", "pointerdown"].forEach(function (ev) { document.addEventListener(ev, touch, true); });
})();
