// Shared plumbing for the loopback emulators: a tiny router, body readers, JSON replies, and a
// listener bound to 127.0.0.1 on an ephemeral port. Nothing here ever binds a public address.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export const DEFAULT_BODY_LIMIT = 1024 * 1024

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.name = 'BodyTooLargeError'
  }
}

/** Reads the whole request body, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buf.length
    if (size > limit) throw new BodyTooLargeError(limit)
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The parsed JSON body, or `undefined` when it is not valid JSON (empty body included). */
export async function readJson(req: IncomingMessage, limit?: number): Promise<unknown> {
  const text = await readBody(req, limit)
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json; charset=utf-8'
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    ...headers
  })
  res.end(text)
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {}
) {
  res.writeHead(status, { 'content-length': '0', ...headers })
  res.end()
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export interface RouteContext {
  req: IncomingMessage
  res: ServerResponse
  /** Path parameters, e.g. `{ owner, repo }` for `/repos/:owner/:repo/dispatches`. */
  params: Record<string, string>
  url: URL
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>

interface Route {
  method: string
  pattern: string
  segments: string[]
  handler: RouteHandler
}

/**
 * A minimal method + path router. Patterns are literal segments and `:name` parameters
 * (`/repos/:owner/:repo/issues/:number/comments`); the first registered match wins.
 */
export class Router {
  private readonly routes: Route[] = []

  add(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({
      method: method.toUpperCase(),
      pattern,
      segments: splitPath(pattern),
      handler
    })
    return this
  }

  /** The matching route and its parameters; `methodMismatch` when only the path matched. */
  match(
    method: string,
    pathname: string
  ): { route: Route; params: Record<string, string> } | { methodMismatch: boolean } {
    const parts = splitPath(pathname)
    let methodMismatch = false
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts)
      if (!params) continue
      if (route.method !== method.toUpperCase()) {
        methodMismatch = true
        continue
      }
      return { route, params }
    }
    return { methodMismatch }
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    fallback: (ctx: Omit<RouteContext, 'params'>, methodMismatch: boolean) => void
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const found = this.match(req.method ?? 'GET', url.pathname)
    if ('route' in found) {
      await found.route.handler({ req, res, params: found.params, url })
    } else {
      fallback({ req, res, url }, found.methodMismatch)
    }
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter(s => s !== '')
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string
    const v = parts[i] as string
    if (p.startsWith(':')) {
      params[p.slice(1)] = decodeURIComponent(v)
    } else if (p !== v) {
      return undefined
    }
  }
  return params
}

export interface Listening {
  server: Server
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string
  port: number
  close(): Promise<void>
}

/**
 * Starts `handler` on 127.0.0.1 (an ephemeral port unless one is given). `close()` also destroys
 * kept-alive sockets, so a test's afterAll never hangs on an idle SDK connection.
 */
export async function listenLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  port = 0
): Promise<Listening> {
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) {
        if (!res.headersSent) sendJson(res, 413, { message: err.message })
        return
      }
      if (!res.headersSent) sendJson(res, 500, { message: `emulator error: ${String(err)}` })
      else res.destroy()
    })
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port: bound } = server.address() as AddressInfo
  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** Returns a promise resolved after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
