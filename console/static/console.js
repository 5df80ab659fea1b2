// Live pages: an application's page asks the server every few seconds what its workflow is doing
// and, when the stage, what it waits for or its timeline changed, reloads itself (no form being
// filled in) or says so. No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  const page = document.querySelector("[data-live]");
  if (!page) return;
  const typing = () => Array.from(document.querySelectorAll("form.action input, form.action textarea"))
    .some((el) => el.type !== "hidden" && el.type !== "checkbox" && el.value !== "");
  async function poll() {
    try {
      const answer = await fetch(page.dataset.live, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return;
      const now = await answer.json();
      const changed = now.stage !== page.dataset.stage || (now.waiting_for || "") !== page.dataset.waiting ||
        String(now.history) !== page.dataset.history;
      if (changed) {
        if (typing()) document.getElementById("live-note").hidden = false;
        else window.location.reload();
      }
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }
  setInterval(poll, 2000);
})();
