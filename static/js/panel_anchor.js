// The identity page's panels load after the page (htmx), so on arriving at /identities/<id>/#access
// (back from a confirmation page, or a link to a credential) the browser finds no #access to scroll
// to and stays at the top. Scroll once the panel holding the anchor has arrived; Chromium's and
// Firefox's scroll anchoring then keep it in view while the panels above it load.
(function () {
  var pending = window.location.hash.slice(1);
  if (!pending) return;
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!pending) return;
    var target = document.getElementById(pending);
    if (target && event.target && event.target.contains(target)) {
      pending = "";
      target.scrollIntoView();
    }
  });
})();
