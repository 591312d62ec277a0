// Source viewer: bring the cited passage to the middle of the screen.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var cite = document.getElementById("cite");
  if (cite) {
    cite.scrollIntoView({ block: "center" });
    cite.classList.add("flash");
  }
});
