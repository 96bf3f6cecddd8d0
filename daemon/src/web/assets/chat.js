/* Kefu visitor chat window (W2). Embedded by a site with
 *   <script src="http://HOST:PORT/chat.js" data-account="ACCOUNT" data-code="N" async></script>
 * (data-code optional: the entry-point code, W1, whose routing opens the conversation).
 * Reports each page (PageView, PageLeft; W3), shows invitations (W4) and the
 * satisfaction survey of a closed conversation (CsatSurvey → RateConversation; S1).
 * Shows the account's approved window style (E2, GetWindowStyle: title, greeting,
 * theme colour, logo, link; PROTOCOL.md section 41): texts as text, the colour only
 * as #rrggbb, the logo only from https and the link only to http(s).
 * Speaks the protocol's JSON encoding over the appliance's WebSocket (/ws;
 * PROTOCOL.md "The web gateway and the JSON encoding"). No dependencies.
 * The visitor token lives in localStorage (per account): it arrives in a WebSocket
 * message after the upgrade, so no HTTP response could set it as a cookie, and a
 * cookie of the appliance would be a third-party cookie on the customer's site. */
(function () {
  "use strict";
  var S = document.currentScript || document.querySelector("script[data-account]");
  if (!S || window.__kefuChat) return;
  window.__kefuChat = true;
  var account = Number(S.getAttribute("data-account"));
  var code = /^\d{1,9}$/.test(S.getAttribute("data-code") || "") ? Number(S.getAttribute("data-code")) : null;
  var base = new URL(S.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/ws";
  var qlang = new URLSearchParams(location.search).get("lang");
  var lang = (qlang || navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var T = {
    en: { open: "Chat with us", title: "Customer service", send: "Send", ph: "Type a message…",
      typing: "typing…", offline: "Reconnecting…", ended: "The conversation has ended.",
      image: "[image]", file: "[file]", failed: "not sent", yes: "Chat now", no: "Later",
      rate: "How satisfied are you with this service?", why: "Anything else? (optional)",
      submit: "Submit", thanks: "Thank you for your rating." },
    zh: { open: "在线客服", title: "在线客服", send: "发送", ph: "请输入消息…",
      typing: "正在输入…", offline: "正在重新连接…", ended: "会话已结束。",
      image: "[图片]", file: "[文件]", failed: "未发送", yes: "立即咨询", no: "稍后再说",
      rate: "您对本次服务满意吗？", why: "其他意见（可不填）", submit: "提交",
      thanks: "感谢您的评价。" }
  }[lang];
  var KEY = "kefu." + account + ".";
  function store(k, v) {
    try {
      if (v === undefined) return localStorage.getItem(KEY + k);
      localStorage.setItem(KEY + k, v);
    } catch (e) { return null; }
  }
  function load(k, dflt) {
    try { return JSON.parse(store(k)) || dflt; } catch (e) { return dflt; }
  }
  var token = load("token", null);
  var nextCid = Number(store("cid") || 1);
  var pending = load("pending", []);
  var conv = null, ws = null, ready = false, reqId = 0, calls = {}, shown = {}, opening = false;
  var backoff = 500, heartbeat = null, typingTimer = null, typingSent = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  var css = el("link");
  css.rel = "stylesheet";
  css.href = base.origin + "/kefu.css";
  document.head.appendChild(css);
  var root = el("div", "kefu-root");
  root.lang = lang;
  var openBtn = el("button", "kefu-open", T.open);
  var panel = el("div", "kefu-panel");
  var head = el("div", "kefu-head");
  var title = el("span", "kefu-title", T.title);
  var agentName = el("span", "kefu-agent-name");
  var closeBtn = el("button", "kefu-close", "×");
  var log = el("div", "kefu-log");
  var menu = el("div", "kefu-menu");
  var status = el("div", "kefu-status");
  var form = el("form", "kefu-form");
  var input = el("input", "kefu-input");
  var sendBtn = el("button", "kefu-send", T.send);
  var invite = el("div", "kefu-invite");
  input.placeholder = T.ph;
  input.maxLength = 4000;
  sendBtn.type = "submit";
  head.append(title, agentName, closeBtn);
  form.append(input, sendBtn);
  panel.append(head, log, menu, status, form);
  root.append(invite, openBtn, panel);
  document.body.appendChild(root);
  function setOpen(on) {
    root.classList.toggle("kefu-shown", on);
    store("open", on ? "1" : "0");
    if (on) { input.focus(); if (conv === null) openConversation(); }
  }
  openBtn.onclick = function () { setOpen(true); };
  closeBtn.onclick = function () { setOpen(false); };
  if (store("open") === "1") setOpen(true);

  function bodyText(b) {
    if (b.Text !== undefined) return b.Text;
    if (b.Image) return T.image + " " + b.Image.reference;
    if (b.File) return T.file + " " + b.File.name;
    return "";
  }
  function bubble(who, text, body) {
    var m = el("div", "kefu-msg kefu-" + who, text);
    // An image whose reference is a web address is shown; other references as a label.
    if (body && body.Image && /^https?:\/\//.test(body.Image.reference)) {
      var img = el("img", "kefu-img");
      img.alt = text;
      img.src = body.Image.reference;
      m.textContent = "";
      m.appendChild(img);
    }
    log.appendChild(m);
    log.scrollTop = log.scrollHeight;
    return m;
  }
  function who(from) {
    return from === "Customer" ? "me" : from === "System" ? "system" : "agent";
  }
  function addMessage(m) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    bubble(who(m.from), bodyText(m.body), m.body).dataset.id = m.id;
  }
  function lastShown() {
    var ids = Object.keys(shown).map(Number);
    return ids.length ? Math.max.apply(null, ids) : 0;
  }

  function raw(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }
  function call(request, cb) {
    var id = ++reqId;
    calls[id] = cb || function () {};
    raw({ id: id, request: request });
  }
  function connect() {
    ready = false;
    ws = new WebSocket(wsUrl);
    ws.onmessage = function (e) {
      var m = JSON.parse(e.data);
      if (m.welcome) {
        clearInterval(heartbeat);
        heartbeat = setInterval(function () { raw({ ping: Date.now() }); },
          Math.max(1000, m.welcome.heartbeat_ms || 20000));
        login();
      } else if (m.id !== undefined) {
        var cb = calls[m.id];
        delete calls[m.id];
        if (cb) cb(m.response || null, m.error || null);
      } else if (m.event) {
        raw({ ack: m.seq });
        onEvent(m.event);
      }
    };
    ws.onclose = function () {
      ws = null;
      ready = opening = false;
      calls = {};
      clearInterval(heartbeat);
      status.textContent = T.offline;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }
  function login() {
    call({ VisitorLogin: { account: account, token: token, channel: "Web" } }, function (r, err) {
      if (err || !r.CustomerLoggedIn) {
        // A token the appliance no longer knows: start over as a new visitor.
        if (token) { token = null; store("token", "null"); login(); }
        return;
      }
      var s = r.CustomerLoggedIn;
      if (s.visitor_token) { token = s.visitor_token; store("token", JSON.stringify(token)); }
      backoff = 500;
      status.textContent = "";
      pageView();
      call("GetWindowStyle", function (w) { if (w && w.WindowStyle) applyStyle(w.WindowStyle); });
      // Continue an open conversation; a new one opens when the visitor opens the
      // window, writes or accepts an invitation (so that it can be invited first).
      if (store("talking") === "1" || root.classList.contains("kefu-shown")) openConversation();
    });
  }
  /* The approved style (E2): every value checked here too, whatever the appliance said. */
  var styled = false;
  function applyStyle(st) {
    if (styled) return;
    styled = true;
    if (st.title) title.textContent = st.title.slice(0, 30);
    if (/^#[0-9a-fA-F]{6}$/.test(st.theme || "")) root.style.setProperty("--kefu-theme", st.theme);
    if (/^https:\/\/[^\s"'<>`\\]+$/i.test(st.logo_url || "")) {
      var img = el("img", "kefu-logo");
      img.alt = "";
      img.referrerPolicy = "no-referrer";
      img.src = st.logo_url;
      head.insertBefore(img, title);
    }
    if (st.link_text && /^https?:\/\/[^\s"'<>`\\]+$/i.test(st.link_url || "")) {
      var a = el("a", "kefu-link", st.link_text);
      a.href = st.link_url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      panel.insertBefore(a, log);
    }
    if (st.greeting) log.insertBefore(el("div", "kefu-greeting", st.greeting), log.firstChild);
  }
  function pageView() {
    var u = location.href, r = document.referrer;
    if (!/^https?:/.test(u) || u.length > 2048) return;
    call({ PageView: { url: u, title: document.title.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, 200),
      referrer: /^https?:/.test(r) && r.length <= 2048 ? r : "" } });
  }
  addEventListener("pagehide", function () { call("PageLeft"); });
  function opened(c) {
    opening = false;
    if (!c) return;
    conv = c.conversation;
    store("talking", "1");
    ready = true;
    showAgent();
    catchUp();
  }
  function openConversation() {
    if (opening || !ws || ws.readyState !== 1) return;
    opening = true;
    var req = code === null ? { OpenConversation: { entry: "Auto" } } : { OpenConversationByCode: { id: code } };
    call(req, function (r) { opened(r && r.Conversation); });
  }
  function showInvitation(inv) {
    var yes = el("button", "kefu-yes", T.yes), no = el("button", "kefu-no", T.no);
    invite.textContent = "";
    invite.append(el("div", "kefu-invite-text", inv.text), yes, no);
    root.classList.add("kefu-invited");
    function answer(accept) {
      root.classList.remove("kefu-invited");
      if (accept) { opening = true; setOpen(true); }
      call({ AnswerInvitation: { invitation: inv.invitation, accept: accept } }, function (r) {
        if (accept) opened(r && r.Conversation);
      });
    }
    yes.onclick = function () { answer(true); };
    no.onclick = function () { answer(false); };
  }
  function catchUp() {
    call({ ConversationMessages: { conversation: conv, after: lastShown(), limit: 500 } },
      function (r) {
        (r && r.Messages || []).forEach(addMessage);
        pending.forEach(trySend);
      });
  }
  function showAgent() {
    call("ServingAgent", function (r) {
      var a = r && r.ServingAgent;
      agentName.textContent = a ? a.shown_as : "";
    });
  }
  function savePending() { store("pending", JSON.stringify(pending)); }
  function trySend(p) {
    if (!ready) return;
    call({ SendMessage: { conversation: conv, client_msg_id: p.cid, body: { Text: p.text } } },
      function (r, err) {
        var node = log.querySelector('[data-cid="' + p.cid + '"]');
        if (r && r.Sent) {
          pending = pending.filter(function (q) { return q.cid !== p.cid; });
          savePending();
          if (shown[r.Sent.message]) { if (node) node.remove(); }
          else if (node) { shown[r.Sent.message] = true; node.dataset.id = r.Sent.message; node.removeAttribute("data-cid"); }
        } else if (err && node) {
          node.classList.add("kefu-failed");
          node.title = T.failed + ": " + err.message;
        }
      });
  }
  function pendingBubble(p) { bubble("me", p.text).dataset.cid = p.cid; }
  pending.forEach(pendingBubble);
  form.onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    var p = { cid: nextCid++, text: text };
    store("cid", String(nextCid));
    pending.push(p);
    savePending();
    pendingBubble(p);
    stopTyping();
    if (conv === null) openConversation();
    else trySend(p);
  };
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent && ready) call({ Signal: { conversation: conv, signal: "TypingStopped" } });
    typingSent = false;
  }
  input.oninput = function () {
    if (!ready) return;
    if (!typingSent) { typingSent = true; call({ Signal: { conversation: conv, signal: "TypingStarted" } }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  };
  function onEvent(ev) {
    if (ev.Message && ev.Message.conversation === conv) {
      addMessage(ev.Message);
      status.textContent = "";
    } else if (ev.Signal && ev.Signal.conversation === conv && ev.Signal.from !== "Customer") {
      status.textContent = ev.Signal.signal === "TypingStarted" ? T.typing : "";
    } else if (ev.ConversationChanged && ev.ConversationChanged.conversation === conv) {
      var st = ev.ConversationChanged.state;
      if (st === "Closed") {
        bubble("system", T.ended); conv = null; ready = false; agentName.textContent = ""; store("talking", "0");
      }
      else showAgent();
    } else if (ev.MenuShown) {
      showMenu(ev.MenuShown);
    } else if (ev.Invitation) {
      showInvitation(ev.Invitation);
    } else if (ev.CsatSurvey) {
      showSurvey(ev.CsatSurvey);
    }
  }
  // The satisfaction survey (S1): five options; for the lowest three, when the account
  // offers them, the preset reasons and own words before submitting.
  function showSurvey(s) {
    var box = el("div", "kefu-survey"), more = el("div", "kefu-reasons");
    var words = el("input", "kefu-input kefu-words"), submit = el("button", "kefu-yes", T.submit);
    var picked = 0, chosen = [];
    function asks() { return picked <= 3 && s.reasons.length > 0; }
    function rate() {
      var ask = asks();
      call({ RateConversation: { conversation: s.conversation, rating: picked,
        reasons: ask ? chosen : [], text: ask ? words.value.trim() : "" } }, function (r, err) {
        box.textContent = "";
        box.appendChild(el("div", "kefu-thanks", err ? err.message : T.thanks));
      });
    }
    box.appendChild(el("div", "kefu-prompt", T.rate));
    s.labels.forEach(function (label, i) {
      var b = el("button", "kefu-option kefu-rate", label);
      b.type = "button";
      b.dataset.rating = i + 1;
      b.onclick = function () {
        picked = i + 1;
        box.querySelectorAll(".kefu-rate").forEach(function (x) { x.classList.toggle("kefu-picked", x === b); });
        more.style.display = asks() ? "" : "none";
        if (!asks()) rate();
      };
      box.appendChild(b);
    });
    s.reasons.forEach(function (text, i) {
      var label = el("label", "kefu-reason"), tick = el("input");
      tick.type = "checkbox";
      tick.dataset.reason = i;
      tick.onchange = function () {
        chosen = chosen.filter(function (j) { return j !== i; });
        if (tick.checked) chosen.push(i);
      };
      label.append(tick, document.createTextNode(" " + text));
      more.appendChild(label);
    });
    words.maxLength = 200;
    words.placeholder = T.why;
    submit.type = "button";
    submit.onclick = rate;
    more.append(words, submit);
    more.style.display = "none";
    box.appendChild(more);
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }
  function showMenu(p) {
    menu.textContent = "";
    menu.appendChild(el("div", "kefu-prompt", p.prompt));
    p.options.forEach(function (label, i) {
      var b = el("button", "kefu-option", label);
      b.type = "button";
      b.onclick = function () {
        call({ ChooseMenuOption: { conversation: p.conversation, node: p.node, option: i } }, function (r) {
          var step = r && r.MenuStep;
          if (!step) return;
          menu.textContent = "";
          if (step.Prompt) showMenu(step.Prompt);
          else if (step.OpenUrl) window.open(step.OpenUrl.url, "_blank", "noopener");
          else if (step.AutoReply) bubble("system", step.AutoReply.text);
          else if (step.Routed) { conv = step.Routed.conversation; showAgent(); }
        });
      };
      menu.appendChild(b);
    });
  }
  connect();
})();
