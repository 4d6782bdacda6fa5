// Opens the privacy policy and the terms in a dialog instead of a new page. Fetching the document
// is what records, on the server, that it was opened; only then is its checkbox enabled. Without
// JavaScript the links open the document pages, which record the same thing.
(function () {
  "use strict";
  var dialog = document.getElementById("document-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var body = dialog.querySelector(".dialog-body");
  var opener = null;
  document.querySelectorAll("a[data-document]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      opener = link;
      fetch(link.getAttribute("href") + "?partial=1", { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          var parsed = new DOMParser().parseFromString(html, "text/html");
          var article = parsed.querySelector("article.document");
          body.replaceChildren();
          if (article) body.appendChild(document.importNode(article, true));
          dialog.showModal();
          // Start reading at the top: showModal() focuses the close button at the bottom.
          var heading = body.querySelector("h1, h2");
          if (heading) {
            heading.setAttribute("tabindex", "-1");
            heading.focus();
          }
          dialog.scrollTop = 0;
          var box = document.getElementById(link.getAttribute("data-checkbox"));
          if (box) {
            box.disabled = false;
            // Drop only the "open the document first" hint; an error description stays.
            var described = (box.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
              return id && id !== box.id + "-hint";
            });
            if (described.length) box.setAttribute("aria-describedby", described.join(" "));
            else box.removeAttribute("aria-describedby");
            var hint = document.getElementById(box.id + "-hint");
            if (hint) hint.remove();
          }
        })
        .catch(function () { window.location.href = link.getAttribute("href"); });
    });
  });
  dialog.addEventListener("close", function () { if (opener) opener.focus(); });
})();
