import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { RealtimeProvider } from 'tabwire'
import './recorder.ts'
import { App } from './app.tsx'
import { realtime } from './realtime-client.ts'
import './style.css'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RealtimeProvider client={realtime}>
      <App />
    </RealtimeProvider>
  </StrictMode>,
)
