// Jobs: batch inference jobs with live progress bars, and cancel.
import { service } from './api.js'
import { html, useState } from './html.js'
import { useLivePage } from './live.js'
import { date, statusBadge } from './format.js'

const ACTIVE = ['queued', 'running']

export function JobsPage() {
  const { page, error, reload } = useLivePage('inference-jobs', {
    $limit: 50, $sort: { createdAt: -1 }, $select: ['name', 'description', 'endpoint', 'status', 'progress', 'error', 'createdAt'],
  })
  const [failure, setFailure] = useState(null)
  // A refused cancel (409: the job finished before the cancel reached the server) shows the
  // server's message, and the page is read again so the row shows the job as it is now.
  const cancel = (job) => service('inference-jobs').patch(job._id, { status: 'cancelled' })
    .then(() => setFailure(null), (e) => { setFailure(e.message); reload() })
  const rows = page ? page.data : []
  return html`
    <h1>Jobs</h1>
    ${error ? html`<p class="error" role="alert">${error.message}</p>` : ''}
    ${failure ? html`<p class="error" role="alert">${failure}</p>` : ''}
    ${page && !rows.length ? html`<p class="muted">No jobs.</p>` : html`<div class="table-wrap"><table id="jobs-table">
      <thead><tr><th scope="col">Job</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col">Progress</th>
        <th scope="col">Created</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
      <tbody>${rows.map((job) => {
        const { done = 0, total = 0 } = job.progress || {}
        const pct = total ? Math.round((done / total) * 100) : 0
        return html`<tr key=${job._id} data-job=${job._id}>
          <td>${job.name || job._id}${job.description ? html`<div class="muted">${job.description}</div>` : ''}</td>
          <td class="mono">${job.endpoint}</td>
          <td><span class=${statusBadge(job.status)}>${job.status}</span>${job.error ? html`<div class="error">${job.error}</div>` : ''}</td>
          <td><span class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${pct}
            aria-label=${`${job.name || job._id} progress`}><span style=${`width:${pct}%`}></span></span> ${done}/${total}</td>
          <td>${date(job.createdAt)}</td>
          <td>${ACTIVE.includes(job.status) ? html`<button type="button" onClick=${() => cancel(job)}>Cancel</button>` : ''}</td>
        </tr>`
      })}</tbody></table></div>`}`
}
