// The new-version page's rule library: "Add" appends a rule to the policy text and its example
// requests to the examples, or says why it did neither (already there, or examples that are
// not valid JSON yet: nothing is half added). A static file: the Content-Security-Policy
// allows no inline script; the rules come from the page's <script type="application/json">.
document.addEventListener("click", function (e) {
  var button = e.target.closest && e.target.closest("[data-library-rule]");
  if (!button) return;
  var rules = JSON.parse(document.getElementById("policy-library").textContent);
  var rule = rules.find(function (r) { return r.id === button.dataset.libraryRule; });
  var text = document.getElementById("id_text");
  var examples = document.getElementById("id_examples");
  var status = document.getElementById("library-status");
  if (!rule || !text || !examples) return;
  if (text.value.indexOf('@id("' + rule.id + '")') !== -1) {
    status.textContent = "“" + rule.title + "” is in this version already.";
    return;
  }
  var list;
  try {
    list = examples.value.trim() ? JSON.parse(examples.value) : [];
  } catch (err) {
    list = null;
  }
  if (!Array.isArray(list)) {
    status.textContent = "The examples are not a JSON list yet: fix them, then add the rule. Nothing was added.";
    examples.focus();
    return;
  }
  var names = list.map(function (x) { return x && x.name; });
  rule.examples.forEach(function (x) { if (names.indexOf(x.name) === -1) list.push(x); });
  text.value = text.value.replace(/\s*$/, "") + "\n\n" + rule.text;
  examples.value = JSON.stringify(list, null, 2);
  status.textContent = "Added “" + rule.title + "” and its " + rule.examples.length + " example" + (rule.examples.length === 1 ? "" : "s") + ". Save the version to check it.";
});
