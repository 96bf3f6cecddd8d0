/* The account centre's CSAT settings module (满意度调查设置, S1, manual §10.1.1;
 * PROTOCOL.md 39.3): surveys on or off, one of the three styles (its five labels
 * shown as the customer sees them), the reason survey for the lowest three options
 * with its preset reasons, and the weekly report's addresses. Read with
 * GetCsatSettings, saved whole with SetCsatSettings, then read back and shown again.
 * Loaded before centre.js, which calls KefuCentre.csat(view, kit) from its MODULES;
 * everything from the network goes in as text. */
(function () {
  "use strict";
  var K = window.KefuCentre = window.KefuCentre || {};
  K.text = K.text || { en: {}, zh: {} };
  var WORDS = {
    en: {
      m_csat: "Satisfaction survey", csOn: "Send a satisfaction survey when a valid conversation closes",
      csStyle: "Style", Words: "Words", Stars: "Stars", Faces: "Faces",
      csLabels: "The customer sees", csReasonsOn: "Ask why for the lowest three options",
      csReasons: "Preset reasons, one a line (at most 10, 1–50 characters each)",
      csSubscribers: "Weekly report to (one address a line, at most 10; sent on Mondays)",
      csValid: "A conversation is valid when both sides wrote, it has more than 10 messages and it closed within 30 minutes of the customer's last message.",
      csTooMany: "At most {n} lines.", csTooLongReason: "A reason has 1 to 50 characters: ",
      csSaved: "Saved; shown as the appliance keeps it."
    },
    zh: {
      m_csat: "满意度调查设置", csOn: "开启满意度调查（有效会话结束时自动发送）",
      csStyle: "调查样式", Words: "文字", Stars: "星级", Faces: "表情",
      csLabels: "客户看到的选项", csReasonsOn: "开启补充调查（客户选择后三个选项时询问原因）",
      csReasons: "预设原因，每行一个（最多 10 个，每个 1–50 字）",
      csSubscribers: "订阅满意度报表的邮箱，每行一个（最多 10 个，每周一发送）",
      csValid: "有效会话：包含双方消息，总消息条数大于 10 条，且关闭时间距客户最后一条消息不超过 30 分钟。",
      csTooMany: "最多 {n} 行。", csTooLongReason: "每个原因 1–50 字：",
      csSaved: "已保存，以下为服务器保存的设置。"
    }
  };
  Object.keys(WORDS).forEach(function (l) {
    K.text[l] = K.text[l] || {};
    Object.keys(WORDS[l]).forEach(function (k) { K.text[l][k] = WORDS[l][k]; });
  });
  /* The labels of options 1..5 of each style (wire CsatStyle::labels), best first. */
  var LABELS = {
    Words: ["很满意", "满意", "一般", "不满意", "很不满意"],
    Stars: ["★★★★★", "★★★★", "★★★", "★★", "★"],
    Faces: ["😄", "🙂", "😐", "🙁", "😠"]
  };
  var MAX_LINES = 10, MAX_REASON = 50;

  function lines(text) {
    return text.split("\n").map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; });
  }

  K.csat = function (view, kit) {
    var el = kit.el, T = kit.T;
    kit.call("GetCsatSettings").then(function (a) {
      if (a.err) { view.appendChild(el("p", { className: "err", text: kit.errText(a.err) })); return; }
      draw(view, kit, a.r.CsatSettings);
    });
    function draw(view, kit, s) {
      Array.prototype.slice.call(view.children, 1).forEach(function (c) { view.removeChild(c); });
      var card = el("form", { className: "card csat", autocomplete: "off" });
      var enabled = el("input", { type: "checkbox", className: "cs-enabled", checked: !!s.enabled });
      card.appendChild(el("label", {}, [enabled, " " + T.csOn]));
      card.appendChild(el("p", { className: "hint", text: T.csValid }));
      var preview = el("ol", { className: "cs-labels", "aria-live": "polite" });
      function showLabels(style) {
        preview.textContent = "";
        LABELS[style].forEach(function (l) { preview.appendChild(el("li", { text: l })); });
      }
      var styles = el("fieldset", { className: "cs-style" }, [el("legend", { text: T.csStyle })]);
      ["Words", "Stars", "Faces"].forEach(function (st) {
        var radio = el("input", { type: "radio", name: "cs-style", value: st, checked: s.style === st,
          on: { change: function () { showLabels(st); } } });
        styles.appendChild(el("label", { className: "cs-choice" }, [radio, " " + T[st] + " ",
          el("span", { className: "cs-sample", text: LABELS[st][0] })]));
      });
      card.appendChild(styles);
      card.appendChild(el("div", {}, [el("span", { className: "hint", text: T.csLabels }), preview]));
      showLabels(s.style);
      var reasonsOn = el("input", { type: "checkbox", className: "cs-reasons-enabled", checked: !!s.reasons_enabled });
      card.appendChild(el("label", {}, [reasonsOn, " " + T.csReasonsOn]));
      var reasons = el("textarea", { className: "cs-reasons", rows: 5, value: s.reasons.join("\n") });
      card.appendChild(kit.field(T.csReasons, reasons));
      var subs = el("textarea", { className: "cs-subscribers", rows: 3, value: s.subscribers.join("\n") });
      card.appendChild(kit.field(T.csSubscribers, subs));
      var err = el("p", { className: "err", role: "alert" });
      card.appendChild(el("button", { type: "submit", className: "cs-save", text: T.save }));
      card.appendChild(err);
      card.addEventListener("submit", function (ev) {
        ev.preventDefault();
        err.textContent = "";
        var rs = lines(reasons.value), ss = lines(subs.value);
        if (rs.length > MAX_LINES || ss.length > MAX_LINES) { err.textContent = T.csTooMany.replace("{n}", MAX_LINES); return; }
        var long = rs.filter(function (r) { return Array.from(r).length > MAX_REASON; });
        if (long.length) { err.textContent = T.csTooLongReason + long[0]; return; }
        var checked = card.querySelector("input[name=cs-style]:checked");
        var settings = { enabled: enabled.checked, style: checked ? checked.value : s.style,
          reasons_enabled: reasonsOn.checked, reasons: rs, subscribers: ss };
        kit.call({ SetCsatSettings: settings }).then(function (r) {
          if (r.err) { err.textContent = kit.errText(r.err); return; }
          kit.call("GetCsatSettings").then(function (b) {
            if (b.err) { err.textContent = kit.errText(b.err); return; }
            draw(view, kit, b.r.CsatSettings);
            kit.status(T.csSaved);
            var first = view.querySelector(".cs-enabled");
            if (first) first.focus();
          });
        });
      });
      view.appendChild(card);
    }
  };
})();
