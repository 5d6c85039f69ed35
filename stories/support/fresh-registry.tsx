import { type ReactNode, useState } from 'react'
import { createRegistry, RegistryProvider } from '../../src/index'

/**
 * Each mount of a story gets its own registry, whose connections close as soon as nobody
 * holds them: a story shown next never joins the connection of the one before (the
 * default registry keeps a stream a moment after its last user, to ride out remounts), which
 * talked to that story's mock.
 */
export function FreshRegistry({ children }: { children?: ReactNode }) {
  const [registry] = useState(() => createRegistry({ linger: 0 }))
  return <RegistryProvider registry={registry}>{children}</RegistryProvider>
}
