// Formatting of dates, durations, numbers and run fields shared by the pages.

export function date(value) {
  if (!value) return ''
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString()
}

export function duration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return ''
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function num(value) {
  if (typeof value !== 'number') return value == null ? '' : String(value)
  if (Number.isInteger(value)) return String(value)
  const a = Math.abs(value)
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? value.toExponential(3) : String(+value.toPrecision(4))
}

export function text(value) {
  if (value == null) return ''
  if (typeof value === 'number') return num(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

export const RUNNING = ['start', 'epoch', 'idle']

/** Where a run comes from: the em client (its tracking fields) or Marcelle's Writer and Keras callback. */
export function kindOf(run) {
  if (run.source === 'em' || run.hparams || run.platform || run.folder) return 'em'
  return 'marcelle'
}

export function startOf(run) {
  return run.start_timestamp || run.start || run.createdAt
}

export function durationOf(run, now = Date.now()) {
  const start = Date.parse(startOf(run))
  if (Number.isNaN(start)) return null
  const end = run.end_timestamp ? Date.parse(run.end_timestamp)
    : RUNNING.includes(run.status) ? now : Date.parse(run.updatedAt)
  return end - start
}

/** A run's parameters (Marcelle's `params`, em's `hparams`) as flat `a.b` keys. */
export function paramsOf(run) {
  const out = {}
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj || {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${prefix}${k}.`)
      else out[prefix + k] = v
    }
  }
  walk(run.params, '')
  walk(run.hparams, '')
  return out
}

/** Progress as a fraction (Marcelle's epoch / epochs), or null. */
export function progressOf(run) {
  if (run.status === 'success') return 1
  if (typeof run.epochs === 'number' && run.epochs > 0 && typeof run.epoch === 'number') {
    return Math.min(1, (run.epoch + (run.status === 'epoch' ? 1 : 0)) / run.epochs)
  }
  return null
}

export function statusBadge(status) {
  return status ? `badge s-${status}` : 'badge'
}
