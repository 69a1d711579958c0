// Hash routing (/#/runs/<id>): no browser URL can collide with a service path.
import { useEffect, useState } from './html.js'

function parse() {
  const hash = window.location.hash.startsWith('#/') ? window.location.hash.slice(2) : 'runs'
  const [path, search = ''] = hash.split('?')
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) }
}

export function useRoute() {
  const [route, setRoute] = useState(parse)
  useEffect(() => {
    const onChange = () => setRoute(parse())
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}

export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/')
}

export function go(...parts) {
  window.location.hash = href(...parts).slice(1)
}
