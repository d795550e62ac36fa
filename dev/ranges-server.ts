// Serves an ip-ranges.json document on loopback, the way ip-ranges.amazonaws.com does, so the action
// downloads it over real HTTP. The document can be swapped between runs.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export class RangesServer {
  private server: Server | undefined
  body: Buffer = Buffer.from('{}')
  requests = 0
  /** Answer the next N requests with this status instead of the document. */
  failNext: number[] = []

  serve(document: string | Buffer): void {
    this.body = Buffer.isBuffer(document) ? document : Buffer.from(document)
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => {
      this.requests += 1
      const status = this.failNext.shift()
      if (status !== undefined) {
        response.writeHead(status, { 'content-type': 'text/plain' }).end('injected failure')
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
    return `http://127.0.0.1:${actual}/ip-ranges.json`
  }

  async stop(): Promise<void> {
    await new Promise<void>(resolve =>
      this.server ? this.server.close(() => resolve()) : resolve()
    )
  }
}
