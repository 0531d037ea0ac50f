// 全选本页: tick or untick every task of the inbox page for 批量转办 / 批量催办.
(function () {
  var all = document.getElementById("bulk-all");
  if (!all) { return; }
  var picks = function () { return document.querySelectorAll("input.bulk-pick"); };
  all.addEventListener("change", function () {
    picks().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("change", function (event) {
    if (!event.target.classList || !event.target.classList.contains("bulk-pick")) { return; }
    var boxes = Array.prototype.slice.call(picks());
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  });
})();
