// A section htmx loads after the page (the identity page's panels, the dashboard's cards) would
// keep saying "Loading…" forever when its request fails: htmx swaps nothing on an error status,
// and nothing at all when the request never got an answer. Say so in place instead, keeping the
// section's own heading so the reader knows which part is missing. A static file: the
// Content-Security-Policy allows no inline script.
(function () {
  var MESSAGE = "This section could not be loaded. Reload the page.";

  function failed(event) {
    var source = event.target;
    if (!source || !source.hasAttribute || !source.hasAttribute("hx-get")) return;  // only panels loaded into the page
    var panel = (event.detail && event.detail.target) || source;
    Array.prototype.slice.call(panel.childNodes).forEach(function (node) {
      if (!/^H[1-6]$/.test(node.nodeName)) panel.removeChild(node);
    });
    var note = document.createElement("p");
    note.className = "alert alert-error panel-failed";
    note.setAttribute("role", "alert");
    note.textContent = MESSAGE;
    panel.appendChild(note);
    panel.removeAttribute("aria-busy");
  }

  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, failed);
  });
})();
