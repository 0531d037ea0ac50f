// The task page (webapp/templates/ui/task.html): a stock opinion button puts its text into the
// 审批意见 box (added on a new line when something is already written), and the focus goes there.
(function () {
  "use strict";
  var box = document.getElementById("opinion");
  if (!box) { return; }
  document.querySelectorAll("[data-opinion]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-opinion");
      var current = box.value.replace(/\s+$/, "");
      box.value = current ? current + "\n" + text : text;
      box.focus();
    });
  });
  // One submission at a time: a double click must not complete twice (the second would be refused as
  // stale anyway, but the person would see an error for nothing).
  var form = document.getElementById("task-form");
  if (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  }
}());
