// Login (when the server has authentication on) and the API keys page.
import { app, service } from './api.js'
import { html, useState } from './html.js'
import { useLiveList } from './live.js'
import { date } from './format.js'

export function LoginForm({ onLogin }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      onLogin(await app.authenticate({ strategy: 'local', email, password }))
    } catch (err) {
      setError(err.message || 'Login failed')
    } finally { setBusy(false) }
  }
  return html`<form class="login card" id="login-form" onSubmit=${submit}>
    <h1>Log in to Plume</h1>
    <label class="block">Email <input type="email" name="email" autocomplete="username" required value=${email}
      onInput=${(e) => setEmail(e.currentTarget.value)} /></label>
    <label class="block">Password <input type="password" name="password" autocomplete="current-password" required value=${password}
      onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
    ${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
    <button class="primary" type="submit" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
  </form>`
}

export function KeysPage({ user }) {
  const keys = useLiveList('api-keys', { $sort: { createdAt: -1 } })
  const [name, setName] = useState('')
  const [created, setCreated] = useState(null)
  const [error, setError] = useState(null)
  const create = async (e) => {
    e.preventDefault()
    setError(null)
    try {
      setCreated(await service('api-keys').create({ name }))
      setName('')
    } catch (err) { setError(err.message) }
  }
  const revoke = (key) => service('api-keys').remove(key._id).catch((err) => setError(err.message))
  return html`
    <h1>API keys</h1>
    <p class="muted">Keys act as ${user ? user.email : 'you'}: give one to a training script (PLUME_API_KEY).</p>
    <form class="controls" onSubmit=${create}>
      <label>Name <input name="name" required value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></label>
      <button class="primary" type="submit">Create key</button>
    </form>
    ${created ? html`<div class="card" role="status"><p>Key <b>${created.name}</b>, shown once:</p>
      <pre id="new-key">${created.key || created.apiKey}</pre></div>` : ''}
    ${error || keys.error ? html`<p class="error" role="alert">${error || keys.error.message}</p>` : ''}
    ${keys.rows && keys.rows.length ? html`<div class="table-wrap"><table id="keys-table">
      <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
      <tbody>${keys.rows.map((k) => html`<tr key=${k._id}><td>${k.name}</td><td class="mono">${k.prefix}</td>
        <td>${date(k.createdAt)}</td><td>${k.expiresAt ? date(k.expiresAt) : 'never'}</td>
        <td><button type="button" onClick=${() => revoke(k)}>Revoke</button></td></tr>`)}</tbody></table></div>`
      : html`<p class="muted">${keys.rows ? 'No keys.' : 'Loading…'}</p>`}`
}
