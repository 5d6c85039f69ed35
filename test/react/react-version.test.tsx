/**
 * Which React the hook suites run on: the `react` project runs React 19 (the root's), the
 * `react18` project React 18 (test/react18, see test/setup/react-18.ts), and react-dom, its
 * server renderer and @testing-library/react follow, or hooks would fail with two Reacts.
 */
import { renderHook } from '@testing-library/react'
import { useId, useSyncExternalStore, version } from 'react'
import { version as domVersion } from 'react-dom'
import { version as serverVersion } from 'react-dom/server'
import { expect, it } from 'vitest'

it('runs on the React major of its project, with react-dom and the testing library on the same copy', ({ task }) => {
  const major = task.file.projectName === 'react18' ? '18' : '19'
  expect([version, domVersion, serverVersion].map((v) => v.split('.')[0])).toEqual([major, major, major])
  const { result } = renderHook(() => [useId(), useSyncExternalStore(() => () => {}, () => 'store')])
  expect(result.current[1]).toBe('store')
})
