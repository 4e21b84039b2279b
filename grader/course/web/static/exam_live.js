// The instructor's live view of an exam: each running sitting's time left counts down, and the
// page reloads every minute (openings, hand-ins) unless a form field is being filled in.
(function () {
  "use strict";
  var cells = Array.prototype.slice.call(document.querySelectorAll("#sittings td[data-seconds-left]"));
  var start = Date.now();
  function tick() {
    cells.forEach(function (td) {
      var s = Math.max(0, Math.round(parseFloat(td.getAttribute("data-seconds-left")) - (Date.now() - start) / 1000));
      var m = Math.floor(s / 60), sec = s % 60;
      td.textContent = s ? m + ":" + (sec < 10 ? "0" : "") + sec : "time is up";
    });
  }
  if (cells.length) { tick(); setInterval(tick, 1000); }
  setInterval(function () {
    var active = document.activeElement;
    if (!active || active.tagName !== "INPUT") { location.reload(); }
  }, 60000);
})();
