// Compare: several runs' curves overlaid, their params side by side with differences marked.
import { html } from './html.js'
import { useLiveList } from './live.js'
import { MetricsPanel, useSeries } from './metrics.js'
import { paramsOf, statusBadge, text } from './format.js'
import { href } from './router.js'

export function paramRows(runs) {
  const all = runs.map(paramsOf)
  const names = [...new Set(all.flatMap(Object.keys))].sort()
  return names.map((name) => {
    const values = all.map((p) => (name in p ? p[name] : undefined))
    const differs = new Set(values.map((v) => JSON.stringify(v))).size > 1
    return { name, values, differs }
  })
}

export function ComparePage({ ids }) {
  const runs = useLiveList('runs', { _id: { $in: ids } }, (r) => ids.includes(r._id))
  const series = useSeries(ids)
  if (runs.error) return html`<h1>Compare</h1><p class="error" role="alert">${runs.error.message}</p>`
  if (!runs.rows || !series.rows) return html`<h1>Compare</h1><p class="muted">Loading…</p>`
  const ordered = ids.map((id) => runs.rows.find((r) => r._id === id)).filter(Boolean)
  const rows = paramRows(ordered)
  const differing = rows.filter((r) => r.differs).length
  return html`
    <h1>Compare ${ordered.length} runs</h1>
    <p>${ordered.map((r) => html`<a href=${href('runs', r._id)}>${r.name || r._id}</a>
      <span class=${statusBadge(r.status)}>${r.status || '—'}</span> `)}</p>
    <h2>Metrics</h2>
    <${MetricsPanel} runs=${ordered} series=${series.rows} />
    <h2>Params</h2>
    <p class="muted">${differing} of ${rows.length} params differ (marked ≠).</p>
    <div class="table-wrap"><table id="params-table">
      <thead><tr><th scope="col">Param</th>${ordered.map((r) => html`<th scope="col">${r.name || r._id}</th>`)}</tr></thead>
      <tbody>${rows.map((row) => html`<tr class=${row.differs ? 'diff' : ''} data-param=${row.name} data-differs=${row.differs ? '1' : '0'}>
        <th scope="row" class="mono">${row.differs ? html`<span aria-label="differs">≠ </span>` : ''}${row.name}</th>
        ${row.values.map((v) => html`<td class="mono">${v === undefined ? html`<span class="muted">—</span>` : text(v)}</td>`)}
      </tr>`)}</tbody>
    </table></div>`
}
