// Metric histories for the charts: downsampled reads from the server ($downsample), detail
// re-read on zoom, and the points that arrive live (one `metrics created` listener for all).
import { service } from './api.js'

export const TARGET_POINTS = 1000 // points asked of the server per curve (about 1-2 per pixel)

export function seriesKey(run, type, key) {
  return `${run}\u001f${type}\u001f${key}`
}

const listeners = new Map()
let attached = false

/** Call `fn(point)` for each point of series `sk` written from now on; returns the unsubscribe. */
export function onPoint(sk, fn) {
  if (!attached) {
    attached = true
    service('metrics').on('created', (p) => {
      const set = listeners.get(seriesKey(p.run, p.type, p.key))
      if (set) for (const f of set) f(p)
    })
  }
  if (!listeners.has(sk)) listeners.set(sk, new Set())
  listeners.get(sk).add(fn)
  return () => {
    const set = listeners.get(sk)
    set.delete(fn)
    if (set.size === 0) listeners.delete(sk)
  }
}

/** A series' points as columns, in step order. */
export class Columns {
  constructor(points = []) {
    this.steps = points.map((p) => p.step)
    this.epochs = points.map((p) => (p.epoch == null ? null : p.epoch))
    this.values = points.map((p) => p.value)
    this.times = points.map((p) => (p.timestamp ? Date.parse(p.timestamp) / 1000 : null))
  }

  get length() { return this.steps.length }

  /** Add or replace one point (live points mostly come last). */
  put(p) {
    const { steps } = this
    let at = steps.length
    if (at && steps[at - 1] >= p.step) {
      let lo = 0
      let hi = at
      while (lo < hi) { const mid = (lo + hi) >> 1; if (steps[mid] < p.step) lo = mid + 1; else hi = mid }
      at = lo
    }
    const replace = steps[at] === p.step ? 1 : 0
    steps.splice(at, replace, p.step)
    this.epochs.splice(at, replace, p.epoch == null ? null : p.epoch)
    this.values.splice(at, replace, p.value)
    this.times.splice(at, replace, p.timestamp ? Date.parse(p.timestamp) / 1000 : null)
  }

  get lastStep() { return this.steps.length ? this.steps[this.steps.length - 1] : null }
}

/** Up to `n` points of one series (LTTB on the server), optionally within [lo, hi] steps. */
export async function readHistory({ run, type, key }, n = TARGET_POINTS, lo = null, hi = null) {
  const query = { run, type, key, $downsample: Math.max(4, Math.round(n)) }
  if (lo != null || hi != null) {
    query.step = {}
    if (lo != null) query.step.$gte = Math.max(0, Math.floor(lo))
    if (hi != null) query.step.$lte = Math.max(0, Math.ceil(hi))
  }
  const page = await service('metrics').find({ query })
  return { columns: new Columns(page.data), total: page.total }
}

/** x and y of a series for the chosen x axis (step, epoch: the last value of each, or time). */
export function xy(columns, mode) {
  const { steps, epochs, values, times } = columns
  if (mode === 'epoch') {
    const xs = []
    const ys = []
    for (let i = 0; i < steps.length; i++) {
      const e = epochs[i]
      if (e == null) continue
      if (xs.length && xs[xs.length - 1] === e) ys[ys.length - 1] = values[i]
      else if (!xs.length || e > xs[xs.length - 1]) { xs.push(e); ys.push(values[i]) }
    }
    return [xs, ys]
  }
  if (mode === 'time') {
    const xs = []
    const ys = []
    for (let i = 0; i < steps.length; i++) {
      const t = times[i]
      if (t == null || (xs.length && t <= xs[xs.length - 1])) continue
      xs.push(t)
      ys.push(values[i])
    }
    return [xs, ys]
  }
  return [steps.slice(), values.slice()]
}

/** TensorBoard's smoothing: an exponential moving average, debiased at the start. */
export function smooth(ys, weight) {
  if (!weight) return ys
  const out = new Array(ys.length)
  let last = 0
  let n = 0
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i]
    if (v == null || !Number.isFinite(v)) { out[i] = v; continue }
    last = last * weight + (1 - weight) * v
    n += 1
    out[i] = last / (1 - weight ** n)
  }
  return out
}

/** Values a log scale can show (others become gaps). */
export function positive(ys) {
  return ys.map((v) => (v != null && v > 0 ? v : null))
}
