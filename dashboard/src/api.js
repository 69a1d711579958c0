// The one connection to Plume: the official Feathers client over socket.io, with the
// authentication client when the server has authentication on (it says so in `init`).
import { feathers } from '@feathersjs/feathers'
import socketio from '@feathersjs/socketio-client'
import authentication from '@feathersjs/authentication-client'
import io from 'socket.io-client'

const STANDARD = ['find', 'get', 'create', 'update', 'patch', 'remove']
// Services with custom methods: the client must be told their names (Feathers v5).
const CUSTOM = { endpoints: ['predict'] }

export const socket = io(window.location.origin, { transports: ['websocket'] })
const connection = socketio(socket, { timeout: 30000 })
export const app = feathers().configure(connection).configure(authentication({ storageKey: 'plume-jwt' }))
for (const [path, methods] of Object.entries(CUSTOM)) {
  app.use(path, connection.service(path), { methods: [...STANDARD, ...methods] })
}

/** The server's `init` ({auth, services}), sent once per connection. */
export const serverInfo = new Promise((resolve) => socket.once('init', resolve))

export function service(path) {
  return app.service(path)
}

/** Every record of a find (walks the pages). */
export async function findAll(path, query = {}, pageSize = 1000) {
  const out = []
  for (let skip = 0; ; skip += pageSize) {
    const page = await service(path).find({ query: { ...query, $limit: pageSize, $skip: skip } })
    const rows = Array.isArray(page) ? page : page.data
    out.push(...rows)
    if (Array.isArray(page) || rows.length === 0 || out.length >= page.total) return out
  }
}

let token = null
app.on('login', (result) => { token = result.accessToken })
app.on('logout', () => { token = null })

/** The URL of a file a service serves (downloads), on this server. */
export function fileUrl(...parts) {
  return '/' + parts.map((p) => encodeURIComponent(p)).join('/')
}

/** Save a file from the server: a plain link when no token is needed, else fetched with it. */
export async function download(url, filename) {
  let href = url
  if (token) {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } })
    if (!res.ok) throw new Error(`download failed: ${res.status} ${res.statusText}`)
    href = URL.createObjectURL(await res.blob())
  }
  const a = document.createElement('a')
  a.href = href
  a.download = filename || ''
  document.body.appendChild(a)
  a.click()
  a.remove()
  if (href !== url) setTimeout(() => URL.revokeObjectURL(href), 60000)
}
