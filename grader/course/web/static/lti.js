// LTI pages: (1) inside an LMS frame, test whether this browser keeps dlgrade's cookies; continue here
// if it does, else show the "open in a new window" offer. (2) Post the deep-linking answer back.
(function () {
  "use strict";
  var check = document.getElementById("lti-cookie-check");
  if (check) {
    var secure = window.location.protocol === "https:";
    document.cookie = "dlgrade_cookie_test=1; path=/; max-age=60" + (secure ? "; SameSite=None; Secure" : "");
    var kept = document.cookie.indexOf("dlgrade_cookie_test=1") !== -1;
    var framed = window.self !== window.top;
    if (kept || !framed) {
      window.location.replace(check.getAttribute("data-continue"));
    } else {
      document.getElementById("lti-cookies-blocked").hidden = false;
    }
  }
  var back = document.getElementById("lti-deep-link-return");
  if (back && back.getAttribute("data-autosubmit") === "1") {
    back.submit();
  }
})();
