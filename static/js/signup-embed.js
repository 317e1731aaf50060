// The signup form a store pastes on its own site as one tag:
//   <script src="https://APP/static/js/signup-embed.js" data-store="SLUG" async></script>
// It reads the store's settings from the app, shows the form (a popup after some seconds, on exit
// intent, or inline where the tag is) and posts the number to the app, which texts "Reply Y".
// The admin's live preview draws the same form with `SmsSignupEmbed.render`.
(function () {
  "use strict";

  var script = document.currentScript;

  function el(tag, style, text) {
    var node = document.createElement(tag);
    if (style) node.setAttribute("style", style);
    if (text) node.textContent = text;
    return node;
  }

  function render(host, cfg, submit) {
    host.textContent = "";
    var box = el("form", "box-sizing:border-box;max-width:380px;padding:24px;border-radius:12px;" +
      "font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:" + cfg.background_colour +
      ";color:" + cfg.text_colour + ";box-shadow:0 8px 30px rgba(0,0,0,.18)");
    box.setAttribute("data-sms-signup", "");
    box.noValidate = true;
    box.appendChild(el("h2", "margin:0 0 8px;font-size:22px;line-height:1.2;color:inherit;text-transform:none;" +
      "letter-spacing:normal;background:none;padding:0;font-weight:700", cfg.headline));
    box.appendChild(el("p", "margin:0 0 14px", cfg.text));
    var phone = el("input", "box-sizing:border-box;width:100%;padding:10px 12px;margin:0 0 10px;border:1px solid #8c959f;" +
      "border-radius:6px;font:inherit;color:#1f2328;background:#fff");
    phone.type = "tel";
    phone.name = "phone";
    phone.autocomplete = "tel";
    phone.placeholder = "Mobile number";
    phone.setAttribute("aria-label", "Mobile number");
    box.appendChild(phone);
    var answer = null;
    if (cfg.question && cfg.choices && cfg.choices.length) {
      box.appendChild(el("label", "display:block;margin:0 0 4px;font-weight:600", cfg.question_label));
      answer = el("select", "box-sizing:border-box;width:100%;padding:8px;margin:0 0 10px;border-radius:6px;font:inherit");
      answer.name = "answer";
      answer.appendChild(el("option", "", "—"));
      cfg.choices.forEach(function (choice) {
        var option = el("option", "", choice.label);
        option.value = choice.value;
        answer.appendChild(option);
      });
      box.appendChild(answer);
    }
    var consentLabel = el("label", "display:flex;gap:8px;align-items:flex-start;font-size:12px;margin:0 0 12px");
    var consent = el("input", "margin-top:2px");
    consent.type = "checkbox";
    consent.name = "consent";
    consentLabel.appendChild(consent);
    consentLabel.appendChild(el("span", "", cfg.consent_wording));
    box.appendChild(consentLabel);
    var error = el("p", "margin:0 0 10px;color:#b42318;font-weight:600");
    error.setAttribute("role", "alert");
    error.hidden = true;
    box.appendChild(error);
    var button = el("button", "width:100%;padding:11px;border:0;border-radius:6px;font:inherit;font-weight:600;" +
      "cursor:pointer;background:" + cfg.button_colour + ";color:" + cfg.button_text_colour, cfg.button_label);
    button.type = "submit";
    box.appendChild(button);
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!submit) return;
      error.hidden = true;
      button.disabled = true;
      submit({ phone: phone.value, consent: consent.checked, answer: answer ? answer.value : "" })
        .then(function (result) {
          button.disabled = false;
          if (result.ok) {
            box.textContent = "";
            var done = el("p", "margin:0;font-weight:600", result.message);
            done.setAttribute("data-sms-signup-done", "");
            box.appendChild(done);
          } else {
            error.textContent = result.message;
            error.hidden = false;
          }
        });
    });
    host.appendChild(box);
    return box;
  }

  window.SmsSignupEmbed = { render: render };
  var slug = script && script.getAttribute("data-store");
  if (!slug) return;
  var app = new URL(script.src).origin;

  function post(values) {
    return fetch(app + "/embed/" + encodeURIComponent(slug) + "/signup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(values),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) return { ok: true, message: body.message };
          var first = (body.errors || [])[0] || {};
          return { ok: false, message: first.message || "Something went wrong: please try again." };
        });
      })
      .catch(function () {
        return { ok: false, message: "We could not reach the sign-up service: please try again." };
      });
  }

  function popup(cfg) {
    if (document.querySelector("[data-sms-signup-overlay]")) return;
    var overlay = el("div", "position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;" +
      "justify-content:center;padding:16px;background:rgba(0,0,0,.45)");
    overlay.setAttribute("data-sms-signup-overlay", "");
    var frame = el("div", "position:relative");
    var close = el("button", "position:absolute;top:6px;right:10px;border:0;background:none;font-size:22px;" +
      "cursor:pointer;color:" + cfg.text_colour, "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { overlay.remove(); });
    render(frame, cfg, post);
    frame.appendChild(close);
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
  }

  fetch(app + "/embed/" + encodeURIComponent(slug) + "/settings")
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (cfg) {
      if (!cfg || !cfg.enabled) return;
      if (cfg.display === "inline") {
        var host = el("div", "");
        script.parentNode.insertBefore(host, script.nextSibling);
        render(host, cfg, post);
      } else if (cfg.display === "exit") {
        document.addEventListener("mouseout", function leaving(event) {
          if (!event.relatedTarget && event.clientY <= 0) {
            document.removeEventListener("mouseout", leaving);
            popup(cfg);
          }
        });
      } else {
        setTimeout(function () { popup(cfg); }, Math.max(0, cfg.delay_seconds) * 1000);
      }
    });
})();
