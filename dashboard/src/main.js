// The dashboard's shell: connection, login when authentication is on, navigation and pages.
import './style.css'
import { app, serverInfo, socket } from './api.js'
import { html, render, useEffect, useRef, useState } from './html.js'
import { href, useRoute } from './router.js'
import { RunsPage } from './runs.js'
import { RunPage } from './run.js'
import { ComparePage } from './compare.js'
import { ModelsPage } from './models.js'
import { EndpointsPage } from './endpoints.js'
import { JobsPage } from './jobs.js'
import { KeysPage, LoginForm } from './auth.js'

const PAGES = [['runs', 'Runs'], ['models', 'Models'], ['endpoints', 'Endpoints'], ['jobs', 'Jobs']]

function useConnected() {
  const [up, setUp] = useState(socket.connected)
  useEffect(() => {
    const on = () => setUp(true)
    const off = () => setUp(false)
    socket.on('connect', on)
    socket.on('disconnect', off)
    return () => { socket.off('connect', on); socket.off('disconnect', off) }
  }, [])
  return up
}

function Page({ route, info, user }) {
  const [name, arg] = route.parts
  switch (name || 'runs') {
    case 'runs': return arg ? html`<${RunPage} key=${arg} id=${arg} />` : html`<${RunsPage} params=${route.params} />`
    case 'compare': return html`<${ComparePage} key=${arg} ids=${(arg || '').split(',').filter(Boolean)} />`
    case 'models': return html`<${ModelsPage} services=${info.services} />`
    case 'endpoints': return html`<${EndpointsPage} name=${arg} />`
    case 'jobs': return html`<${JobsPage} />`
    case 'keys': return info.auth ? html`<${KeysPage} user=${user} />` : html`<p>Authentication is off on this server.</p>`
    default: return html`<h1>Not found</h1><p>No page <span class="mono">${name}</span>. <a href="#/runs">Runs</a></p>`
  }
}

function App() {
  const route = useRoute()
  const connected = useConnected()
  const [info, setInfo] = useState(null)
  const [session, setSession] = useState({ checked: false, user: null })
  const main = useRef(null)
  useEffect(() => {
    serverInfo.then(async (init) => {
      setInfo(init)
      if (!init.auth) return setSession({ checked: true, user: null })
      try {
        const result = await app.reAuthenticate()
        setSession({ checked: true, user: result.user })
      } catch {
        setSession({ checked: true, user: null })
      }
    })
  }, [])
  useEffect(() => { if (main.current && document.activeElement !== document.body) main.current.focus() }, [route.parts.join('/')])
  if (!info || !session.checked) return html`<p class="boot">Connecting to Plume…</p>`
  const logout = async () => { await app.logout(); setSession({ checked: true, user: null }) }
  const current = route.parts[0] === 'compare' ? 'runs' : route.parts[0] || 'runs'
  const pages = info.auth ? [...PAGES, ['keys', 'API keys']] : PAGES
  return html`
    <a class="skip" href="#/" onClick=${(e) => { e.preventDefault(); main.current.focus() }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/runs">Plume</a>
      ${!info.auth || session.user ? html`<nav aria-label="Pages"><ul>${pages.map(([p, label]) => html`<li>
        <a href=${href(p)} aria-current=${current === p ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>` : ''}
      <div class="who">
        <span class=${connected ? 'conn' : 'conn off'} role="status">${connected ? 'live' : 'reconnecting…'}</span>
        ${session.user ? html`<span>${session.user.email}</span><button type="button" onClick=${logout}>Log out</button>` : ''}
      </div>
    </header>
    <main id="main" tabindex="-1" ref=${main}>
      ${info.auth && !session.user
        ? html`<${LoginForm} onLogin=${(result) => setSession({ checked: true, user: result.user })} />`
        : html`<${Page} route=${route} info=${info} user=${session.user} />`}
    </main>`
}

// The Feathers client, for the browser console (and the tests that listen beside the pages).
window.plume = { app }
render(html`<${App} />`, document.getElementById('app'))
