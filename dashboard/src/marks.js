// Performance marks for the benchmark: a page's first meaningful paint is the frame after its
// data is on screen (read with performance.getEntriesByName).
const done = new Set()

export function markPainted(name) {
  if (done.has(name)) return
  done.add(name)
  requestAnimationFrame(() => setTimeout(() => performance.mark(name), 0))
}
