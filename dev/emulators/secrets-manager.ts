// Loopback emulator of AWS Secrets Manager's GetSecretValue, spoken over the AWS JSON 1.1
// protocol the real SDK uses: `POST /`, `Content-Type: application/x-amz-json-1.1`,
// `X-Amz-Target: secretsmanager.GetSecretValue`, body `{"SecretId": ...}`; errors are HTTP 400
// with `{"__type": "...", "Message": "..."}` and the `x-amzn-ErrorType` header.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
//
// Point the SDK at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER=<url>` (the SDK derives that name
// from the service id "Secrets Manager": https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html).
// The request must carry a SigV4 Authorization header scoped to `secretsmanager`; the signature
// itself is not verified. Calls are counted per operation, so tests can assert caching.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { isPlainObject, listenLoopback, readBody, sendJson } from './http-util.js'
import type { Listening } from './http-util.js'

const JSON_11 = 'application/x-amz-json-1.1'

export interface SecretsManagerEmulatorOptions {
  region?: string
  accountId?: string
  /** Secrets by name; `undefined` value = a secret that exists but has no AWSCURRENT version. */
  secrets?: Record<string, string | undefined>
}

export interface ScriptedAwsError {
  status?: number
  type: string
  message?: string
}

export interface RecordedAwsCall {
  operation: string
  secretId: string | undefined
  status: number
  errorType: string | undefined
}

interface StoredSecret {
  name: string
  arn: string
  value: string | undefined
  versionId: string
  createdDate: number
}

export class SecretsManagerEmulator {
  readonly calls: RecordedAwsCall[] = []
  private readonly secrets = new Map<string, StoredSecret>()
  private readonly script: ScriptedAwsError[] = []
  private readonly region: string
  private readonly accountId: string
  private listening: Listening | undefined

  private constructor(options: SecretsManagerEmulatorOptions) {
    this.region = options.region ?? 'us-east-1'
    this.accountId = options.accountId ?? '123456789012'
    for (const [name, value] of Object.entries(options.secrets ?? {})) this.putSecret(name, value)
  }

  static async start(options: SecretsManagerEmulatorOptions = {}): Promise<SecretsManagerEmulator> {
    const emulator = new SecretsManagerEmulator(options)
    emulator.listening = await listenLoopback((req, res) => emulator.handle(req, res))
    return emulator
  }

  /** Base URL: the value for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  get url(): string {
    if (!this.listening) throw new Error('emulator not started')
    return this.listening.url
  }

  /** Creates or replaces a secret; returns its ARN (with the 6-character suffix AWS appends). */
  putSecret(name: string, value: string | undefined): string {
    const existing = this.secrets.get(name)
    const suffix = existing?.arn.slice(-6) ?? randomUUID().replace(/-/g, '').slice(0, 6)
    const arn = `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`
    this.secrets.set(name, {
      name,
      arn,
      value,
      versionId: randomUUID(),
      createdDate: Date.now() / 1000
    })
    return arn
  }

  arnOf(name: string): string {
    const s = this.secrets.get(name)
    if (!s) throw new Error(`no secret ${name}`)
    return s.arn
  }

  /** Number of calls of one operation (default GetSecretValue). */
  count(operation = 'GetSecretValue'): number {
    return this.calls.filter(c => c.operation === operation).length
  }

  /** Scripts errors for the next requests (e.g. `{ status: 400, type: 'ThrottlingException' }`). */
  enqueueError(...errors: ScriptedAwsError[]): this {
    this.script.push(...errors)
    return this
  }

  reset(): void {
    this.calls.length = 0
    this.script.length = 0
  }

  async close(): Promise<void> {
    await this.listening?.close()
    this.listening = undefined
  }

  private find(secretId: string): StoredSecret | undefined {
    for (const s of this.secrets.values()) {
      // A name, a full ARN, or a partial ARN (without the random suffix) all identify a secret.
      if (secretId === s.name || secretId === s.arn || secretId === s.arn.slice(0, -7)) return s
    }
    return undefined
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req)
    const target = String(req.headers['x-amz-target'] ?? '')
    const operation = target.startsWith('secretsmanager.')
      ? target.slice('secretsmanager.'.length)
      : target
    let body: unknown
    try {
      body = text === '' ? {} : JSON.parse(text)
    } catch {
      body = undefined
    }
    const secretId =
      isPlainObject(body) && typeof body.SecretId === 'string' ? body.SecretId : undefined
    const record = (status: number, errorType?: string) =>
      this.calls.push({ operation, secretId, status, errorType })
    const fail = (status: number, type: string, message: string) => {
      record(status, type)
      sendAwsError(res, status, type, message)
    }

    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/') {
      return fail(404, 'UnknownOperationException', 'Only POST / is served')
    }
    if (!String(req.headers['content-type'] ?? '').startsWith(JSON_11)) {
      return fail(400, 'SerializationException', `Content-Type must be ${JSON_11}`)
    }
    const auth = String(req.headers.authorization ?? '')
    if (
      !/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/secretsmanager\/aws4_request/.test(
        auth
      )
    ) {
      return fail(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
    }
    const scripted = this.script.shift()
    if (scripted) {
      return fail(scripted.status ?? 400, scripted.type, scripted.message ?? scripted.type)
    }
    if (body === undefined) return fail(400, 'SerializationException', 'Malformed JSON body')
    if (operation !== 'GetSecretValue') {
      return fail(400, 'UnknownOperationException', `Unsupported operation ${target || '(none)'}`)
    }
    if (secretId === undefined || secretId === '') {
      return fail(400, 'InvalidParameterException', 'You must provide a SecretId.')
    }
    const secret = this.find(secretId)
    if (!secret) {
      return fail(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret."
      )
    }
    if (secret.value === undefined) {
      return fail(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
      )
    }
    record(200)
    sendJson(
      res,
      200,
      {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate
      },
      { 'x-amzn-requestid': randomUUID() },
      JSON_11
    )
  }
}

function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(
    res,
    status,
    { __type: type, Message: message },
    { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() },
    JSON_11
  )
}

// `tsx dev/emulators/secrets-manager.ts`: run standalone; SECRET_NAME / SECRET_VALUE seed one secret.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.env.SECRET_NAME ?? 'github-token'
  const emulator = await SecretsManagerEmulator.start({
    secrets: { [name]: process.env.SECRET_VALUE ?? 'dev-token' }
  })
  process.stdout.write(
    `Secrets Manager emulator on ${emulator.url} (secret ${emulator.arnOf(name)})\n`
  )
  const stop = () => void emulator.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
