// The main menu on a narrow screen: folded behind its "Menu" button, so a page starts with its
// own content. A static file: the Content-Security-Policy allows no inline script. Without
// script the menu simply stays open.
document.addEventListener("DOMContentLoaded", function () {
  var nav = document.querySelector(".sidebar");
  var toggle = nav && nav.querySelector(".nav-toggle");
  if (!toggle) return;
  nav.classList.add("collapsible");
  toggle.addEventListener("click", function () {
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
