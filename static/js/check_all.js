// A list's "choose all" box: <input type="checkbox" data-check-all="NAME"> ticks or unticks every
// box named NAME in its form, those inside it and those tied to it by a form="" attribute (a
// table whose rows hold forms of their own). An element <span data-check-count="NAME"> in the
// form says how many are ticked. A static file: the Content-Security-Policy allows no inline script.
function countChosen(form, name) {
  var counter = form.querySelector('[data-check-count="' + name + '"]');
  if (!counter) return;
  var n = Array.prototype.filter.call(form.elements, function (box) {
    return box.type === "checkbox" && box.name === name && box.checked;
  }).length;
  counter.textContent = n ? n + " chosen" : "";
}

document.addEventListener("change", function (e) {
  if (!e.target.form) return;
  var name = e.target.dataset && e.target.dataset.checkAll;
  if (name) {
    Array.prototype.forEach.call(e.target.form.elements, function (box) {
      if (box.type === "checkbox" && box.name === name) box.checked = e.target.checked;
    });
  }
  countChosen(e.target.form, name || e.target.name);
});

// Back from the confirmation page, the browser restores the boxes ticked: count them again.
window.addEventListener("pageshow", function () {
  Array.prototype.forEach.call(document.querySelectorAll("[data-check-count]"), function (counter) {
    var form = counter.closest("form");
    if (form) countChosen(form, counter.dataset.checkCount);
  });
});
