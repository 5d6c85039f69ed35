/**
 * Which property names the build shortens (esbuild's `mangleProps`): a name that starts with
 * `_` and a lower-case letter (`_epoch`, `_lead()`) is private to tabwire's client code. Opt
 * in only for what never crosses a boundary: a mangled name differs between builds, so it
 * must never be in a frame another tab reads (tabs of different app versions share one
 * stream), in storage, in server JSON, or in public options, snapshots and results.
 * test/core/tabs/fakes.ts checks that no frame posted between tabs carries such a name,
 * test/core/tabs/mangled.test.ts runs a mangled build's tab with unmangled ones, and the build
 * fails when one chunk's mangled names are also another's (see tsdown.config.ts). Never reach
 * one by a string (`o['_x']`, `'_x' in o`): the mangling renames only property syntax.
 * Saves what spelling them out costs in every user's bundle (~130 B min+gzip of useEventSource).
 */
export const INTERNAL_PROPS = /^_[a-z]/
