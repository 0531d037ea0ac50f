// The case page's process diagrams: each process file of the case drawn with the bpmn-js navigated
// viewer (pan and zoom, nothing editable), with the elements the case has completed, is at, or
// withdrew from marked (hq-done, hq-active, hq-cancelled). The page already lists the same states
// as text, so a failure here only leaves the text.
(function () {
  "use strict";

  var root = document.getElementById("case-diagrams");
  if (!root) {
    return;
  }
  var MARKERS = { done: "hq-done", active: "hq-active", cancelled: "hq-cancelled" };

  function failed(container, message) {
    container.dataset.rendered = "error";
    var note = document.createElement("p");
    note.className = "small text-danger";
    note.textContent = message;
    container.appendChild(note);
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      });
  }

  function draw(item, hq) {
    var container = document.getElementById(item.container);
    if (!container || !item.xml) {
      return Promise.resolve();
    }
    var canvasElement = container.querySelector(".hq-diagram-canvas");
    var viewer = new window.BpmnJS({ container: canvasElement, moddleExtensions: { hq: hq } });
    return viewer.importXML(item.xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      Object.keys(MARKERS).forEach(function (state) {
        (item[state] || []).forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, MARKERS[state]);
          }
        });
      });
      canvas.zoom("fit-viewport", "auto");
      container.dataset.rendered = "true";
    }).catch(function (error) {
      failed(container, "流程图无法显示：" + (error && error.message ? error.message : error));
    });
  }

  if (typeof window.BpmnJS !== "function") {
    root.querySelectorAll(".hq-diagram").forEach(function (c) { failed(c, "流程图组件未能加载。"); });
    return;
  }
  Promise.all([getJson(root.dataset.moddleUrl), getJson(root.dataset.diagramUrl)])
    .then(function (loaded) {
      var hq = loaded[0];
      var found = loaded[1];
      return Promise.all(found.diagrams.map(function (item) { return draw(item, hq); }));
    })
    .then(function () { root.dataset.rendered = "true"; })
    .catch(function (error) {
      root.dataset.rendered = "error";
      root.querySelectorAll(".hq-diagram").forEach(function (c) {
        failed(c, "流程图数据读取失败：" + (error && error.message ? error.message : error));
      });
    });
})();
