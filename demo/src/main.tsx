import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './recorder.ts'
import { App } from './app.tsx'
import './style.css'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
