// A list's "choose all" box: <input type="checkbox" data-check-all="NAME"> ticks or unticks every
// box named NAME in its form, those inside it and those tied to it by a form="" attribute (a
// table whose rows hold forms of their own). A static file: the Content-Security-Policy allows
// no inline script.
document.addEventListener("change", function (e) {
  var name = e.target.dataset && e.target.dataset.checkAll;
  if (!name || !e.target.form) return;
  Array.prototype.forEach.call(e.target.form.elements, function (box) {
    if (box.type === "checkbox" && box.name === name) box.checked = e.target.checked;
  });
});
