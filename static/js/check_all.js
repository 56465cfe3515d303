// A list's "choose all" box: <input type="checkbox" data-check-all="NAME"> ticks or unticks every
// box named NAME in its form. A static file: the Content-Security-Policy allows no inline script.
document.addEventListener("change", function (e) {
  var name = e.target.dataset && e.target.dataset.checkAll;
  if (!name || !e.target.form) return;
  e.target.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
    box.checked = e.target.checked;
  });
});
