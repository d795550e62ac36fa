// Serves an ip-ranges.json document on loopback, the way ip-ranges.amazonaws.com does, so the action
// downloads it over real HTTP. The document can be swapped between runs.
//
// Besides the document at /ip-ranges.json, any other path can be given a behaviour (`route`) for
// fault and hostile-input tests: another document, a redirect, a body cut short, a body far larger
// than any real file (streamed, never held in memory), a dropped connection, an error status, or a
// sequence of those (one per request, the last one repeating).
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RangesBehaviour =
  | { kind: 'document'; body: string | Buffer; status?: number; headers?: Record<string, string> }
  /** 3xx to `location` (absolute, or relative to this server). */
  | { kind: 'redirect'; location: string; status?: number }
  /** Announces the whole body's Content-Length, sends only `bytes` of it, then cuts the connection. */
  | { kind: 'truncate'; body: string | Buffer; bytes: number }
  /**
   * Streams `bytes` bytes of an endless, valid-looking ip-ranges.json (one 64 KiB chunk reused), or
   * until the client goes away; with `announceLength`, sends the Content-Length up front.
   */
  | { kind: 'huge'; bytes: number; announceLength?: boolean }
  /** Destroys the connection without any answer. */
  | { kind: 'drop' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'sequence'; steps: RangesBehaviour[] }

export interface RouteStats {
  requests: number
  /** Body bytes written to the socket (for `huge`: how far the client let the stream run). */
  bytesSent: number
}

const CHUNK_SIZE = 64 * 1024

export class RangesServer {
  private server: Server | undefined
  private baseUrl = ''
  body: Buffer = Buffer.from('{}')
  requests = 0
  /** Answer the next N requests with this status instead of the document. */
  failNext: number[] = []
  private readonly routes = new Map<string, { behaviour: RangesBehaviour; stats: RouteStats }>()

  serve(document: string | Buffer): void {
    this.body = Buffer.isBuffer(document) ? document : Buffer.from(document)
  }

  /** Gives `path` (e.g. '/case-1/ip-ranges.json') a behaviour; returns its URL. */
  route(path: string, behaviour: RangesBehaviour): string {
    this.routes.set(path, { behaviour, stats: { requests: 0, bytesSent: 0 } })
    return `${this.baseUrl}${path}`
  }

  stats(path: string): RouteStats {
    return this.routes.get(path)?.stats ?? { requests: 0, bytesSent: 0 }
  }

  /** The server's origin, e.g. http://127.0.0.1:41234. */
  get origin(): string {
    return this.baseUrl
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => {
      this.requests += 1
      const status = this.failNext.shift()
      if (status !== undefined) {
        response.writeHead(status, { 'content-type': 'text/plain' }).end('injected failure')
        return
      }
      const route = this.routes.get(request.url ?? '')
      if (route) {
        route.stats.requests += 1
        const behaviour = pick(route.behaviour, route.stats.requests)
        answer(behaviour, request, response, route.stats)
        return
      }
      if (request.url !== '/ip-ranges.json') {
        response.writeHead(404).end()
        return
      }
      response
        .writeHead(200, { 'content-type': 'application/json', 'content-length': this.body.length })
        .end(this.body)
    })
    await new Promise<void>(resolve => this.server?.listen(port, '127.0.0.1', resolve))
    const { port: actual } = this.server.address() as AddressInfo
    this.baseUrl = `http://127.0.0.1:${actual}`
    return `${this.baseUrl}/ip-ranges.json`
  }

  async stop(): Promise<void> {
    await new Promise<void>(resolve => {
      if (!this.server) return resolve()
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}

function pick(behaviour: RangesBehaviour, request: number): RangesBehaviour {
  if (behaviour.kind !== 'sequence') return behaviour
  const step = behaviour.steps[Math.min(request, behaviour.steps.length) - 1]
  if (!step) throw new Error('an empty sequence')
  return step
}

function answer(
  behaviour: RangesBehaviour,
  request: IncomingMessage,
  response: ServerResponse,
  stats: RouteStats
): void {
  switch (behaviour.kind) {
    case 'document': {
      const body = Buffer.isBuffer(behaviour.body) ? behaviour.body : Buffer.from(behaviour.body)
      response.writeHead(behaviour.status ?? 200, {
        'content-type': 'application/json',
        'content-length': body.length,
        ...behaviour.headers
      })
      response.end(body)
      stats.bytesSent += body.length
      return
    }
    case 'redirect':
      response.writeHead(behaviour.status ?? 302, { location: behaviour.location }).end()
      return
    case 'truncate': {
      const body = Buffer.isBuffer(behaviour.body) ? behaviour.body : Buffer.from(behaviour.body)
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      const part = body.subarray(0, behaviour.bytes)
      stats.bytesSent += part.length
      response.write(part, () => request.socket.destroy())
      return
    }
    case 'huge':
      streamHuge(behaviour.bytes, behaviour.announceLength ?? false, response, stats)
      return
    case 'drop':
      request.socket.destroy()
      return
    case 'status':
      response
        .writeHead(behaviour.status, { 'content-type': 'text/plain' })
        .end(behaviour.body ?? `HTTP ${behaviour.status}`)
      return
    case 'sequence':
      throw new Error('nested sequences are not supported')
  }
}

/** A syntactically plausible ip-ranges.json prefix, then one reused chunk of entries. */
function streamHuge(
  total: number,
  announceLength: boolean,
  response: ServerResponse,
  stats: RouteStats
): void {
  const head = Buffer.from(
    '{"syncToken":"1785000000","createDate":"2026-07-25-17-20-00","prefixes":['
  )
  const entry =
    '{"ip_prefix":"240.0.0.0/24","region":"GLOBAL","service":"CLOUDFRONT",' +
    '"network_border_group":"GLOBAL"},'
  const chunk = Buffer.from(entry.repeat(Math.ceil(CHUNK_SIZE / entry.length)))
  response.writeHead(200, {
    'content-type': 'application/json',
    ...(announceLength ? { 'content-length': total } : {})
  })
  let sent = 0
  let closed = false
  response.on('close', () => {
    closed = true
  })
  const pump = (): void => {
    while (!closed && sent < total) {
      const piece = sent === 0 ? head : chunk
      const slice = piece.subarray(0, Math.min(piece.length, total - sent))
      sent += slice.length
      stats.bytesSent += slice.length
      if (!response.write(slice)) {
        response.once('drain', pump)
        return
      }
    }
    if (!closed) response.end()
  }
  pump()
}
