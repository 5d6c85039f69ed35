/**
 * tabwire/components: live ticker, notifications and connection status, built only on the
 * public hooks. Headless parts with `data-state` attributes; an optional stylesheet.
 */
export {}
