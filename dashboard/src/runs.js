// Runs: every run in a table paged by the server, live; sort, filter, search; select to compare.
import { html, useEffect, useMemo, useState } from './html.js'
import { useLiveList, useLivePage } from './live.js'
import { RUNNING, date, duration, durationOf, kindOf, num, paramsOf, progressOf, startOf, statusBadge, text } from './format.js'
import { go, href } from './router.js'
import { markPainted } from './marks.js'

const PAGE = 25
const FIELDS = ['name', 'basename', 'status', 'source', 'epoch', 'epochs', 'params', 'hparams', 'start',
  'start_timestamp', 'end_timestamp', 'createdAt', 'updatedAt', 'folder', 'logs', 'platform', 'labels']
const STATUSES = { running: ['start', 'epoch', 'idle'], success: ['success'], error: ['error'] }
const COLUMNS = [['name', 'Name'], ['status', 'Status'], ['createdAt', 'Started']]

export function lastMetrics(run, series) {
  const mine = series.filter((s) => s.run === run._id)
  if (mine.length) {
    const order = (t) => ({ train: 0, val: 1, test: 2 }[t] ?? 3)
    return mine.sort((a, b) => order(a.type) - order(b.type) || a.key.localeCompare(b.key))
      .map((s) => [`${s.type}/${s.key}`, s.value])
  }
  return Object.entries(run.logs || {}).filter(([, v]) => Array.isArray(v) && v.length)
    .map(([k, v]) => [k, v[v.length - 1]])
}

function keyParams(rows) {
  const all = rows.map(paramsOf)
  const names = [...new Set(all.flatMap(Object.keys))]
  const varying = names.filter((n) => new Set(all.map((p) => JSON.stringify(p[n]))).size > 1)
  return (varying.length ? varying : names).slice(0, 3)
}

function useTick(active) {
  const [, setNow] = useState(0)
  useEffect(() => {
    if (!active) return undefined
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [active])
}

export function RunsPage({ params }) {
  const [search, setSearch] = useState(params.get('q') || '')
  const [status, setStatus] = useState('')
  const [sort, setSort] = useState(['createdAt', -1])
  const [skip, setSkip] = useState(0)
  const [selected, setSelected] = useState([])
  const query = useMemo(() => {
    const q = { $limit: PAGE, $skip: skip, $sort: { [sort[0]]: sort[1] }, $select: FIELDS }
    if (status) q.status = { $in: STATUSES[status] }
    if (search) q.name = { $gte: search, $lt: search + '\uffff' } // a prefix: uses the index
    return q
  }, [search, status, sort, skip])
  const { page, error } = useLivePage('runs', query)
  const rows = page ? page.data : []
  const ids = rows.map((r) => r._id)
  const series = useLiveList('metric-series', { run: { $in: ids } }, (s) => ids.includes(s.run))
  useTick(rows.some((r) => RUNNING.includes(r.status)))
  const shownParams = keyParams(rows)
  const toggle = (id) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]))
  const sortBy = (field) => { setSkip(0); setSort(([f, d]) => [field, f === field ? -d : -1]) }
  const ariaSort = (field) => (sort[0] !== field ? 'none' : sort[1] > 0 ? 'ascending' : 'descending')
  const total = page ? page.total : 0
  useEffect(() => { if (page) markPainted('plume:runs-painted') }, [page !== null])

  return html`
    <h1>Runs</h1>
    <form class="controls" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label>Search <input type="search" name="q" placeholder="name starts with…" value=${search}
        onInput=${(e) => { setSkip(0); setSearch(e.currentTarget.value) }} /></label>
      <label>Status <select name="status" value=${status} onChange=${(e) => { setSkip(0); setStatus(e.currentTarget.value) }}>
        <option value="">all</option><option value="running">running</option>
        <option value="success">success</option><option value="error">error</option>
      </select></label>
      <button type="button" class="primary" disabled=${selected.length < 2}
        onClick=${() => go('compare', selected.join(','))}>Compare ${selected.length || ''}</button>
      ${selected.length ? html`<button type="button" onClick=${() => setSelected([])}>Clear selection</button>` : ''}
    </form>
    ${error ? html`<p class="error" role="alert">${error.message}</p>` : ''}
    <div class="table-wrap">
      <table id="runs-table" aria-busy=${page ? 'false' : 'true'}>
        <caption class="muted" style="text-align:left;padding:.3em .6em">${page ? `${total} run${total === 1 ? '' : 's'}` : 'Loading…'}</caption>
        <thead><tr>
          <th scope="col"><span class="muted" aria-label="Select">✓</span></th>
          ${COLUMNS.map(([f, label]) => html`<th scope="col" aria-sort=${ariaSort(f)}>
            <button class="sort" onClick=${() => sortBy(f)}>${label} ${sort[0] === f ? (sort[1] > 0 ? '▲' : '▼') : ''}</button></th>`)}
          <th scope="col">Kind</th><th scope="col">Progress</th><th scope="col">Duration</th>
          <th scope="col" class="hide-narrow">Params</th><th scope="col">Last metrics</th>
        </tr></thead>
        <tbody>
          ${rows.map((run) => {
            const p = progressOf(run)
            const pv = paramsOf(run)
            return html`<tr key=${run._id} data-run=${run._id}>
              <td><input type="checkbox" aria-label=${`Select ${run.name || run._id}`}
                checked=${selected.includes(run._id)} onChange=${() => toggle(run._id)} /></td>
              <td><a href=${href('runs', run._id)}>${run.name || run.basename || run._id}</a>
                ${run.folder ? html`<div class="muted mono">${run.folder}</div>` : ''}</td>
              <td><span class=${statusBadge(run.status)}>${run.status || '—'}</span></td>
              <td>${date(startOf(run))}</td>
              <td>${kindOf(run)}</td>
              <td>${p == null ? '' : html`<span class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=${Math.round(p * 100)}><span style=${`width:${p * 100}%`}></span></span>`}
                ${typeof run.epochs === 'number' ? html` <span class="muted">${run.epoch ?? 0}/${run.epochs}</span>` : ''}</td>
              <td>${duration(durationOf(run))}</td>
              <td class="hide-narrow mono">${shownParams.filter((k) => k in pv).map((k) => html`<div>${k}=${text(pv[k])}</div>`)}</td>
              <td class="mono">${lastMetrics(run, series.rows || []).slice(0, 3).map(([k, v]) => html`<div>${k} ${num(v)}</div>`)}</td>
            </tr>`
          })}
        </tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Pagination">
      <button disabled=${skip === 0} onClick=${() => setSkip(Math.max(0, skip - PAGE))}>Previous</button>
      <span>${total ? `${skip + 1}–${Math.min(skip + PAGE, total)} of ${total}` : ''}</span>
      <button disabled=${skip + PAGE >= total} onClick=${() => setSkip(skip + PAGE)}>Next</button>
    </nav>`
}
