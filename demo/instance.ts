/**
 * One instance of the scaled-out demo, in a process of its own (started by demo/scale.ts):
 * `startDemo` on a free loopback port with the options given as JSON in the first argument,
 * serving the logs in Redis without publishing to them. Prints `{"port":N}` once listening;
 * ends when its stdin closes (its supervisor went away).
 */
import { type DemoOptions, startDemo } from './server.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as DemoOptions
const demo = await startDemo({ ...options, port: 0, feed: false })
process.stdout.write(`${JSON.stringify({ port: demo.port })}\n`)
process.stdin.on('end', () => void demo.close().then(() => process.exit(0)))
process.stdin.resume()
