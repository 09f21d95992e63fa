// Sign-up: preselect the time zone the browser uses. The page works without this script
// (the brand's zone stays selected), and a zone the person picked is never overwritten:
// only a fresh form carries data-browser-zone.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function preselect() {
    var zone = browserZone();
    if (!zone) return;
    document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
      var offered = Array.prototype.some.call(select.options, function (option) {
        return option.value === zone;
      });
      if (offered) select.value = zone;
      select.removeAttribute("data-browser-zone");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", preselect);
  } else {
    preselect();
  }
})();
