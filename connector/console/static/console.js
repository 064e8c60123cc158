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
