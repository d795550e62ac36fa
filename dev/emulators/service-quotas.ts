// Loopback emulator of Service Quotas' GetServiceQuota and GetAWSDefaultServiceQuota over the AWS
// JSON 1.1 protocol the real SDK speaks: `POST /`, `Content-Type: application/x-amz-json-1.1`,
// `X-Amz-Target: ServiceQuotasV20190624.GetServiceQuota`, body `{"ServiceCode", "QuotaCode"}`;
// answers `{"Quota": {..., "Value": 60.0}}` (a double: Service Quotas API reference, ServiceQuota),
// errors as HTTP 400 `{"__type": "AccessDeniedException", "Message": ...}`. The SDK reaches it
// through AWS_ENDPOINT_URL_SERVICE_QUOTAS (service id "Service Quotas").
//
// Values are per account and region; the account comes from the request's access key through a
// resolver (the STS emulator's `accountOf`), so each assumed role sees its own account's quota.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { parseSigV4 } from './aws-query.js'
import { isPlainObject, listenLoopback, readBody, sendJson } from './http-util.js'
import type { Listening } from './http-util.js'

const JSON_11 = 'application/x-amz-json-1.1'
const TARGET_PREFIX = 'ServiceQuotasV20190624.'

export interface QuotaDefinition {
  serviceCode: string
  serviceName: string
  quotaCode: string
  quotaName: string
  defaultValue: number
  adjustable: boolean
}

/** The quotas the emulator knows, with their AWS defaults. */
export const KNOWN_QUOTAS: QuotaDefinition[] = [
  {
    serviceCode: 'vpc',
    serviceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
    quotaCode: 'L-0EA8095F',
    quotaName: 'Inbound or outbound rules per security group',
    defaultValue: 60,
    adjustable: true
  },
  {
    serviceCode: 'vpc',
    serviceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
    quotaCode: 'L-2AFB9258',
    quotaName: 'Security groups per network interface',
    defaultValue: 5,
    adjustable: true
  }
]

export type QuotaOperation = 'GetServiceQuota' | 'GetAWSDefaultServiceQuota'

export interface QuotaCall {
  operation: string
  account: string | undefined
  region: string | undefined
  quotaCode: string | undefined
  status: number
  errorType?: string
}

export interface ServiceQuotasEmulatorOptions {
  /** Access key id -> account; undefined = the key is unknown (UnrecognizedClientException). */
  accountOf?: (accessKeyId: string) => string | undefined
  defaultAccount?: string
  /** A fixed port (default: any free one). */
  port?: number
}

export class ServiceQuotasEmulator {
  readonly calls: QuotaCall[] = []
  private readonly applied = new Map<string, number>()
  private readonly denied = new Set<string>()
  private readonly missing = new Set<string>()
  private readonly script: Array<{ status: number; type: string; message?: string }> = []
  private listening: Listening | undefined

  private constructor(private readonly options: ServiceQuotasEmulatorOptions) {}

  static async start(options: ServiceQuotasEmulatorOptions = {}): Promise<ServiceQuotasEmulator> {
    const emulator = new ServiceQuotasEmulator(options)
    emulator.listening = await listenLoopback(
      (req, res) => emulator.handle(req, res),
      options.port ?? 0
    )
    return emulator
  }

  /** The value for AWS_ENDPOINT_URL_SERVICE_QUOTAS. */
  get url(): string {
    if (!this.listening) throw new Error('emulator not started')
    return this.listening.url
  }

  /** Sets the applied value of a quota in one account and region ('*' = every region). */
  setQuota(account: string, region: string, value: number, quotaCode = 'L-0EA8095F'): this {
    this.applied.set(key(account, region, quotaCode), value)
    return this
  }

  /** Denies an operation to an account, as IAM would without the permission. */
  deny(account: string, ...operations: QuotaOperation[]): this {
    for (const op of operations.length > 0 ? operations : ['GetServiceQuota' as const]) {
      this.denied.add(`${account}|${op}`)
    }
    return this
  }

  /** GetServiceQuota answers NoSuchResourceException for this account (no applied value). */
  withoutAppliedValue(account: string): this {
    this.missing.add(account)
    return this
  }

  enqueueError(...errors: Array<{ status: number; type: string; message?: string }>): this {
    this.script.push(...errors)
    return this
  }

  count(operation?: string): number {
    return this.calls.filter(c => operation === undefined || c.operation === operation).length
  }

  reset(): void {
    this.calls.length = 0
    this.applied.clear()
    this.denied.clear()
    this.missing.clear()
    this.script.length = 0
  }

  async close(): Promise<void> {
    await this.listening?.close()
    this.listening = undefined
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req)
    const target = String(req.headers['x-amz-target'] ?? '')
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target
    const scope = parseSigV4(req.headers.authorization)
    let body: unknown
    try {
      body = text === '' ? {} : JSON.parse(text)
    } catch {
      body = undefined
    }
    const call: QuotaCall = {
      operation,
      account: undefined,
      region: scope?.region,
      quotaCode:
        isPlainObject(body) && typeof body.QuotaCode === 'string' ? body.QuotaCode : undefined,
      status: 200
    }
    this.calls.push(call)
    const fail = (status: number, type: string, message: string) => {
      call.status = status
      call.errorType = type
      sendJson(
        res,
        status,
        { __type: type, Message: message },
        { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() },
        JSON_11
      )
    }

    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/') {
      return fail(404, 'UnknownOperationException', 'Only POST / is served')
    }
    if (!String(req.headers['content-type'] ?? '').startsWith(JSON_11)) {
      return fail(400, 'SerializationException', `Content-Type must be ${JSON_11}`)
    }
    if (!scope || scope.service !== 'servicequotas') {
      return fail(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
    }
    const account = this.options.accountOf
      ? this.options.accountOf(scope.accessKeyId)
      : (this.options.defaultAccount ?? '123456789012')
    if (account === undefined) {
      return fail(
        400,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.'
      )
    }
    call.account = account
    const scripted = this.script.shift()
    if (scripted) return fail(scripted.status, scripted.type, scripted.message ?? scripted.type)
    if (!isPlainObject(body)) return fail(400, 'SerializationException', 'Malformed JSON body')
    if (operation !== 'GetServiceQuota' && operation !== 'GetAWSDefaultServiceQuota') {
      return fail(400, 'UnknownOperationException', `Unsupported operation ${target || '(none)'}`)
    }
    const serviceCode = typeof body.ServiceCode === 'string' ? body.ServiceCode : ''
    const quotaCode = typeof body.QuotaCode === 'string' ? body.QuotaCode : ''
    if (
      !/^[a-zA-Z][a-zA-Z0-9-]{1,63}$/.test(serviceCode) ||
      !/^[a-zA-Z][a-zA-Z0-9-]{1,128}$/.test(quotaCode)
    ) {
      return fail(400, 'IllegalArgumentException', 'Invalid ServiceCode or QuotaCode')
    }
    const region = scope.region
    const quotaArn = `arn:aws:servicequotas:${region}:${account}:${serviceCode}/${quotaCode}`
    if (this.denied.has(`${account}|${operation}`)) {
      // The IAM wording of an identity-policy denial.
      return fail(
        400,
        'AccessDeniedException',
        `User: arn:aws:sts::${account}:assumed-role/cloudfront-sg-sync/cloudfront-sg-sync is not ` +
          `authorized to perform: servicequotas:${operation} on resource: ` +
          `${operation === 'GetServiceQuota' ? quotaArn : '*'} because no identity-based policy ` +
          `allows the servicequotas:${operation} action`
      )
    }
    const definition = KNOWN_QUOTAS.find(
      q => q.serviceCode === serviceCode && q.quotaCode === quotaCode
    )
    if (!definition) {
      return fail(
        400,
        'NoSuchResourceException',
        `The request failed because the specified service does not exist or the quota ${quotaCode} does not exist.`
      )
    }
    let value = definition.defaultValue
    if (operation === 'GetServiceQuota') {
      if (this.missing.has(account)) {
        return fail(
          400,
          'NoSuchResourceException',
          'The request failed because the specified quota has no applied value.'
        )
      }
      value =
        this.applied.get(key(account, region, quotaCode)) ??
        this.applied.get(key(account, '*', quotaCode)) ??
        definition.defaultValue
    }
    sendJson(
      res,
      200,
      {
        Quota: {
          ServiceCode: definition.serviceCode,
          ServiceName: definition.serviceName,
          // Default quotas are not the account's: their ARN carries no account id.
          QuotaArn:
            operation === 'GetServiceQuota'
              ? quotaArn
              : `arn:aws:servicequotas:${region}::${serviceCode}/${quotaCode}`,
          QuotaCode: definition.quotaCode,
          QuotaName: definition.quotaName,
          Value: value,
          Unit: 'None',
          Adjustable: definition.adjustable,
          GlobalQuota: false,
          ...(operation === 'GetServiceQuota' ? { QuotaAppliedAtLevel: 'ACCOUNT' } : {})
        }
      },
      { 'x-amzn-requestid': randomUUID() },
      JSON_11
    )
  }
}

function key(account: string, region: string, quotaCode: string): string {
  return `${account}|${region}|${quotaCode}`
}

// `tsx dev/emulators/service-quotas.ts`: standalone, default values for every account.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const emulator = await ServiceQuotasEmulator.start()
  process.stdout.write(`Service Quotas emulator on ${emulator.url}\n`)
  const stop = () => void emulator.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
