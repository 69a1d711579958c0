// The charts of one or several runs: one chart per (type, key), or per key with one line per
// run when comparing; controls for the x axis, log scale and smoothing.
import { html, useState } from './html.js'
import { MetricChart } from './chart.js'
import { useLiveList } from './live.js'

const ORDER = { train: 0, val: 1, test: 2 }

/** The series (metric-series records) of `runIds`, live. */
export function useSeries(runIds) {
  const query = runIds.length === 1 ? { run: runIds[0] } : { run: { $in: runIds } }
  return useLiveList('metric-series', query, (s) => runIds.includes(s.run))
}

function byTypeAndKey(a, b) {
  return (ORDER[a.type] ?? 3) - (ORDER[b.type] ?? 3) || a.type.localeCompare(b.type) || a.key.localeCompare(b.key)
}

/** Charts: for one run, one chart per key with a line per type; for several, one per (type, key). */
export function chartsOf(series, runs) {
  const charts = new Map()
  const single = runs.length === 1
  for (const s of [...series].sort(byTypeAndKey)) {
    const id = single ? s.key : `${s.type}/${s.key}`
    if (!charts.has(id)) charts.set(id, { id, title: id, lines: [] })
    const run = runs.find((r) => r._id === s.run)
    const label = single ? s.type : (run ? run.name || run._id : s.run)
    charts.get(id).lines.push({ run: s.run, type: s.type, key: s.key, label })
  }
  for (const chart of charts.values()) {
    chart.lines.sort((a, b) => runs.findIndex((r) => r._id === a.run) - runs.findIndex((r) => r._id === b.run))
  }
  return [...charts.values()]
}

export function MetricsPanel({ runs, series }) {
  const [x, setX] = useState('step')
  const [log, setLog] = useState(false)
  const [smoothing, setSmoothing] = useState(0)
  const charts = chartsOf(series, runs)
  return html`
    <div class="controls" role="group" aria-label="Chart options">
      <label>x axis <select name="x" value=${x} onChange=${(e) => setX(e.currentTarget.value)}>
        <option value="step">step</option><option value="epoch">epoch</option><option value="time">time</option>
      </select></label>
      <label><input type="checkbox" name="log" checked=${log} onChange=${(e) => setLog(e.currentTarget.checked)} /> log scale</label>
      <label>smoothing <input type="range" name="smoothing" min="0" max="0.99" step="0.01" value=${smoothing}
        onInput=${(e) => setSmoothing(Number(e.currentTarget.value))} /> <span class="mono">${smoothing.toFixed(2)}</span></label>
      <span class="muted">drag to zoom, double-click to reset</span>
    </div>
    ${charts.length ? html`<div class="charts">
      ${charts.map((c) => html`<${MetricChart} key=${c.id + c.lines.map((l) => l.run + l.type).join()} id=${c.id}
        title=${c.title} lines=${c.lines} x=${x} log=${log} smoothing=${smoothing} />`)}
    </div>` : html`<p class="muted">No metrics yet.</p>`}`
}
