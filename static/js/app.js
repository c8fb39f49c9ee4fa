// Behaviour the templates declare with data- attributes, so no inline script is needed and the
// Content-Security-Policy can forbid them (script-src 'self').

// <select data-autosubmit>: submit its form as soon as the choice changes (filters on list pages).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
  }
});

// <button data-menu-toggle aria-controls="…">: on a narrow screen the navigation hides behind this
// button. It opens and closes it, keeps aria-expanded true to what is shown, and closes it again on
// Escape (focus back on the button) or on a tap outside it.
(function () {
  var toggle = document.querySelector("[data-menu-toggle]");
  var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!menu) return;
  function isOpen() {
    return toggle.getAttribute("aria-expanded") === "true";
  }
  function setOpen(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("is-open", open);
  }
  toggle.addEventListener("click", function () {
    setOpen(!isOpen());
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      setOpen(false);
      toggle.focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (isOpen() && !menu.contains(event.target) && !toggle.contains(event.target)) setOpen(false);
  });
})();

// <button data-geolocate="lat-id lon-id accuracy-id">: fills those inputs from the browser's
// geolocation (the user is asked first). Shown only where the browser can locate; the messages come
// from the button's data-msg-* attributes, translated by the template.
(function () {
  var buttons = document.querySelectorAll("[data-geolocate]");
  if (!buttons.length || !("geolocation" in navigator)) return;
  buttons.forEach(function (button) {
    var ids = button.getAttribute("data-geolocate").split(/\s+/);
    var status = button.parentElement.querySelector("[data-geolocate-status]");
    function say(name) {
      if (status) status.textContent = button.getAttribute("data-msg-" + name) || "";
    }
    function fill(id, value) {
      var input = id && document.getElementById(id);
      if (input) input.value = value;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      say("waiting");
      navigator.geolocation.getCurrentPosition(
        function (position) {
          fill(ids[0], position.coords.latitude.toFixed(6));
          fill(ids[1], position.coords.longitude.toFixed(6));
          fill(ids[2], Math.round(position.coords.accuracy));
          button.disabled = false;
          say("done");
        },
        function (error) {
          button.disabled = false;
          say(error.code === error.PERMISSION_DENIED ? "denied" : "failed");
        },
        { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 }
      );
    });
  });
})();

// A table wider than its card scrolls inside its .table-wrap (or .table-scroll): while it does, the
// wrapper takes the keyboard focus (so arrow keys scroll it; WCAG 2.1.1) and is named after its section's
// heading. Checked again when the window changes size, and after htmx swaps a table in.
(function () {
  function label(wrapper) {
    var caption = wrapper.querySelector("caption");
    var section = wrapper.closest("[aria-labelledby]");
    var heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
    return ((caption || heading || {}).textContent || "").trim();
  }
  function update() {
    document.querySelectorAll(".table-wrap, .table-scroll").forEach(function (wrapper) {
      var scrolls = wrapper.scrollWidth > wrapper.clientWidth + 1;
      if (scrolls && !wrapper.hasAttribute("tabindex")) {
        wrapper.setAttribute("tabindex", "0");
        wrapper.setAttribute("role", "region");
        if (label(wrapper)) wrapper.setAttribute("aria-label", label(wrapper));
        wrapper.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && wrapper.hasAttribute("data-scroll-focus")) {
        ["tabindex", "role", "aria-label", "data-scroll-focus"].forEach(function (name) {
          wrapper.removeAttribute(name);
        });
      }
    });
  }
  update();
  window.addEventListener("resize", update);
  document.addEventListener("htmx:afterSettle", update);
})();
