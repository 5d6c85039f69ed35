// What the demo server's streams carry: the symbols' opening prices, and the notices it cycles through.
import type { Notice } from './shared.ts'

export const SYMBOLS: Record<string, number> = {
  ACME: 42.5, BOLT: 118.2, CRUX: 7.85, DYNA: 64.1, ECHO: 23.4, FLUX: 310.0, GRID: 15.75,
  HALO: 88.8, IRIS: 51.2, JOLT: 9.99, KITE: 142.3, LUMA: 36.6, MESA: 71.05, NOVA: 205.4,
  ORCA: 12.3, PIXL: 58.0, QUIL: 4.2, RUNE: 99.9, SOLR: 27.15, TIDE: 45.45,
}

export const NOTICES: Omit<Notice, 'time'>[] = [
  { level: 'info', title: 'Market update', body: 'Trading volume is above the daily average.' },
  { level: 'success', title: 'Order filled', body: '100 × ACME at market.' },
  { level: 'warning', title: 'Price alert', body: 'NOVA moved more than 2% in a minute.' },
  { level: 'info', title: 'Maintenance', body: 'The reporting service restarts at 02:00 UTC.' },
  // Untrusted text: the app must show it as text, never as markup.
  { level: 'warning', title: '<b>Markup</b> in a title', body: '<img src=x onerror="window.__xss=1"> rendered as text' },
]
