// Progressive enhancement only: every page works without this file.
// 1. A search box with data-filter-table filters that table's rows as you type.
// 2. The policy pattern box (data-matches-url) shows, live, the tools it matches or why the
//    pattern can never match, from the console's own JSON (same origin, session cookie).
(function () {
  "use strict";

  function filterTables() {
    document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
      var table = document.getElementById(input.dataset.filterTable);
      var count = document.getElementById(input.dataset.filterCount);
      if (!table) { return; }
      function apply() {
        var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
        var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
        var shown = 0;
        Array.prototype.forEach.call(rows, function (row) {
          var text = row.textContent.toLowerCase();
          var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
          row.hidden = !hit;
          if (hit) { shown += 1; }
        });
        if (count) { count.textContent = shown + " of " + rows.length + " tools shown"; }
      }
      input.addEventListener("input", apply);
      if (input.value !== input.defaultValue) { apply(); }  // typed before this script ran
    });
  }

  function render(target, input, data) {
    target.textContent = "";
    if (data.problem) {
      var p = document.createElement("p");
      p.className = "flash error";
      p.textContent = data.problem;
      target.appendChild(p);
      input.setAttribute("aria-invalid", "true");
      return;
    }
    input.removeAttribute("aria-invalid");
    if (!data.pattern) { return; }
    var head = document.createElement("p");
    head.textContent = data.total + (data.total === 1 ? " tool matches." : " tools match.");
    target.appendChild(head);
    var list = document.createElement("ul");
    data.matches.forEach(function (address) {
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = address;
      li.appendChild(code);
      list.appendChild(li);
    });
    target.appendChild(list);
  }

  function liveMatches() {
    var input = document.querySelector("input[data-matches-url]");
    if (!input) { return; }
    var target = document.getElementById(input.dataset.matchesTarget);
    var timer = null;
    var asked = 0;
    function check() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++asked;
        var url = input.dataset.matchesUrl + "?pattern=" + encodeURIComponent(input.value.trim());
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && mine === asked) { render(target, input, data); } })
          .catch(function () {});
      }, 200);
    }
    input.addEventListener("input", check);
    if (input.value !== input.defaultValue) { check(); }  // typed before this script ran
  }

  document.addEventListener("DOMContentLoaded", function () {
    filterTables();
    liveMatches();
  });
})();
