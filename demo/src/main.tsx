import { QueryClientProvider } from '@tanstack/react-query'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { RealtimeProvider } from 'tabwire'
import './recorder.ts'
import { App } from './app.tsx'
import { queryClient } from './orders.tsx'
import { realtime } from './realtime-client.ts'
// The components' optional stylesheet first: the demo's own rules come after it and win.
import 'tabwire/components/styles.css'
import './style.css'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RealtimeProvider client={realtime}>
        <App />
      </RealtimeProvider>
    </QueryClientProvider>
  </StrictMode>,
)
