// Files stored with records: model documents' files, artifacts' objects, with downloads.
import { download, fileUrl, service } from './api.js'
import { html, useEffect, useState } from './html.js'

function size(bytes) {
  if (typeof bytes !== 'number') return ''
  const units = ['B', 'kB', 'MB', 'GB']
  let i = 0
  let v = bytes
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1 }
  return `${i ? v.toFixed(1) : v} ${units[i]}`
}

export function DownloadButton({ url, filename, label }) {
  const [error, setError] = useState(null)
  return html`<button type="button" onClick=${() => download(url, filename).catch((e) => setError(e.message))}
    aria-label=${`Download ${filename}`}>${label || filename}</button>${error ? html` <span class="error">${error}</span>` : ''}`
}

/** The files of a model document (`files: [[name, "<folder>/<field>"], ...]`) as downloads. */
export function ModelFiles({ path, doc }) {
  const files = Array.isArray(doc.files) ? doc.files : []
  if (!files.length) return html`<span class="muted">no files</span>`
  return html`<span class="row">${files.map(([name]) => html`<${DownloadButton} url=${fileUrl(path, doc._id, name)} filename=${name} />`)}</span>`
}

/** A model document read by service and id, with its files. */
export function ModelRef({ path, id, label }) {
  const [doc, setDoc] = useState(null)
  const [error, setError] = useState(null)
  useEffect(() => { service(path).get(id).then(setDoc, (e) => setError(e.message)) }, [path, id])
  return html`<li><span class="mono">${label || id}</span> <span class="muted">(${path})</span>
    ${error ? html` <span class="error">${error}</span>` : doc ? html` <${ModelFiles} path=${path} doc=${doc} />` : ' …'}</li>`
}

/** An artifact: its objects, each downloadable (files) or shown as a reference. */
export function ArtifactView({ id, name }) {
  const [doc, setDoc] = useState(null)
  const [error, setError] = useState(null)
  useEffect(() => { service('artifacts').get(id).then(setDoc, (e) => setError(e.message)) }, [id])
  if (error) return html`<div class="card"><b>${name || id}</b> <span class="error">${error}</span></div>`
  if (!doc) return html`<div class="card">${name || id} …</div>`
  const objects = doc.objects || []
  return html`<div class="card" data-artifact=${id}>
    <b>${doc.name}</b> <span class="muted mono">${doc.folder || ''}</span>
    ${objects.length ? html`<table><thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col">File</th></tr></thead><tbody>
      ${objects.map((o) => html`<tr><td class="mono">${o.path}</td><td class="num">${size(o.size)}</td>
        <td>${o.sha256 ? html`<${DownloadButton} url=${fileUrl('artifacts', id, o.sha256)} filename=${o.path.split('/').pop()} label="Download" />`
          : html`<span class="mono">${o.reference || ''}</span>`}</td></tr>`)}
    </tbody></table>` : html`<p class="muted">No objects.</p>`}
  </div>`
}
