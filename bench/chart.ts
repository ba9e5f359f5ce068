export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** A log-log line chart as SVG, small enough to commit and render in Markdown. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const width = 720;
  const height = 420;
  const m = { left: 90, right: 170, top: 50, bottom: 60 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const xMax = Math.max(...xs);
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(xMax)];
  const [y0, y1] = [Math.floor(Math.log10(Math.min(...ys))), Math.ceil(Math.log10(Math.max(...ys)))];
  const px = (x: number) => m.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const py = (y: number) =>
    height - m.bottom - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${title}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2 - 60}" y="24" font-size="15" text-anchor="middle">${title}</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${m.left - 8}" y="${y + 4}" text-anchor="end">${(10 ** e).toLocaleString('en-US')}</text>`,
    );
  }
  for (const x of [...new Set(xs)]) {
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${m.top}" y2="${height - m.bottom}" stroke="#eee"/>`);
    parts.push(
      `<text x="${px(x)}" y="${height - m.bottom + 18}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 18}" text-anchor="middle">${xLabel}</text>`,
  );
  parts.push(
    `<text transform="translate(22 ${height / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`,
  );
  series.forEach((s, i) => {
    const path = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const p of s.points) {
      parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="4" fill="${s.color}"/>`);
      // The rightmost values read leftwards, clear of the legend beside the plot.
      const label = p.x === xMax ? `x="${px(p.x) - 6}" text-anchor="end"` : `x="${px(p.x) + 6}"`;
      parts.push(
        `<text ${label} y="${py(p.y) - 8}" fill="${s.color}">${Math.round(p.y).toLocaleString('en-US')}</text>`,
      );
    }
    parts.push(
      `<rect x="${width - m.right + 20}" y="${m.top + i * 22}" width="14" height="4" fill="${s.color}"/>`,
    );
    parts.push(`<text x="${width - m.right + 40}" y="${m.top + i * 22 + 6}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
