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

  /* -- chart tools: time-range buttons and a log scale, on every date-axis chart ---------- */

  var RANGES = [["1M", 1], ["3M", 3], ["6M", 6], ["1Y", 12], ["All", 0]];

  function axisNames(gd, letter) {
    return Object.keys(gd._fullLayout || {}).filter(function (k) {
      return new RegExp("^" + letter + "axis\\d*$").test(k);
    });
  }

  function parseDate(v) {
    if (typeof v === "number") return new Date(v);
    var s = String(v).replace(" ", "T");
    if (s.length === 10) s += "T00:00:00";
    return new Date(s + (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? "" : "Z"));
  }

  function isoDate(d) { return d.toISOString().slice(0, 19).replace("T", " "); }

  /* Full (autorange) x range of each date axis, kept from the first draw. */
  function dateAxes(gd) {
    return axisNames(gd, "x").filter(function (k) { return gd._fullLayout[k].type === "date"; });
  }

  function setRange(gd, months, btn) {
    var axes = dateAxes(gd), upd = {};
    axes.forEach(function (k) {
      var full = gd._hdFullRange[k];
      if (!full) return;
      if (!months) { upd[k + ".autorange"] = true; return; }
      var end = parseDate(full[1]), start = new Date(end.getTime());
      start.setUTCMonth(start.getUTCMonth() - months);
      var lo = parseDate(full[0]);
      if (start < lo) start = lo;
      upd[k + ".range"] = [isoDate(start), isoDate(end)];
    });
    var bar = btn && btn.parentNode;
    if (bar) Array.prototype.forEach.call(bar.querySelectorAll("button[data-range]"), function (b) {
      b.setAttribute("aria-pressed", b === btn ? "true" : "false");
    });
    gd.setAttribute("data-range", btn ? btn.getAttribute("data-range") : "All");
    return window.Plotly.relayout(gd, upd);
  }

  function setLog(gd, on) {
    var upd = {};
    gd._hdLogAxes.forEach(function (k) { upd[k + ".type"] = on ? "log" : "linear"; upd[k + ".autorange"] = true; });
    gd.setAttribute("data-yscale", on ? "log" : "linear");
    return window.Plotly.relayout(gd, upd);
  }

  function addTools(gd, holder) {
    var axes = dateAxes(gd);
    gd._hdFullRange = {};
    axes.forEach(function (k) { gd._hdFullRange[k] = (gd._fullLayout[k].range || []).slice(); });
    /* log scale only where every value on the axis is positive (prices, hashrate, difficulty) */
    gd._hdLogAxes = axisNames(gd, "y").filter(function (k) {
      var ax = gd._fullLayout[k];
      return ax.type === "linear" && ax.range && Math.min(ax.range[0], ax.range[1]) > 0;
    });
    if (!axes.length && !gd._hdLogAxes.length) return;
    var bar = el("div", { "class": "chart-tools", "role": "toolbar", "aria-label": "chart range and scale" });
    if (axes.length) {
      RANGES.forEach(function (r) {
        var b = el("button", { "type": "button", "data-range": r[0], "aria-pressed": r[1] ? "false" : "true",
                               "title": r[1] ? "last " + r[0] + " of the chart" : "whole chart" }, r[0]);
        b.addEventListener("click", function () { setRange(gd, r[1], b); });
        bar.appendChild(b);
      });
    }
    if (gd._hdLogAxes.length) {
      var lab = el("label", { "class": "logscale" });
      var cb = el("input", { "type": "checkbox", "name": "log" });
      cb.addEventListener("change", function () { setLog(gd, cb.checked); });
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" log scale"));
      bar.appendChild(lab);
    }
    gd.setAttribute("data-range", "All");
    gd.setAttribute("data-yscale", "linear");
    holder.insertBefore(bar, gd);
  }

  var chartSeq = 0;
  function renderFigure(f, parent) {
    var holder = el("figure", { "class": "chartbox", "data-key": f.key });
    var div = el("div", { "class": "chart", "id": "chart-" + (++chartSeq) + "-" + f.key, "data-key": f.key });
    holder.appendChild(div);
    parent.appendChild(holder);
    if (f.plotly && window.Plotly) {
      var layout = f.plotly.layout || {};
      layout.autosize = true;
      var p = window.Plotly.newPlot(div, f.plotly.data || [], layout,
        { responsive: true, displaylogo: false });
      var done = function () { addTools(div, holder); div.setAttribute("data-drawn", "1"); };
      pending.push(p && p.then ? p.then(done) : Promise.resolve(done()));
    }
    return div;
  }
  var pending = [];

  /* -- narrative, progress bars ------------------------------------------------------------ */

  function refTarget(ref) {
    var parts = ref.split(".");
    return "#ref-" + parts[0] + "-" + (parts[1] || "").split("/")[0];
  }

  function renderSentences(sec, box) {
    var list = el("ol", { "class": "narrative" });
    sec.sentences.forEach(function (s) {
      var li = el("li", { "class": "sentence" });
      li.appendChild(el("span", { "class": "text" }, s.text));
      if (s.refs && s.refs.length) {
        var refs = el("span", { "class": "refs" });
        refs.appendChild(document.createTextNode(" ["));
        s.refs.forEach(function (r, i) {
          if (i) refs.appendChild(document.createTextNode(", "));
          refs.appendChild(el("a", { "href": refTarget(r), "class": "ref", "data-ref": r }, r));
        });
        refs.appendChild(document.createTextNode("]"));
        li.appendChild(refs);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  function renderProgress(p, box) {
    var wrap = el("div", { "class": "progress", "data-key": p.key, "id": "ref-progress-" + p.key });
    wrap.appendChild(el("div", { "class": "plabel" }, p.label));
    var bar = el("div", { "class": "pbar", "role": "progressbar", "aria-valuemin": "0",
                          "aria-valuemax": String(p.total), "aria-valuenow": String(p.done) });
    var fill = el("div", { "class": "pfill" });
    fill.style.width = (100 * Math.min(1, p.done / p.total)).toFixed(2) + "%";
    bar.appendChild(fill);
    bar.appendChild(el("span", { "class": "ppct" }, (100 * p.done / p.total).toFixed(1) + "%"));
    wrap.appendChild(bar);
    if (p.detail) wrap.appendChild(el("div", { "class": "mnote" }, p.detail));
    box.appendChild(wrap);
  }

  function renderSection(sec, parent) {
    var box = el("section", { "class": "section", "id": "section-" + sec.key, "data-status": sec.status });
    parent.appendChild(box);  /* attached first, so Plotly measures the real width */
    var h = el("h2", null, sec.title);
    h.appendChild(el("span", { "class": "status status-" + sec.status }, sec.status.replace("_", " ")));
    box.appendChild(h);
    if (sec.note) box.appendChild(el("p", { "class": "note" }, sec.note));
    if (sec.sentences && sec.sentences.length) renderSentences(sec, box);
    (sec.progress || []).forEach(function (p) { renderProgress(p, box); });
    if (sec.metrics && sec.metrics.length) {
      var grid = el("div", { "class": "metrics" });
      sec.metrics.forEach(function (m) {
        var card = el("div", { "class": "metric", "data-key": m.key, "id": "ref-" + sec.key + "-" + m.key });
        card.appendChild(el("div", { "class": "label" }, m.label));
        card.appendChild(el("div", { "class": "value" }, m.display));
        if (m.note) card.appendChild(el("div", { "class": "mnote" }, m.note));
        grid.appendChild(card);
      });
      box.appendChild(grid);
    }
    (sec.figures || []).forEach(function (f) { renderFigure(f, box); });
    (sec.tables || []).forEach(function (t) {
      box.appendChild(el("h3", { "id": "ref-" + sec.key + "-" + t.key }, t.title));
      if (t.note) box.appendChild(el("p", { "class": "note" }, t.note));
      box.appendChild(renderTable(t));
    });
    if (sec.sources && sec.sources.length === 1) {
      box.appendChild(el("p", { "class": "note" }, "Sources: " + sec.sources[0]));
    } else if (sec.sources && sec.sources.length) {  /* one line each: they can be long */
      box.appendChild(el("p", { "class": "note sources-head" }, "Sources:"));
      var ul = el("ul", { "class": "note sources" });
      sec.sources.forEach(function (s) { ul.appendChild(el("li", null, s)); });
      box.appendChild(ul);
    }
    return box;
  }

  /* Draw sections; resolves when every chart is drawn (then the panel says data-drawn="1"). */
  function renderSections(sections, parent) {
    parent.innerHTML = "";
    parent.removeAttribute("data-drawn");
    pending = [];
    sections.forEach(function (s) { renderSection(s, parent); });
    return Promise.all(pending).then(function () {
      parent.setAttribute("data-drawn", "1");
      mark("hd:drawn");
    });
  }

  /* performance marks (read by the browser tests): hd:fetch, hd:data, hd:drawn */
  function mark(name) {
    if (window.performance && performance.mark) {
      try { performance.clearMarks(name); performance.mark(name); } catch (e) { /* old browsers */ }
    }
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
    mark("hd:fetch");
    var url = withToken(apiPath + (qs ? "?" + qs : ""));
    /* a busy server answers 503 with Retry-After: wait and ask again (at most 5 times) */
    function get(tries) {
      return fetch(url, { headers: { "Accept": "application/json" } }).then(function (r) {
        var wait = parseInt(r.headers.get("Retry-After") || "", 10);
        if (r.status === 503 && tries < 5 && wait >= 0) {
          target.innerHTML = "<p class='muted'>the server is busy; retrying in " + wait + " s…</p>";
          return new Promise(function (ok) { setTimeout(ok, 1000 * wait); }).then(function () { return get(tries + 1); });
        }
        return r.json().then(function (j) { return { ok: r.ok, body: j }; });
      });
    }
    return get(0)
      .then(function (res) {
        if (!res.ok) {
          target.innerHTML = "";
          target.appendChild(el("div", { "class": "error-box" }, res.body.detail || res.body.error || "request failed"));
          target.setAttribute("data-state", "error");
          return;
        }
        mark("hd:data");
        var sections = res.body.sections || [res.body];
        var drawn = renderSections(sections, target);
        target.setAttribute("data-state", "ready");
        return drawn;
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
                makeSortable: makeSortable, setRange: setRange, setLog: setLog };
})();
