// Passkeys (WebAuthn): shows the passkey forms only where the browser can use them, runs the
// ceremony and follows the server's answer. The options come from the same origin with the
// page's CSRF token; binary fields travel as base64url. Without this script (or WebAuthn) the
// forms stay hidden and the page works as before.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;

  function fromB64(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeList(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromB64(c.id) }); });
  }
  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields).toString()
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
    });
  }
  function encode(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: toB64(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) out.response.userHandle = toB64(r.userHandle);
    }
    // Extension outputs may hold ArrayBuffers JSON cannot carry; none are needed here.
    out.extensions = {};
    return out;
  }

  function setup(box) {
    var form = box.tagName === "FORM" ? box : box.querySelector("form");
    var register = box.getAttribute("data-passkey") === "register";
    var optionsUrl = box.getAttribute("data-options");
    var errorBox = box.querySelector("[data-passkey-error]");
    var status = box.querySelector("[data-passkey-status]");
    var nameInput = form.querySelector("input[name=name]");
    var passwordInput = form.querySelector("input[name=current_password]");
    var passwordError = box.querySelector("[data-passkey-password-error]");

    // The staff login names the member with the staff ID typed in the password form beside it
    // (the options do not depend on it).
    var idInput = document.getElementById(box.getAttribute("data-login-id") || "");
    var button = form.querySelector("button[type=submit]");
    var csrf = form.querySelector("input[name=csrf]").value;
    var texts = {
      working: box.getAttribute("data-working"),
      cancelled: box.getAttribute("data-cancelled"),
      failed: box.getAttribute("data-failed")
    };
    box.hidden = false;

    function mark(input, box, message) {
      box.textContent = "";
      var p = document.createElement("p");
      p.textContent = message;
      box.appendChild(p);
      box.hidden = false;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.closest(".field").classList.add("field-error");
        input.focus();
      }
    }

    function clear(input, box) {
      if (!box) return;
      box.hidden = true;
      if (input) {
        input.removeAttribute("aria-invalid");
        input.closest(".field").classList.remove("field-error");
      }
    }

    // An error of the current password is shown at that field; any other at the first field.
    function showError(message, field) {
      if (field === "current_password" && passwordInput && passwordError) {
        clear(nameInput, errorBox);
        mark(passwordInput, passwordError, message);
      } else {
        clear(passwordInput, passwordError);
        mark(nameInput, errorBox, message);
      }
      // A secret is never kept after an answer, right or wrong.
      if (passwordInput) passwordInput.value = "";
      status.textContent = "";
      button.disabled = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      errorBox.hidden = true;
      if (passwordError) passwordError.hidden = true;
      status.textContent = texts.working;
      var fields = { csrf: csrf };
      if (nameInput) fields.name = nameInput.value;
      if (passwordInput) fields.current_password = passwordInput.value;

      if (idInput) fields.login_id = idInput.value;
      post(optionsUrl, fields).then(function (res) {
        if (!res.ok || !res.body.options) {
          var refused = new Error(res.body.error || texts.failed);
          refused.field = res.body.field;
          throw refused;
        }
        if (passwordInput) passwordInput.value = "";
        var pk = res.body.options.publicKey;
        pk.challenge = fromB64(pk.challenge);
        var ask;
        if (register) {
          pk.user.id = fromB64(pk.user.id);
          pk.excludeCredentials = decodeList(pk.excludeCredentials);
          ask = navigator.credentials.create({ publicKey: pk });
        } else {
          pk.allowCredentials = decodeList(pk.allowCredentials);
          ask = navigator.credentials.get({ publicKey: pk });
        }
        return ask.then(function (cred) {
          return post(form.getAttribute("action"), {
            csrf: csrf,
            ceremony: res.body.ceremony,
            credential: JSON.stringify(encode(cred))
          });
        }, function (e) {
          var cancelled = e && (e.name === "NotAllowedError" || e.name === "AbortError");
          throw new Error(cancelled ? texts.cancelled : texts.failed);
        });
      }).then(function (res) {
        if (res.ok && res.body.redirect) {
          window.location.assign(res.body.redirect);
        } else {
          throw new Error(res.body.error || texts.failed);
        }
      }).catch(function (e) {
        showError(e && e.message ? e.message : texts.failed, e && e.field);
      });
    });
  }

  var boxes = document.querySelectorAll("[data-passkey]");
  for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
})();
