// Endpoints: status (live), and a predict form (JSON, or an image upload for image models) whose
// answer is shown as JSON and, for top-N endpoints, as bars.
import { service } from './api.js'
import { html, useEffect, useState } from './html.js'
import { useLiveList } from './live.js'
import { num, statusBadge } from './format.js'
import { href } from './router.js'

function shapeText(spec) {
  return `${spec.name} (${(spec.shape || []).map((d) => (d == null ? '?' : d)).join(', ')}) ${spec.dtype || ''}`
}

/** An input that takes an image: rows of (h, w, c) or (c, h, w) numbers with c in 1, 3, 4. */
export function imageInput(inputs) {
  return (inputs || []).find((s) => {
    const row = (s.shape || []).slice(1)
    return s.dtype !== 'string' && row.length === 3 && ([1, 3, 4].includes(row[2]) || [1, 3, 4].includes(row[0]))
  })
}

function zeros(shape) {
  if (!shape.length) return 0
  const [n, ...rest] = shape
  return Array.from({ length: n == null ? 1 : n }, () => zeros(rest))
}

function example(endpoint) {
  const inputs = endpoint.inputs || []
  const one = inputs.length === 1
  const instance = one ? zeros((inputs[0].shape || []).slice(1))
    : Object.fromEntries(inputs.map((s) => [s.name, s.dtype === 'string' ? ['text'] : zeros((s.shape || []).slice(1))]))
  return JSON.stringify({ instances: [instance] })
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result).split(',', 2)[1])
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })
}

function Bars({ scores }) {
  const entries = Object.entries(scores)
  const top = Math.max(...entries.map(([, v]) => v), 1e-12)
  return html`<div class="bars" role="list">${entries.map(([label, v]) => html`<span role="listitem">${label}</span>
    <span class="bar" style=${`width:${Math.max(1, (v / top) * 100)}%`} aria-hidden="true"></span><span class="mono">${num(v)}</span>`)}</div>`
}

function isScores(p) {
  return p && typeof p === 'object' && !Array.isArray(p) && Object.values(p).every((v) => typeof v === 'number')
}

function PredictForm({ endpoint }) {
  const image = imageInput(endpoint.inputs)
  const [mode, setMode] = useState(image ? 'image' : 'json')
  const [body, setBody] = useState(() => example(endpoint))
  const [file, setFile] = useState(null)
  const [answer, setAnswer] = useState(null)
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  useEffect(() => { setBody(example(endpoint)); setAnswer(null); setError(null) }, [endpoint._id, Boolean(endpoint.inputs)])
  const submit = async (e) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      let data
      if (mode === 'image') {
        if (!file) throw new Error('Choose an image first')
        data = { instances: [{ [image.name]: { b64: await readBase64(file) } }] }
      } else {
        try { data = JSON.parse(body) } catch (err) { throw new Error(`The JSON does not parse: ${err.message}`) }
      }
      setAnswer(await service('endpoints').predict({ ...data, endpoint: endpoint._id }, {}))
    } catch (err) {
      setAnswer(null)
      setError(err.message)
    } finally { setBusy(false) }
  }
  const predictions = answer && Array.isArray(answer.predictions) ? answer.predictions : []
  return html`<form id="predict-form" onSubmit=${submit} aria-label=${`Predict with ${endpoint.name}`}>
    <div class="controls">
      <label><input type="radio" name="mode" value="json" checked=${mode === 'json'} onChange=${() => setMode('json')} /> JSON</label>
      ${image ? html`<label><input type="radio" name="mode" value="image" checked=${mode === 'image'} onChange=${() => setMode('image')} /> image (${image.name})</label>` : ''}
    </div>
    ${mode === 'json' ? html`<label class="block">Request body
        <textarea name="body" spellcheck="false" value=${body} onInput=${(e) => setBody(e.currentTarget.value)}></textarea></label>`
      : html`<label class="block">Image <input type="file" name="image" accept="image/*" onChange=${(e) => setFile(e.currentTarget.files[0] || null)} /></label>`}
    <button class="primary" type="submit" disabled=${busy || endpoint.status !== 'ready'}>${busy ? 'Predicting…' : 'Predict'}</button>
    ${endpoint.status !== 'ready' ? html` <span class="muted">The endpoint is ${endpoint.status}.</span>` : ''}
    ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
    ${answer ? html`<section aria-live="polite"><h3>Answer</h3>
      ${predictions.filter(isScores).map((p, i) => html`<div class="card" data-instance=${i}><b>instance ${i}</b><${Bars} scores=${p} /></div>`)}
      <pre id="predict-answer">${JSON.stringify(answer, null, 1)}</pre></section>` : ''}
  </form>`
}

export function EndpointsPage({ name }) {
  const { rows, error } = useLiveList('endpoints', { $sort: { name: 1 } })
  if (error) return html`<h1>Endpoints</h1><p class="error" role="alert">${error.message}</p>`
  if (!rows) return html`<h1>Endpoints</h1><p class="muted">Loading…</p>`
  const chosen = name ? rows.find((e) => e._id === name) : null
  return html`
    <h1>Endpoints</h1>
    ${rows.length ? html`<div class="table-wrap"><table id="endpoints-table">
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Model</th><th scope="col">Replicas</th>
        <th scope="col" class="hide-narrow">Inputs</th><th scope="col" class="hide-narrow">Outputs</th></tr></thead>
      <tbody>${rows.map((e) => html`<tr key=${e._id} data-endpoint=${e._id}>
        <td><a href=${href('endpoints', e._id)} aria-current=${e._id === name ? 'true' : undefined}>${e.name}</a>
          ${e.description ? html`<div class="muted">${e.description}</div>` : ''}</td>
        <td><span class=${statusBadge(e.status)}>${e.status}</span>${e.error ? html`<div class="error">${e.error}</div>` : ''}</td>
        <td class="mono">${e.model}</td><td class="num">${e.replicas}</td>
        <td class="hide-narrow mono">${(e.inputs || []).map((s) => html`<div>${shapeText(s)}</div>`)}</td>
        <td class="hide-narrow mono">${(e.outputs || []).map((s) => html`<div>${shapeText(s)}</div>`)}</td>
      </tr>`)}</tbody></table></div>` : html`<p class="muted">No endpoints.</p>`}
    ${name && !chosen ? html`<p class="error">No endpoint named ${name}.</p>` : ''}
    ${chosen ? html`<h2>Predict with ${chosen.name}</h2><${PredictForm} endpoint=${chosen} />` : ''}`
}
