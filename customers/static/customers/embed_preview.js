// The store page's live preview of its embedded signup form: the same drawing code as on the
// store's site (js/signup-embed.js), fed from the form's fields as they are typed.
(function () {
  "use strict";
  var FIELDS = ["enabled", "display", "delay_seconds", "headline", "text", "button_label", "question",
    "question_label", "consent_wording", "thanks_text", "background_colour", "text_colour", "button_colour",
    "button_text_colour"];
  var DEFAULT_CONSENT = "I agree to receive recurring automated marketing text messages at the number " +
    "provided. Consent is not a condition of purchase. Msg frequency varies. Msg & data rates may apply. " +
    "Reply HELP for help, STOP to cancel.";
  var SAMPLE = { topics: [{ value: "deals", label: "Deals" }, { value: "drops", label: "New drops" },
    { value: "restocks", label: "Restocks" }], category: [{ value: "", label: "(your categories)" }] };

  function field(name) { return document.getElementById("id_signup_embed-0-" + name); }

  function draw() {
    var host = document.getElementById("embed-preview");
    if (!host || !window.SmsSignupEmbed) return;
    var cfg = {};
    FIELDS.forEach(function (name) {
      var input = field(name);
      if (input) cfg[name] = input.type === "checkbox" ? input.checked : input.value;
    });
    cfg.consent_wording = cfg.consent_wording || DEFAULT_CONSENT;
    cfg.choices = SAMPLE[cfg.question] || [];
    window.SmsSignupEmbed.render(host, cfg, null);
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    FIELDS.forEach(function (name) {
      var input = field(name);
      if (input) { input.addEventListener("input", draw); input.addEventListener("change", draw); }
    });
  });
})();
