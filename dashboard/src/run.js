// Run: params, platform and git, live metric curves, checkpoints and output models, artifacts,
// associations.
import { html, useEffect } from './html.js'
import { useLiveRecord } from './live.js'
import { ArtifactView, ModelRef } from './files.js'
import { MetricsPanel, useSeries } from './metrics.js'
import { date, duration, durationOf, kindOf, paramsOf, startOf, statusBadge, text } from './format.js'
import { markPainted } from './marks.js'
import { href } from './router.js'

export function KeyValues({ data, label }) {
  const entries = Object.entries(data || {})
  if (!entries.length) return html`<p class="muted">None.</p>`
  return html`<dl class="kv" aria-label=${label}>${entries.map(([k, v]) => html`<dt>${k}</dt><dd class="mono">${text(v)}</dd>`)}</dl>`
}

function Associations({ run }) {
  const assoc = run.associations || {}
  const sides = ['inputs', 'outputs'].filter((s) => (assoc[s] || []).length)
  if (!sides.length) return html`<p class="muted">None.</p>`
  return html`${sides.map((side) => html`<h3>${side}</h3><ul>
    ${assoc[side].map((a) => html`<li><span class="badge">${a.kind}</span> ${a.name || ''} <span class="muted mono">${a.id}</span></li>`)}
  </ul>`)}`
}

export function RunPage({ id }) {
  const { record: run, error } = useLiveRecord('runs', id)
  const series = useSeries([id])
  useEffect(() => { if (run && series.rows) markPainted('plume:run-data') }, [Boolean(run && series.rows)])
  if (error) return html`<h1>Run</h1><p class="error" role="alert">${error.message}</p>`
  if (!run) return html`<h1>Run</h1><p class="muted">Loading…</p>`
  const params = paramsOf(run)
  const assoc = run.associations || {}
  const artifacts = [...(assoc.inputs || []), ...(assoc.outputs || [])].filter((a) => a.kind === 'artifact')
  const models = (assoc.outputs || []).filter((a) => a.kind === 'model')
  const checkpoints = run.checkpoints || []
  return html`
    <h1>${run.name || run._id} <span class=${statusBadge(run.status)}>${run.status || '—'}</span></h1>
    <dl class="kv">
      <dt>kind</dt><dd>${kindOf(run)}</dd>
      ${run.folder ? html`<dt>folder</dt><dd class="mono">${run.folder}</dd>` : ''}
      <dt>started</dt><dd>${date(startOf(run))}</dd>
      <dt>duration</dt><dd>${duration(durationOf(run))}</dd>
      ${typeof run.epochs === 'number' ? html`<dt>epoch</dt><dd>${run.epoch ?? 0} / ${run.epochs}</dd>` : ''}
      ${run.labels && run.labels.length ? html`<dt>labels</dt><dd>${run.labels.map((l) => html`<span class="badge">${l}</span> `)}</dd>` : ''}
      ${run.description ? html`<dt>description</dt><dd>${run.description}</dd>` : ''}
      <dt>id</dt><dd class="mono">${run._id}</dd>
    </dl>
    <h2>Metrics</h2>
    ${series.error ? html`<p class="error">${series.error.message}</p>` : ''}
    ${series.rows ? html`<${MetricsPanel} runs=${[run]} series=${series.rows} />` : html`<p class="muted">Loading…</p>`}
    <div class="grid2">
      <section><h2>Params</h2><${KeyValues} data=${params} label="Params" /></section>
      <section><h2>Platform and git</h2>
        <${KeyValues} data=${{ ...(run.platform || {}), ...Object.fromEntries(Object.entries(run.git || {}).map(([k, v]) => [`git.${k}`, v])) }} label="Platform" />
      </section>
    </div>
    <h2>Checkpoints and output models</h2>
    ${checkpoints.length || models.length ? html`<ul>
      ${checkpoints.map((c) => html`<${ModelRef} key=${c.id} path=${c.service} id=${c.id} label=${c.name} />`)}
      ${models.map((m) => html`<li><span class="badge">model</span> <a href=${href('models')}>${m.name || m.id}</a>
        <span class="muted mono">${m.id}</span> <span class="muted">(registry)</span></li>`)}
    </ul>` : html`<p class="muted">None.</p>`}
    <h2>Artifacts</h2>
    ${artifacts.length ? artifacts.map((a) => html`<${ArtifactView} key=${a.id} id=${a.id} name=${a.name} />`) : html`<p class="muted">None.</p>`}
    <h2>Associations</h2>
    <${Associations} run=${run} />`
}
