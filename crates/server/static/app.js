// Moves focus to the error summary (or the notice) after a failed submission, as the GOV.UK
// error-summary pattern does, so keyboard and screen-reader users hear what went wrong first.
(function () {
  "use strict";
  var target = document.querySelector("[data-autofocus]");
  if (target) target.focus();
})();
