// Models: Marcelle's model services with the server's Keras conversions (live), and the registry.
import { html, useState } from './html.js'
import { useLivePage } from './live.js'
import { DownloadButton, ModelFiles, ModelRef } from './files.js'
import { fileUrl } from './api.js'
import { href } from './router.js'
import { date, statusBadge } from './format.js'

const PAGE = 50
const QUERY = { $limit: PAGE, $sort: { createdAt: -1 } }

function Conversions({ doc }) {
  const conversions = doc.conversions || {}
  const formats = Object.keys(conversions)
  if (!formats.length) return html`<span class="muted">—</span>`
  return html`<ul class="plain">${formats.map((f) => {
    const c = conversions[f] || {}
    return html`<li data-format=${f} data-status=${c.status}>
      ${f} <span class=${statusBadge(c.status)}>${c.status}</span>
      ${c.status === 'error' ? html` <span class="error">${c.error}</span>` : ''}
      ${c.status === 'done' && c.modelId ? html`<ul><${ModelRef} path=${`${f}-models`} id=${c.modelId} label=${`${f} model`} /></ul>` : ''}
    </li>`
  })}</ul>`
}

function ModelTable({ path, title, conversions = false }) {
  const { page, error } = useLivePage(path, QUERY)
  const rows = page ? page.data : []
  return html`<section aria-labelledby=${`h-${path}`}>
    <h2 id=${`h-${path}`}>${title} <span class="muted">${page ? `(${page.total})` : ''}</span></h2>
    ${error ? html`<p class="error">${error.message}</p>` : ''}
    ${page && !rows.length ? html`<p class="muted">None yet.</p>` : html`<div class="table-wrap"><table id=${`table-${path}`}>
      <thead><tr><th scope="col">Name</th><th scope="col">Created</th>
        ${conversions ? html`<th scope="col">Conversions</th>` : html`<th scope="col">Source</th>`}<th scope="col">Files</th></tr></thead>
      <tbody>${rows.map((doc) => html`<tr key=${doc._id} data-model=${doc._id}>
        <td>${doc.name || doc._id}<div class="muted mono">${doc._id}</div></td>
        <td>${date(doc.createdAt)}</td>
        <td>${conversions ? html`<${Conversions} doc=${doc} />` : html`<span class="mono">${doc.source || doc.run || ''}</span>`}</td>
        <td><${ModelFiles} path=${path} doc=${doc} /></td>
      </tr>`)}</tbody></table></div>`}
  </section>`
}

function Registry() {
  const { page, error } = useLivePage('models', QUERY)
  const [open, setOpen] = useState(null)
  if (error) return html`<p class="muted">The model registry is not available: ${error.message}</p>`
  const rows = page ? page.data : []
  return html`<section aria-labelledby="h-registry">
    <h2 id="h-registry">Registry <span class="muted">${page ? `(${page.total})` : ''}</span></h2>
    ${page && !rows.length ? html`<p class="muted">No registered models.</p>` : html`<div class="table-wrap"><table id="table-registry">
      <thead><tr><th scope="col">Model</th><th scope="col">Task</th><th scope="col">Labels</th><th scope="col">Published</th>
        <th scope="col">Latest</th><th scope="col">Versions</th></tr></thead>
      <tbody>${rows.map((m) => html`<tr key=${m._id} data-registry=${m._id}>
        <td>${m.name || m._id}${m.framework ? html`<div class="muted">${m.framework}</div>` : ''}
          ${(m.tags || []).map((t) => html`<span class="badge">${t}</span> `)}</td>
        <td>${m.task ? html`<a href=${href('runs', m.task)}>run</a>` : ''}</td>
        <td>${Object.keys(m.labels || {}).join(', ')}</td>
        <td>${m.published ? html`<span class="badge s-done">published</span> <span class="muted">${date(m.publishedAt)}</span>` : 'draft'}</td>
        <td>${m.version ? `v${m.version}` : ''} ${m.uri && m.uri.startsWith('/') ? html`<${DownloadButton} url=${m.uri}
          filename=${m.uri.split('/').pop()} label="Download" />` : html`<span class="mono">${m.uri || ''}</span>`}</td>
        <td><button type="button" aria-expanded=${open === m._id} onClick=${() => setOpen(open === m._id ? null : m._id)}>versions</button></td>
      </tr>${open === m._id ? html`<tr><td colspan="6"><${Versions} model=${m} /></td></tr>` : ''}`)}</tbody></table></div>`}
  </section>`
}

function Versions({ model }) {
  const { page, error } = useLivePage('model-versions', { model: model._id, $limit: PAGE, $sort: { version: -1 } })
  if (error) return html`<span class="error">${error.message}</span>`
  if (!page) return html`<span class="muted">…</span>`
  if (!page.data.length) return html`<span class="muted">No versions.</span>`
  return html`<ul>${page.data.map((v) => html`<li key=${v._id}>v${v.version} <span class="mono">${v.filename || v.uri || ''}</span>
    ${' '}<span class="muted">${date(v.createdAt)}</span>
    ${v.ref ? html` <${DownloadButton} url=${fileUrl('model-versions', v._id, v.filename)} filename=${v.filename} label="Download" />` : ''}
    ${v.conversions ? html` <${Conversions} doc=${v} />` : ''}</li>`)}</ul>`
}

export function ModelsPage({ services }) {
  const has = (name) => !services || services.includes(name)
  return html`
    <h1>Models</h1>
    ${has('models') ? html`<${Registry} />` : ''}
    <${ModelTable} path="keras-models" title="Keras models (converted on the server)" conversions=${true} />
    <${ModelTable} path="onnx-models" title="ONNX models" />
    <${ModelTable} path="tfjs-models" title="TF.js models" />`
}
