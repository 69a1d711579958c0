// Preact with htm: JSX-like templates with no compile step of their own.
export { html, render } from 'htm/preact'
export { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
