// Type-ahead pickers of people and of identities, rendered by inventory/people_picker.py (and
// its subclass in inventory/identity_picker.py): each picker names the search it asks, the
// result field shown under each label (data-detail) and its notes. A static file: the
// Content-Security-Policy allows no inline script. Listeners sit on the document, so pickers
// that htmx swaps in work too. Results are built with textContent, never as HTML.
(function () {
  "use strict";
  var DELAY_MS = 150;

  function pickerOf(node) { return node && node.closest ? node.closest("[data-picker]") : null; }
  function box(p) { return p.querySelector(".picker-input"); }
  function list(p) { return p.querySelector(".picker-results"); }
  function options(p) { return Array.prototype.slice.call(list(p).querySelectorAll("[role=option]")); }

  function chosenIds(p) {
    var ids = {};
    p.querySelectorAll(".picker-chips input[type=hidden]").forEach(function (i) { ids[i.value] = true; });
    return ids;
  }

  function close(p) {
    var l = list(p);
    l.hidden = true;
    l.replaceChildren();
    box(p).setAttribute("aria-expanded", "false");
    box(p).removeAttribute("aria-activedescendant");
  }

  function activate(p, option) {
    options(p).forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    if (option) {
      box(p).setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function chip(p, id, label) {
    var li = document.createElement("li");
    li.className = "chip";
    li.dataset.id = id;
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = p.dataset.name;
    hidden.value = id;
    var text = document.createElement("span");
    text.textContent = label;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("aria-label", "Remove " + label);
    remove.textContent = "\u00d7";
    li.append(hidden, text, remove);
    return li;
  }

  function choose(p, option) {
    var chips = p.querySelector(".picker-chips");
    if (!("multiple" in p.dataset)) chips.replaceChildren();
    chips.append(chip(p, option.dataset.id, option.dataset.label));
    box(p).value = "";
    close(p);
    box(p).focus();
  }

  function show(p, body) {
    var l = list(p), have = chosenIds(p);
    l.replaceChildren();
    var found = body.results.filter(function (result) { return !have[String(result.id)]; });
    found.forEach(function (result, n) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = l.id + "-" + n;
      li.dataset.id = result.id;
      li.dataset.label = result.label;
      var name = document.createElement("span");
      name.textContent = result.label;
      li.append(name);
      var detail = result[p.dataset.detail];
      if (detail) {
        var small = document.createElement("small");
        small.textContent = detail;
        li.append(small);
      }
      l.append(li);
    });
    if (!found.length || body.more) {
      var note = document.createElement("li");
      note.className = "picker-note";
      note.textContent = found.length ? p.dataset.moreNote : p.dataset.noneNote;
      l.append(note);
    }
    l.hidden = false;
    box(p).setAttribute("aria-expanded", "true");
    activate(p, options(p)[0] || null);
  }

  function search(p) {
    var query = box(p).value.trim();
    if (!query) { close(p); return; }
    var url = new URL(p.dataset.searchUrl, window.location.href);
    url.searchParams.set("q", query);
    var asked = (p.dataset.asked = String(Number(p.dataset.asked || 0) + 1));
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (p.dataset.asked !== asked || box(p).value.trim() !== query) return; // a later keystroke's answer wins
        if (body && Array.isArray(body.results)) show(p, body); else close(p);
      })
      .catch(function () { close(p); });
  }

  var timers = new WeakMap();
  document.addEventListener("input", function (e) {
    var p = e.target.classList && e.target.classList.contains("picker-input") ? pickerOf(e.target) : null;
    if (!p) return;
    clearTimeout(timers.get(p));
    timers.set(p, setTimeout(function () { search(p); }, DELAY_MS));
  });

  document.addEventListener("keydown", function (e) {
    var p = e.target.classList && e.target.classList.contains("picker-input") ? pickerOf(e.target) : null;
    if (!p) return;
    var open = !list(p).hidden, all = options(p);
    var current = all.indexOf(list(p).querySelector("[aria-selected=true]"));
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) { search(p); return; }
      e.preventDefault();
      var next = current + (e.key === "ArrowDown" ? 1 : -1);
      if (all.length) activate(p, all[(next + all.length) % all.length]);
    } else if (e.key === "Enter") {
      // Enter picks a result; it never submits the form from a half-typed name.
      if (open || box(p).value.trim()) e.preventDefault();
      if (open && current >= 0) choose(p, all[current]);
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      close(p);
    } else if (e.key === "Backspace" && !box(p).value && "multiple" in p.dataset) {
      var chips = p.querySelectorAll(".picker-chips .chip");
      if (chips.length) chips[chips.length - 1].remove();
    }
  });

  // Pressing on a result must not take the focus from the search box (that would close the list
  // before the click lands); leaving the picker otherwise, with Tab say, closes it.
  document.addEventListener("mousedown", function (e) {
    if (e.target.closest && e.target.closest(".picker-results")) e.preventDefault();
  });
  document.addEventListener("focusout", function (e) {
    var p = pickerOf(e.target);
    if (p && box(p) && !p.contains(e.relatedTarget)) close(p);
  });

  document.addEventListener("click", function (e) {
    var remove = e.target.closest ? e.target.closest(".chip-remove") : null;
    if (remove && pickerOf(remove)) {
      var p = pickerOf(remove);
      remove.closest(".chip").remove();
      box(p).focus();
      return;
    }
    var option = e.target.closest ? e.target.closest(".picker-results [role=option]") : null;
    if (option) { choose(pickerOf(option), option); return; }
    document.querySelectorAll("[data-picker]").forEach(function (p) {
      if (!p.contains(e.target) && box(p)) close(p);
    });
  });
})();
