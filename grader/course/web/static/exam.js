// An exam paper: the time left, answers saved as they are typed, and how an expression is read.
// The server decides everything (deadline, what is saved, how text is read); this only shows it.
(function () {
  "use strict";
  var exam = document.getElementById("exam");
  if (!exam) { return; }
  var csrf = exam.getAttribute("data-csrf");
  var saveUrl = exam.getAttribute("data-save");
  var previewUrl = exam.getAttribute("data-preview");
  var saveState = document.getElementById("save-state");
  var boxes = Array.prototype.slice.call(exam.querySelectorAll(".answer"));
  var SAVE_DELAY = 400, PREVIEW_DELAY = 200;

  // -- the clock: counts down from the server's figure; at zero the page reloads and the server hands in.
  var left = exam.getAttribute("data-seconds-left");
  var timeLeft = document.getElementById("time-left");
  if (left !== null && timeLeft) {
    var end = Date.now() + parseFloat(left) * 1000;
    var tick = function () {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      timeLeft.textContent = (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
      document.getElementById("clock").classList.toggle("short", s < 300);
      if (s === 0) { timeLeft.textContent = "time is up"; setTimeout(function () { location.reload(); }, 1500); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }

  // -- saving: each answer box has a version; it is saved when the server has its latest version.
  function valueOf(box) {
    var inputs = box.querySelectorAll("input.cell");
    var rows = parseInt(box.getAttribute("data-rows"), 10), cols = parseInt(box.getAttribute("data-cols"), 10);
    if (box.getAttribute("data-kind") === "expression" || cols === 0) { return inputs[0].value; }
    var values = Array.prototype.map.call(inputs, function (i) { return i.value; });
    if (rows === 0) { return values; }
    var out = [];
    for (var r = 0; r < rows; r++) { out.push(values.slice(r * cols, (r + 1) * cols)); }
    return out;
  }
  // Typed but not yet saved answers are also kept in this browser, so a page closed or reloaded while
  // the connection is down loses nothing: on the next load they are put back and saved.
  var storeKey = "dlgrade-unsaved:" + exam.getAttribute("data-sitting");
  function kept() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  function keep(key, value) {
    var all = kept();
    if (value === undefined) { delete all[key]; } else { all[key] = value; }
    try { localStorage.setItem(storeKey, JSON.stringify(all)); } catch (e) { /* storage full or off */ }
  }
  if (exam.getAttribute("data-accepting") !== "yes") {
    try { localStorage.removeItem(storeKey); } catch (e) { /* nothing kept */ }
  }
  function fill(box, value) {
    var inputs = box.querySelectorAll("input.cell");
    var flat = Array.isArray(value) ? [].concat.apply([], value) : [value];
    flat.forEach(function (v, k) { if (inputs[k]) { inputs[k].value = v; } });
  }
  function unsaved() { return boxes.filter(function (b) { return b._version > b._saved; }).length; }
  function showState(text) {
    var n = unsaved();
    exam.setAttribute("data-pending", String(n));
    saveState.textContent = text || (n ? "saving…" : "");
  }
  function showReadings(box, readings) {
    var inputs = box.querySelectorAll("input.cell");
    var reading = box.querySelector(".reading");
    reading.textContent = "";
    reading.classList.remove("bad");
    (readings || []).forEach(function (r, k) {
      inputs[k].classList.toggle("bad", !r.ok);
      inputs[k].title = r.ok ? "" : r.error;
      if (!r.ok) { reading.textContent = r.error; reading.classList.add("bad"); }
      else if (inputs.length === 1 && !r.blank) { reading.textContent = "read as " + r.value; }
    });
  }
  function save(box) {
    var version = box._version;
    var body = new URLSearchParams({csrf_token: csrf, key: box.getAttribute("data-key"),
                                    value: JSON.stringify(valueOf(box))});
    return fetch(saveUrl, {method: "POST", body: body, credentials: "same-origin",
                           headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (res) {
        var saved = box.querySelector(".saved");
        if (!res.ok) {
          saved.textContent = "not saved: " + res.data.error;
          saved.classList.add("bad");
          showState("an answer was not saved");
          return;
        }
        box._saved = Math.max(box._saved, version);
        if (box._saved >= box._version) { keep(box.getAttribute("data-key")); }
        saved.classList.remove("bad");
        saved.textContent = "saved " + res.data.saved_at.substring(11, 19);
        if (res.data.readings) { showReadings(box, res.data.readings); }
        showState();
      })
      .catch(function () { showState("offline: your answers will be saved when the connection is back"); });
  }
  function preview(box) {
    var input = box.querySelector("input.cell");
    var out = box.querySelector(".preview");
    var url = previewUrl + "?" + new URLSearchParams({key: box.getAttribute("data-key"), text: input.value});
    var asked = input.value;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (input.value !== asked) { return; }             // a newer preview is on its way
        out.classList.toggle("error", !data.ok);
        out.setAttribute("data-state", data.blank ? "blank" : (data.ok ? "ok" : "error"));
        out.textContent = "";
        if (data.blank) { return; }
        if (data.ok) {
          // MathML written by the server from the parse tree (symbols and numbers only): how the grader reads it.
          out.innerHTML = data.mathml;
          var text = document.createElement("div");
          text.className = "muted read-as";
          text.textContent = "read as: " + data.read_as;
          out.appendChild(text);
        } else {
          var message = document.createElement("div");
          message.className = "parse-error";
          message.textContent = data.error;
          out.appendChild(message);
          if (data.pointer) {
            var pre = document.createElement("pre");
            pre.textContent = data.pointer;
            out.appendChild(pre);
          }
        }
      });
  }
  boxes.forEach(function (box) {
    box._version = 0;
    box._saved = 0;
    var saveTimer = null, previewTimer = null;
    box.addEventListener("input", function () {
      box._version += 1;
      keep(box.getAttribute("data-key"), valueOf(box));
      showState();
      clearTimeout(saveTimer);
      saveTimer = setTimeout(function () { save(box); }, SAVE_DELAY);
      if (box.getAttribute("data-kind") === "expression") {
        clearTimeout(previewTimer);
        previewTimer = setTimeout(function () { preview(box); }, PREVIEW_DELAY);
      }
    });
    var restored = exam.getAttribute("data-accepting") === "yes" ? kept()[box.getAttribute("data-key")] : undefined;
    if (restored !== undefined) {
      fill(box, restored);
      box._version = 1;
      save(box);
    }
    if (box.getAttribute("data-kind") === "expression" && box.querySelector("input.cell").value) { preview(box); }
  });
  // Retry unsaved answers (a lost connection loses nothing typed on this page).
  setInterval(function () {
    boxes.forEach(function (b) { if (b._version > b._saved) { save(b); } });
  }, 5000);

  // -- handing in: first save what is not saved yet.
  var form = document.getElementById("submit-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (!unsaved()) { return; }
      event.preventDefault();
      Promise.all(boxes.filter(function (b) { return b._version > b._saved; }).map(save))
        .then(function () { if (!unsaved()) { form.submit(); } });
    });
  }
  showState();
})();
