// Live data: a read, then the service's events (no polling, no reload).
import { findAll, service } from './api.js'
import { useEffect, useRef, useState } from './html.js'

const WRITES = ['created', 'updated', 'patched', 'removed']

/** Subscribe `handler(event, record)` to a service's write events while mounted. */
export function useEvents(path, handler, deps = []) {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => {
    const svc = service(path)
    const fns = WRITES.map((event) => [event, (record) => ref.current(event, record)])
    for (const [event, fn] of fns) svc.on(event, fn)
    return () => { for (const [event, fn] of fns) svc.removeListener(event, fn) }
  }, [path, ...deps])
}

/**
 * One page of a server-side paginated find that stays live: records on the page are replaced
 * as they change, and the page is read again when records are created or removed (the server
 * decides what the page holds: sort, filters and permissions). `reload()` reads it again now.
 */
export function useLivePage(path, query) {
  const [state, setState] = useState({ page: null, error: null })
  const key = JSON.stringify(query)
  const pending = useRef(null)
  const current = useRef(0)
  const load = () => {
    const ticket = ++current.current
    service(path).find({ query }).then(
      (page) => { if (ticket === current.current) setState({ page, error: null }) },
      (error) => { if (ticket === current.current) setState((s) => ({ ...s, error })) })
  }
  useEffect(load, [path, key])
  useEvents(path, (event, record) => {
    if (event === 'created' || event === 'removed' || hasFilters(query)) {
      if (!pending.current) {
        pending.current = Promise.resolve().then(() => { pending.current = null; load() })
      }
    }
    if (event === 'patched' || event === 'updated') {
      setState((s) => {
        if (!s.page || !s.page.data.some((r) => r._id === record._id)) return s
        return { ...s, page: { ...s.page, data: s.page.data.map((r) => (r._id === record._id ? record : r)) } }
      })
    }
  }, [key])
  return { ...state, reload: load }
}

function hasFilters(query) {
  return Object.keys(query).some((k) => !k.startsWith('$'))
}

/**
 * Every record of a (small) service that stays live; `keep(record)` says whether a created or
 * changed record belongs to the list.
 */
export function useLiveList(path, query = {}, keep = () => true) {
  const [state, setState] = useState({ rows: null, error: null })
  const key = JSON.stringify(query)
  useEffect(() => {
    let stale = false
    findAll(path, query).then((rows) => { if (!stale) setState({ rows, error: null }) },
      (error) => { if (!stale) setState({ rows: [], error }) })
    return () => { stale = true }
  }, [path, key])
  useEvents(path, (event, record) => {
    setState((s) => {
      if (!s.rows) return s
      const others = s.rows.filter((r) => r._id !== record._id)
      if (event === 'removed' || !keep(record)) return { ...s, rows: others }
      const at = s.rows.findIndex((r) => r._id === record._id)
      if (at < 0) return { ...s, rows: [record, ...s.rows] }
      const rows = s.rows.slice()
      rows[at] = record
      return { ...s, rows }
    })
  }, [key])
  return state
}

/** One record that stays live (null while loading; `error` when it cannot be read). */
export function useLiveRecord(path, id) {
  const [state, setState] = useState({ record: null, error: null })
  useEffect(() => {
    let stale = false
    setState({ record: null, error: null })
    service(path).get(id).then((record) => { if (!stale) setState({ record, error: null }) },
      (error) => { if (!stale) setState({ record: null, error }) })
    return () => { stale = true }
  }, [path, id])
  useEvents(path, (event, record) => {
    if (record._id !== id) return
    setState(event === 'removed' ? { record: null, error: new Error('This record was removed') } : { record, error: null })
  }, [id])
  return state
}
