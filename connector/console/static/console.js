// Live countdowns: the server's "now" (data-now) anchors the clock, so a test clock works too.
(() => {
  const body = document.body;
  const offset = Number(body.dataset.now) - Date.now();
  const zh = body.dataset.lang === "zh";
  const pad = (n) => String(n).padStart(2, "0");
  const span = (s) => {
    s = Math.floor(Math.abs(s));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return zh ? `${d}天${h}小时` : `${d}d${h}h`;
    if (h) return zh ? `${h}小时${pad(m)}分` : `${h}h${pad(m)}m`;
    return zh ? `${m}分${pad(sec)}秒` : `${m}m${pad(sec)}s`;
  };
  const tick = () => {
    for (const el of document.querySelectorAll(".countdown[data-deadline]")) {
      const left = (Number(el.dataset.deadline) - (Date.now() + offset)) / 1000;
      const guard = Number(el.dataset.guard);
      el.textContent = left < 0 ? (zh ? `已超时 ${span(left)}` : `overdue ${span(left)}`) : span(left);
      const row = el.closest("tr");
      if (row) {
        row.classList.toggle("red", left <= guard);
        row.classList.toggle("amber", left > guard && left <= 2 * guard);
      }
    }
  };
  tick();
  setInterval(tick, 1000);
})();

// Select all on this page, and the keyboard flow listed on the page (not while typing).
(() => {
  const all = document.getElementById("select-all");
  const boxes = () => [...document.querySelectorAll("tr.case-row input[name=case]")];
  if (all) all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  const rows = () => [...document.querySelectorAll("tr.case-row")];
  let at = -1;
  const focus = (i) => {
    const list = rows();
    if (!list.length) return;
    at = Math.max(0, Math.min(list.length - 1, i));
    list.forEach((r, n) => r.classList.toggle("focus", n === at));
    list[at].focus();
  };
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
    const list = rows();
    if (e.key === "j") focus(at + 1);
    else if (e.key === "k") focus(at - 1);
    else if (e.key === "x" && list[at]) { const b = list[at].querySelector("input[name=case]"); b.checked = !b.checked; }
    else if ((e.key === "o" || e.key === "Enter") && list[at]) { list[at].querySelector("a").click(); }
    else if (e.key === "a" && all) { all.checked = !all.checked; all.dispatchEvent(new Event("change")); }
    else if (e.key === "/") { const s = document.getElementById("search"); if (s) { e.preventDefault(); s.focus(); } }
    else if (e.key === "n") { const n = document.getElementById("next-case"); if (n) n.click(); }
    else return;
  });
})();
