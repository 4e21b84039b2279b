// Updates a submission's status without a reload: polls the JSON status until it is graded.
(function () {
  "use strict";
  function points(x) { return String(Math.round(x * 100) / 100); }
  function poll(card) {
    var url = card.getAttribute("data-poll");
    var status = card.querySelector("#status");
    var result = card.querySelector("#result");
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          status.textContent = data.status;
          if (data.result && data.report_url) {
            result.textContent = "";
            var score = document.createElement("strong");
            score.id = "graded-score";
            score.textContent = points(data.result.score) + " / " + points(data.result.max_score) + " points ";
            var link = document.createElement("a");
            link.id = "report-link";
            link.href = data.report_url;
            link.textContent = "Read the report";
            result.appendChild(score);
            result.appendChild(link);
            if (data.status === "done" || data.status === "failed") { return; }
          } else if (data.status === "failed") {
            result.textContent = "Grading failed: " + (data.error || "") + " Your instructor has been told.";
            return;
          }
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var cards = document.querySelectorAll("[data-poll]");
    for (var i = 0; i < cards.length; i++) { poll(cards[i]); }
  });
})();
