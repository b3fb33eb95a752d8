// Small page behaviours declared in the markup, so that no template needs inline event
// handlers (the Content-Security-Policy refuses them):
//   <select data-autosubmit>           submits its form when changed
//   <button data-print>                prints the page
//   <form data-confirm="question">     asks before submitting
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
})();
