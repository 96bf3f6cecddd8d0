/* The account centre's enterprise profile (E1, permission 13) and chat-window style (E2,
 * permission 16) modules, both edited under review (PROTOCOL.md section 41). Loaded
 * before centre.js, which calls them with its helpers (api: el, field, call, status,
 * errText, T). Everything from the network is set as text or as a form value, never
 * as HTML; a link in the preview gets an href only when it is http(s). */
(function () {
  "use strict";
  var STRINGS = {
    en: {
      m_profile: "Enterprise profile", m_style: "Chat window style",
      current: "In force", pendingSince: "Waiting for review since", rejectedAt: "Rejected",
      reason: "Reason", nothing: "Nothing approved yet.", submit: "Submit for review",
      submitted: "Submitted: it waits for review.", reviewNote: "Changes take effect once reviewed.",
      fullName: "Full name", fullFixed: "Fixed once the account is opened.", shortName: "Short name",
      industry: "Industry", address: "Address", phone: "Phone", webSite: "Web site",
      profDesc: "Description", wTitle: "Window title", greeting: "Greeting", theme: "Theme colour",
      custom: "Custom (#rrggbb)", logo: "Logo image (https URL)", linkText: "Link text",
      linkUrl: "Link address (http or https)", preview: "Preview",
      blue: "Blue", green: "Green", red: "Red", orange: "Orange", purple: "Purple", grey: "Grey",
      pvTitle: "Customer service", pvAgent: "Hello, how can I help?", pvMe: "I have a question.",
      badUrl: "Only http:// or https:// addresses.", logoShown: "Logo"
    },
    zh: {
      m_profile: "企业资料", m_style: "聊天窗口定制",
      current: "当前生效", pendingSince: "审核中，提交于", rejectedAt: "未通过审核",
      reason: "原因", nothing: "尚无审核通过的内容。", submit: "提交审核",
      submitted: "已提交，等待审核。", reviewNote: "以下资料需通过审核后，方能生效。",
      fullName: "企业全称", fullFixed: "开号之后不可修改。", shortName: "对外名称",
      industry: "所属行业", address: "联系地址", phone: "联系电话", webSite: "公司主页",
      profDesc: "公司简介", wTitle: "窗口标题", greeting: "欢迎语", theme: "主题颜色",
      custom: "自定义 (#rrggbb)", logo: "标志图片（https 地址）", linkText: "链接文字",
      linkUrl: "跳转链接（http 或 https）", preview: "预览",
      blue: "蓝色", green: "绿色", red: "红色", orange: "橙色", purple: "紫色", grey: "灰色",
      pvTitle: "在线客服", pvAgent: "您好，有什么可以帮您？", pvMe: "我想咨询一下。",
      badUrl: "仅支持 http:// 或 https:// 地址。", logoShown: "标志"
    }
  };
  var PALETTE = [["blue", "#1677ff"], ["green", "#2e8b57"], ["red", "#d4380d"],
    ["orange", "#d46b08"], ["purple", "#722ed1"], ["grey", "#595959"]];
  var PROFILE_FIELDS = [
    ["full_name", "fullName", 100], ["short_name", "shortName", 30], ["industry", "industry", 50],
    ["address", "address", 200], ["phone", "phone", 30], ["web_site", "webSite", 512],
    ["description", "profDesc", 1000]
  ];
  var STYLE_TEXT = [["title", "wTitle", 30], ["greeting", "greeting", 200], ["logo_url", "logo", 512],
    ["link_text", "linkText", 30], ["link_url", "linkUrl", 512]];

  function when(ms) { return new Date(ms).toLocaleString(); }
  function httpUrl(u) { return /^https?:\/\/[^\s"'<>`\\]+$/i.test(u); }
  function colourOf(theme) {
    if (/^#[0-9a-fA-F]{6}$/.test(theme)) return theme.toLowerCase();
    var p = PALETTE.filter(function (c) { return c[0] === theme; })[0];
    return p ? p[1] : "#1677ff";
  }

  /* What is in force, what waits, what was refused: definition lists of text. */
  function stateBox(api, reviewed, fields, cls) {
    var T = api.T(), el = api.el;
    var box = el("div", { className: "rv-state " + cls });
    function list(edit) {
      return el("dl", {}, fields.reduce(function (kids, f) {
        kids.push(el("dt", { text: T[f[1]] }));
        kids.push(el("dd", { className: "v-" + f[0], text: String(edit[f[0]] || "") }));
        return kids;
      }, []));
    }
    var cur = el("div", { className: "card rv-current" }, [el("h3", { text: T.current })]);
    cur.appendChild(reviewed.current ? list(reviewed.current) : el("p", { text: T.nothing }));
    box.appendChild(cur);
    if (reviewed.pending) {
      box.appendChild(el("div", { className: "card rv-pending" }, [
        el("h3", { text: T.pendingSince + " " + when(reviewed.pending.at) }), list(reviewed.pending.edit)]));
    }
    if (reviewed.rejected) {
      box.appendChild(el("div", { className: "card rv-rejected" }, [
        el("h3", { text: T.rejectedAt + " " + when(reviewed.rejected.at) }),
        el("p", {}, [el("strong", { text: T.reason + ": " }),
          el("span", { className: "rv-reason", text: reviewed.rejected.reason })]),
        list(reviewed.rejected.edit)]));
    }
    return box;
  }

  /* The form's starting values: the edit waiting, else the one in force. */
  function startOf(reviewed, empty) {
    return (reviewed.pending && reviewed.pending.edit) || reviewed.current || empty;
  }

  function renderProfile(view, api) {
    var T = api.T(), el = api.el;
    api.call("GetEnterpriseProfile").then(function (a) {
      if (a.err) { view.appendChild(el("p", { className: "err", text: api.errText(a.err) })); return; }
      drawProfile(view, api, a.r.EnterpriseProfile);
    });
    view.appendChild(el("p", { className: "hint", text: T.reviewNote }));
  }
  function drawProfile(view, api, reviewed) {
    var T = api.T(), el = api.el;
    var old = view.querySelector(".rv-body");
    if (old) view.removeChild(old);
    var body = el("div", { className: "rv-body" });
    var start = startOf(reviewed, {});
    var inputs = {};
    var form = el("form", { className: "card p-form", autocomplete: "off" });
    PROFILE_FIELDS.forEach(function (f) {
      var long = f[0] === "description";
      var props = { className: "f-" + f[0], value: String(start[f[0]] || ""), maxLength: f[2] };
      if (long) props.rows = 5;
      var input = el(long ? "textarea" : "input", props);
      if (f[0] === "web_site") input.type = "url";
      if (f[0] === "full_name") {
        input.readOnly = true;
        input.setAttribute("aria-describedby", "p-fixed");
      }
      inputs[f[0]] = input;
      form.appendChild(api.field(T[f[1]], input));
      if (f[0] === "full_name") form.appendChild(el("p", { id: "p-fixed", className: "hint", text: T.fullFixed }));
    });
    var err = el("p", { className: "err p-err", role: "alert" });
    form.appendChild(el("button", { type: "submit", className: "p-submit", text: T.submit }));
    form.appendChild(err);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      err.textContent = "";
      var profile = {};
      PROFILE_FIELDS.forEach(function (f) { profile[f[0]] = inputs[f[0]].value; });
      if (profile.web_site && !httpUrl(profile.web_site)) { err.textContent = T.badUrl; return; }
      api.call({ SubmitEnterpriseProfile: { profile: profile } }).then(function (a) {
        if (a.err) { err.textContent = api.errText(a.err); return; }
        api.status(T.submitted);
        drawProfile(view, api, a.r.EnterpriseProfile);
      });
    });
    body.appendChild(stateBox(api, reviewed, PROFILE_FIELDS, "p-state"));
    body.appendChild(form);
    view.appendChild(body);
  }

  function renderStyle(view, api) {
    var T = api.T(), el = api.el;
    view.appendChild(el("p", { className: "hint", text: T.reviewNote }));
    api.call("GetChatWindowStyle").then(function (a) {
      if (a.err) { view.appendChild(el("p", { className: "err", text: api.errText(a.err) })); return; }
      drawStyle(view, api, a.r.ChatWindowStyle);
    });
  }
  /* An in-page mock of the visitors' chat window, redrawn as the fields change. */
  function preview(api) {
    var el = api.el, T = api.T();
    var title = el("span", { className: "pv-title" });
    var logo = el("span", { className: "pv-logo" });
    var head = el("div", { className: "pv-head" }, [logo, title]);
    var greeting = el("div", { className: "pv-msg pv-agent pv-greeting" });
    var me = el("div", { className: "pv-msg pv-me", text: T.pvMe });
    var link = el("a", { className: "pv-link", target: "_blank", rel: "noopener noreferrer" });
    var box = el("div", { className: "pv-window", role: "img", "aria-label": T.preview }, [
      head, link, el("div", { className: "pv-log" }, [greeting, me]), el("div", { className: "pv-input" })]);
    box.update = function (s) {
      var c = colourOf(s.theme);
      head.style.background = c;
      me.style.background = c;
      title.textContent = s.title || T.pvTitle;
      greeting.textContent = s.greeting || T.pvAgent;
      logo.textContent = httpUrl(s.logo_url) && /^https:/i.test(s.logo_url) ? "▣ " : "";
      logo.title = s.logo_url;
      link.textContent = s.link_text;
      link.hidden = !s.link_text;
      if (httpUrl(s.link_url)) link.href = s.link_url; else link.removeAttribute("href");
      box.setAttribute("data-colour", c);
    };
    return box;
  }
  function drawStyle(view, api, reviewed) {
    var T = api.T(), el = api.el;
    var old = view.querySelector(".rv-body");
    if (old) view.removeChild(old);
    var body = el("div", { className: "rv-body" });
    var start = startOf(reviewed, { title: "", greeting: "", theme: "#1677ff", logo_url: "", link_text: "", link_url: "" });
    var inputs = {};
    var form = el("form", { className: "card s-form", autocomplete: "off" });
    var pv = preview(api);
    function current() {
      var s = {};
      STYLE_TEXT.forEach(function (f) { s[f[0]] = inputs[f[0]].value; });
      s.theme = themeSel.value === "custom" ? custom.value.trim() : themeSel.value;
      return s;
    }
    function redraw() {
      customLabel.hidden = themeSel.value !== "custom";
      pv.update(current());
    }
    STYLE_TEXT.forEach(function (f) {
      var long = f[0] === "greeting";
      var props = { className: "f-" + f[0], value: String(start[f[0]] || ""), maxLength: f[2],
        on: { input: function () { redraw(); } } };
      if (long) props.rows = 3;
      var input = el(long ? "textarea" : "input", props);
      if (/_url$/.test(f[0])) input.type = "url";
      inputs[f[0]] = input;
    });
    var known = PALETTE.filter(function (p) { return p[1] === start.theme; })[0];
    var themeSel = el("select", { className: "f-theme", on: { change: function () { redraw(); } } },
      PALETTE.map(function (p) {
        return el("option", { value: p[0], text: T[p[0]] + " " + p[1], selected: !!known && known[0] === p[0] });
      }).concat([el("option", { value: "custom", text: T.custom, selected: !known })]));
    var custom = el("input", { className: "f-custom", value: known ? "" : start.theme, maxLength: 7,
      placeholder: "#1677ff", "aria-label": T.custom, on: { input: function () { redraw(); } } });
    form.appendChild(api.field(T.wTitle, inputs.title));
    form.appendChild(api.field(T.greeting, inputs.greeting));
    var customLabel = api.field(T.custom, custom);
    form.appendChild(el("div", { className: "row" }, [api.field(T.theme, themeSel), customLabel]));
    form.appendChild(api.field(T.logo, inputs.logo_url));
    form.appendChild(el("div", { className: "row" }, [api.field(T.linkText, inputs.link_text),
      api.field(T.linkUrl, inputs.link_url)]));
    var err = el("p", { className: "err s-err", role: "alert" });
    form.appendChild(el("button", { type: "submit", className: "s-submit", text: T.submit }));
    form.appendChild(err);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      err.textContent = "";
      var s = current();
      if ((s.link_url && !httpUrl(s.link_url)) || (s.logo_url && !/^https:\/\//i.test(s.logo_url))) {
        err.textContent = T.badUrl;
        return;
      }
      api.call({ SubmitChatWindowStyle: { style: s } }).then(function (a) {
        if (a.err) { err.textContent = api.errText(a.err); return; }
        api.status(T.submitted);
        drawStyle(view, api, a.r.ChatWindowStyle);
      });
    });
    body.appendChild(el("div", { className: "s-edit" }, [form,
      el("div", { className: "s-side" }, [el("h3", { text: T.preview }), pv])]));
    body.appendChild(stateBox(api, reviewed, STYLE_TEXT.concat([["theme", "theme"]]), "s-state"));
    view.appendChild(body);
    redraw();
  }

  window.KefuCentreProfile = { strings: STRINGS, profile: renderProfile, style: renderStyle };
})();
