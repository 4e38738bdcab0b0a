/**
 * The results chart as a standalone SVG (no browser, no library): offered call rate (x) against INVITE → 200 p99
 * latency (y, logarithmic, ms), one line per system; filled markers are clean steps, crosses are steps that were
 * not clean (failed calls or retransmissions). sipp measures in whole milliseconds, so a p99 of 0 ms is drawn on the
 * "<1" line at the bottom.
 */

export interface ChartPoint {
  readonly rate: number;
  readonly p99: number;
  readonly clean: boolean;
}

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly ChartPoint[];
  readonly dashed?: boolean;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function renderChart(series: readonly ChartSeries[], title: string, subtitle: string): string {
  const W = 760;
  // two legend entries per row under the plot, then the marker note on a line of its own
  const legendRows = Math.ceil(series.length / 2);
  const H = 420 + legendRows * 16 + 14;
  const m = { l: 64, r: 24, t: 56, b: H - 348 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = series.flatMap((s) => s.points);
  const maxRate = Math.max(1000, ...all.map((p) => p.rate));
  const xMax = niceCeil(maxRate * 1.05);
  const yTicks = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
  const maxP = Math.max(10, ...all.map((p) => (Number.isFinite(p.p99) ? p.p99 : 0)));
  const yMax = yTicks.find((t) => t >= maxP * 1.2) ?? 20000;
  const yMin = 0.5;
  const x = (r: number): number => m.l + (r / xMax) * pw;
  const yv = (ms: number): number => Math.max(yMin, ms);
  const y = (ms: number): number => m.t + ph - ((Math.log10(yv(ms)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.l}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${m.l}" y="40" fill="#555">${esc(subtitle)}</text>`);
  // grid and axes
  for (const t of yTicks.filter((t) => t <= yMax)) {
    const yy = y(t).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${yy}" y2="${yy}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${m.l - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#333">${t === 0.5 ? "&lt;1" : t >= 1000 ? `${t / 1000}k` : t}</text>`);
  }
  const step = xStep(xMax);
  for (let r = 0; r <= xMax + 1e-9; r += step) {
    const xx = x(r).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${m.t + ph + 16}" text-anchor="middle" fill="#333">${r.toLocaleString("en-US")}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 34}" text-anchor="middle">offered load (calls per second)</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">INVITE → 200 p99 (ms, log)</text>`);

  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.p99)).sort((a, b) => a.rate - b.rate);
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.rate).toFixed(1)},${y(p.p99).toFixed(1)}`).join(" ");
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    }
    for (const p of pts) {
      const cx = x(p.rate);
      const cy = y(p.p99);
      if (p.clean) {
        out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${s.color}"><title>${esc(s.label)}: ${p.rate}/s, p99 ${p.p99} ms, clean</title></circle>`);
      } else {
        const k = 5;
        out.push(
          `<path d="M${(cx - k).toFixed(1)},${(cy - k).toFixed(1)} L${(cx + k).toFixed(1)},${(cy + k).toFixed(1)} M${(cx - k).toFixed(1)},${(cy + k).toFixed(1)} L${(cx + k).toFixed(1)},${(cy - k).toFixed(1)}" stroke="${s.color}" stroke-width="2.5"><title>${esc(s.label)}: ${p.rate}/s, p99 ${p.p99} ms, NOT clean</title></path>`,
        );
      }
    }
    // legend
    const lx = m.l + (i % 2) * 340;
    const ly = 400 + 20 + Math.floor(i / 2) * 16;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    out.push(`<circle cx="${lx + 11}" cy="${ly - 4}" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${esc(s.label)}</text>`);
  });
  out.push(`<text x="${W - m.r}" y="${H - 8}" text-anchor="end" fill="#777" font-size="11">● clean step   ✕ failed calls or retransmissions</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function niceCeil(v: number): number {
  const steps = [1000, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000, 25000, 30000, 40000, 50000];
  return steps.find((s) => s >= v) ?? Math.ceil(v / 10000) * 10000;
}

function xStep(xMax: number): number {
  for (const s of [100, 250, 500, 1000, 2000, 2500, 5000, 10000]) if (xMax / s <= 10) return s;
  return 10000;
}
