/* hashdesk renderer: draws sections (metrics, sortable tables, Plotly charts) from the JSON the
 * library produces. Used by the dashboard pages (fetched from /api/v1/...) and by the
 * self-contained HTML brief (JSON embedded in the file). No dependencies besides Plotly. */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function compare(a, b) {
    var an = a === null || a === undefined || a === "", bn = b === null || b === undefined || b === "";
    if (an && bn) return 0;
    if (an) return 1;            /* missing values last in both directions */
    if (bn) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  /* Sort a table by column index; raw values live in each cell's data-v (JSON). */
  function sortTable(table, col, th) {
    var tbody = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (r1, r2) {
      var v1 = JSON.parse(r1.cells[col].getAttribute("data-v"));
      var v2 = JSON.parse(r2.cells[col].getAttribute("data-v"));
      var c = compare(v1, v2);
      if (v1 === null || v2 === null) return c;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { sortTable(table, i, th); });
      th.title = "click to sort";
    });
  }

  function renderTable(t) {
    var wrap = el("div", { "class": "tablewrap" });
    var table = el("table", { "class": "data sortable", "data-key": t.key });
    var thead = table.createTHead().insertRow();
    t.columns.forEach(function (c) { thead.appendChild(el("th", { "data-kind": c.kind }, c.label)); });
    var tbody = table.createTBody();
    t.rows.forEach(function (row, i) {
      var tr = tbody.insertRow();
      row.forEach(function (v, j) {
        var td = el("td", { "data-v": JSON.stringify(v === undefined ? null : v) }, t.display[i][j]);
        if (t.columns[j].kind === "text") td.className = "text";
        tr.appendChild(td);
      });
    });
    makeSortable(table);
    wrap.appendChild(table);
    return wrap;
  }

  var chartSeq = 0;
  function renderFigure(f, parent) {
    var div = el("div", { "class": "chart", "id": "chart-" + (++chartSeq) + "-" + f.key, "data-key": f.key });
    parent.appendChild(div);
    if (f.plotly && window.Plotly) {
      var layout = f.plotly.layout || {};
      layout.autosize = true;
      window.Plotly.newPlot(div, f.plotly.data || [], layout,
        { responsive: true, displaylogo: false });
    }
    return div;
  }

  function renderSection(sec, parent) {
    var box = el("section", { "class": "section", "id": "section-" + sec.key, "data-status": sec.status });
    parent.appendChild(box);  /* attached first, so Plotly measures the real width */
    var h = el("h2", null, sec.title);
    h.appendChild(el("span", { "class": "status status-" + sec.status }, sec.status.replace("_", " ")));
    box.appendChild(h);
    if (sec.note) box.appendChild(el("p", { "class": "note" }, sec.note));
    if (sec.metrics && sec.metrics.length) {
      var grid = el("div", { "class": "metrics" });
      sec.metrics.forEach(function (m) {
        var card = el("div", { "class": "metric", "data-key": m.key });
        card.appendChild(el("div", { "class": "label" }, m.label));
        card.appendChild(el("div", { "class": "value" }, m.display));
        if (m.note) card.appendChild(el("div", { "class": "mnote" }, m.note));
        grid.appendChild(card);
      });
      box.appendChild(grid);
    }
    (sec.figures || []).forEach(function (f) { renderFigure(f, box); });
    (sec.tables || []).forEach(function (t) {
      box.appendChild(el("h3", null, t.title));
      if (t.note) box.appendChild(el("p", { "class": "note" }, t.note));
      box.appendChild(renderTable(t));
    });
    if (sec.sources && sec.sources.length) {
      box.appendChild(el("p", { "class": "note" }, "Sources: " + sec.sources.join("; ")));
    }
    return box;
  }

  function renderSections(sections, parent) {
    parent.innerHTML = "";
    sections.forEach(function (s) { renderSection(s, parent); });
  }

  /* Dashboard: carry ?token= from the page URL to API calls. */
  function withToken(url) {
    var token = new URLSearchParams(window.location.search).get("token");
    if (!token) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  function loadPanel(apiPath, form, target) {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (params.get(k) === "") params.delete(k); });
    var qs = params.toString();
    var pageParams = new URLSearchParams(qs);
    var token = new URLSearchParams(window.location.search).get("token");
    if (token) pageParams.set("token", token);
    window.history.replaceState(null, "", window.location.pathname + "?" + pageParams.toString());
    target.setAttribute("data-state", "loading");
    target.innerHTML = "<p class='muted'>loading…</p>";
    return fetch(withToken(apiPath + (qs ? "?" + qs : "")), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) {
          target.innerHTML = "";
          target.appendChild(el("div", { "class": "error-box" }, res.body.detail || res.body.error || "request failed"));
          target.setAttribute("data-state", "error");
          return;
        }
        var sections = res.body.sections || [res.body];
        renderSections(sections, target);
        target.setAttribute("data-state", "ready");
      })
      .catch(function (e) {
        target.innerHTML = "";
        target.appendChild(el("div", { "class": "error-box" }, String(e)));
        target.setAttribute("data-state", "error");
      });
  }

  function initPanel(apiPath) {
    var form = document.getElementById("controls");
    var target = document.getElementById("panel");
    form.addEventListener("submit", function (ev) { ev.preventDefault(); loadPanel(apiPath, form, target); });
    loadPanel(apiPath, form, target);
  }

  window.HD = { renderSections: renderSections, renderSection: renderSection, initPanel: initPanel,
                makeSortable: makeSortable };
})();
