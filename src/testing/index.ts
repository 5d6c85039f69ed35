/**
 * tabwire/testing: what apps import into their own tests. MSW handlers that speak
 * tabwire's protocols (the same code as tabwire/server), fault controls, and a multi-tab
 * simulator that drives the real cross-tab layer in jsdom or Node.
 */
export * from './mocks'
export * from './simulator'
