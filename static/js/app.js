// Behaviour the templates declare with data- attributes, so no inline script is needed and the
// Content-Security-Policy can forbid them (script-src 'self').

// <select data-autosubmit>: submit its form as soon as the choice changes (filters on list pages).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
  }
});
