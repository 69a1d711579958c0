// Builds the dashboard into the Python package (services/dashboard/static), which Plume serves:
// index.html at "/" and the hashed files under "/_dashboard/" (hence `base`).
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/_dashboard/',
  build: {
    outDir: '../services/dashboard/static',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
})
