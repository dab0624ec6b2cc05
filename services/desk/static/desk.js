// citydesk desk: the few behaviours the server-rendered pages need. No framework, no network beyond this server.
"use strict";

// Article page: load "how it was cleaned" when the toggle opens (reading the raw page from the broker takes time).
document.querySelectorAll("details.cleaning[data-src]").forEach(function (details) {
  details.addEventListener("toggle", function () {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "1";
    var target = details.querySelector(".cleaning-body");
    fetch(details.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.text().then(function (t) { return { ok: r.ok, status: r.status, text: t }; }); })
      .then(function (r) {
        if (!r.ok) { target.textContent = "불러오지 못했습니다 (HTTP " + r.status + ")"; return; }
        var doc = new DOMParser().parseFromString(r.text, "text/html");
        target.replaceChildren.apply(target, Array.from(doc.body.childNodes));
      })
      .catch(function (e) { target.textContent = "불러오지 못했습니다: " + e; });
  });
});

// Article page: a relation's evidence scrolls to its sentence in the body and flashes it.
document.querySelectorAll("a.ev-sentence[data-anchor]").forEach(function (link) {
  link.addEventListener("click", function (event) {
    var target = document.getElementById(link.dataset.anchor);
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    target.classList.remove("flash");
    void target.offsetWidth;
    target.classList.add("flash");
  });
});

// Search form: empty fields are left out of the URL, so links stay short and filters mean what they show.
document.querySelectorAll("form.search").forEach(function (form) {
  form.addEventListener("submit", function () {
    form.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && !el.value) el.disabled = true;
    });
  });
});
