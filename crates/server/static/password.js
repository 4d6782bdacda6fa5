// Ticks the password rules as the user types. The server checks the same rules (and more) on
// submit; this only helps people see what is missing before they send.
(function () {
  "use strict";
  var input = document.getElementById("password");
  var list = document.getElementById("password-rules");
  if (!input || !list) return;
  var checks = {
    too_short: function (p) { return p.length >= 8; },
    too_long: function (p) { return p.length > 0 && p.length <= 32; },
    not_half_width: function (p) { return p.length > 0 && /^[\x21-\x7e\s]*$/.test(p); },
    contains_space: function (p) { return p.length > 0 && !/\s/.test(p); },
    no_digit: function (p) { return /[0-9０-９]/.test(p); },
    no_letter: function (p) { return /[A-Za-zＡ-Ｚａ-ｚ]/.test(p); },
    no_symbol: function (p) { return /[!-\/:-@\[-`{-~]/.test(p); }
  };
  function update() {
    var value = input.value;
    list.querySelectorAll("li[data-rule]").forEach(function (item) {
      var check = checks[item.getAttribute("data-rule")];
      if (!check) return;
      var met = check(value);
      item.classList.toggle("rule-met", met);
      item.classList.toggle("rule-unmet", !met);
    });
  }
  input.addEventListener("input", update);
  update();
})();
