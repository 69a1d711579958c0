// One chart of metric curves (uPlot): the downsampled history, points appended live, detail read
// again on zoom (drag to zoom, double-click to reset), log scale, smoothing, x by step/epoch/time.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { html, useEffect, useRef, useState } from './html.js'
import { num } from './format.js'
import { Columns, TARGET_POINTS, onPoint, positive, readHistory, seriesKey, smooth, xy } from './series.js'

const HEIGHT = 220
const COLORS = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6']

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'
}

function makeOptions(lines, { x, log }, width, onZoom) {
  const muted = cssVar('--muted')
  const grid = cssVar('--line')
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: x === 'time' }, y: { distr: log ? 3 : 1 } },
    axes: [{ ...axis, label: x }, { ...axis, size: 60, values: (u, ticks) => ticks.map(num) }],
    series: [
      { label: x, value: x === 'time' ? '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' : (u, v) => num(v) },
      ...lines.map((line, i) => ({
        label: line.label, stroke: cssVar(COLORS[i % COLORS.length]), width: 1.5, spanGaps: true,
        value: (u, v) => num(v), // points drawn by uPlot only where the curve is sparse
      })),
    ],
    cursor: { drag: { x: true, y: false, setScale: true } },
    legend: { live: true },
    hooks: { setSelect: [(u) => { if (u.select.width > 2) onZoom(u) }] },
  }
}

export function MetricChart({ title, lines, x = 'step', log = false, smoothing = 0, id }) {
  const box = useRef(null)
  const state = useRef({ base: [], zoom: null, live: [], plot: null, frame: 0, loaded: false })
  const [summary, setSummary] = useState('loading…')
  const [error, setError] = useState(null)
  const linesKey = lines.map((l) => seriesKey(l.run, l.type, l.key) + l.label).join('|')
  const view = useRef({ x, log, smoothing })
  view.current = { x, log, smoothing }

  const draw = () => {
    const s = state.current
    s.frame = 0
    if (!s.loaded || !box.current) return
    const cols = s.zoom || s.base
    const { x: mode, log: isLog, smoothing: w } = view.current
    const tables = cols.map((c) => {
      const [xs, ys] = xy(c, mode)
      const sm = smooth(ys, w)
      return [xs, isLog ? positive(sm) : sm]
    })
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables)
    const width = Math.max(200, box.current.clientWidth)
    const wanted = `${mode}/${isLog}`
    if (!s.plot || s.plotKind !== wanted) {
      if (s.plot) s.plot.destroy()
      s.plot = new uPlot(makeOptions(lines, view.current, width, zoom), data, box.current)
      s.plotKind = wanted
    } else {
      s.plot.setData(data, !s.zoom)
    }
    const lastSteps = s.base.map((c) => c.lastStep).filter((v) => v != null)
    const el = box.current
    el.dataset.points = String(cols.reduce((n, c) => n + c.length, 0))
    el.dataset.lastStep = lastSteps.length ? String(Math.max(...lastSteps)) : ''
    el.dataset.zoomed = s.zoom ? '1' : ''
    el.dataset.view = wanted + '/' + w
    el.dataset.drawnAt = String(performance.timeOrigin + performance.now())
    el.dataset.ready = '1'
    setSummary(lines.map((l, i) => {
      const c = s.base[i]
      return c.length ? `${l.label}: ${num(c.values[c.length - 1])} at step ${c.lastStep}` : `${l.label}: no points`
    }).join('; '))
  }
  const schedule = () => {
    const s = state.current
    if (!s.frame) s.frame = requestAnimationFrame(draw)
  }

  const zoom = async (u) => {
    if (view.current.x !== 'step') return // epoch and time: uPlot zooms what it has
    const lo = u.posToVal(u.select.left, 'x')
    const hi = u.posToVal(u.select.left + u.select.width, 'x')
    try {
      const reads = await Promise.all(lines.map((l) => readHistory(l, TARGET_POINTS, lo, hi)))
      state.current.zoom = reads.map((r) => r.columns)
      schedule()
    } catch (err) { setError(err.message) }
  }
  const reset = () => {
    if (state.current.zoom) { state.current.zoom = null; schedule() }
  }

  useEffect(() => {
    const s = state.current
    let stale = false
    s.base = lines.map(() => new Columns())
    s.zoom = null
    s.loaded = false
    const early = lines.map(() => [])
    const subs = lines.map((l, i) => onPoint(seriesKey(l.run, l.type, l.key), (p) => {
      if (!s.loaded) { early[i].push(p); return }
      s.base[i].put(p)
      if (s.base[i].length > 4 * TARGET_POINTS) reload() // keep the curve light: read it again
      else schedule()
    }))
    const reload = () => {
      s.loaded = false // points arriving meanwhile wait in `early`, merged into what is read
      return Promise.all(lines.map((l) => readHistory(l))).then((reads) => {
      if (stale) return
      s.base = reads.map((r, i) => {
        const cols = r.columns
        for (const p of early[i]) cols.put(p)
        early[i] = []
        return cols
      })
      s.loaded = true
      schedule()
    }, (err) => { if (!stale) setError(err.message) })
    }
    reload()
    const resize = new ResizeObserver(() => {
      if (s.plot && box.current) s.plot.setSize({ width: Math.max(200, box.current.clientWidth), height: HEIGHT })
    })
    resize.observe(box.current)
    return () => {
      stale = true
      subs.forEach((f) => f())
      resize.disconnect()
      if (s.frame) cancelAnimationFrame(s.frame)
      s.frame = 0
      if (s.plot) s.plot.destroy()
      s.plot = null
    }
  }, [linesKey])

  useEffect(schedule, [x, log, smoothing])

  return html`
    <figure class="chart" data-chart=${id || title}>
      <h3>${title}</h3>
      <div class="plot" ref=${box} onDblClick=${reset} role="img" aria-label=${`${title}: ${summary}`}></div>
      <figcaption class="muted">${error ? html`<span class="error">${error}</span>` : summary}</figcaption>
    </figure>`
}
