// Loads the built bundle (forwarder/dist/index.js) in this Node process, as Lambda's Node.js
// runtime would, and runs its handler against the loopback emulators: the exported `handler` must
// drop an unsigned record; a handler built by the bundle's `createHandler`, its SNS signing
// certificate served on loopback, must turn one signed notification into one dispatch and drop
// one foreign-topic record; the dispatch must schedule a watchdog check through the bundled SQS
// client, and the bundle's `watchdogHandler`, finding no run, must publish an alarm through the
// bundled SNS client and write its SyncOverdue metric as an EMF log line. Exits non-zero otherwise.
//
// Usage: tsx forwarder/scripts/check-bundle.ts   (run it with Node 24: node_modules/.bin first on PATH)
import { pathToFileURL, fileURLToPath } from 'node:url'
import { GitHubEmulator } from '../../dev/emulators/github.js'
import { SecretsManagerEmulator } from '../../dev/emulators/secrets-manager.js'
import { WatchdogAwsEmulator } from '../../dev/emulators/watchdog-aws.js'
import { extractAll } from '../__tests__/emf.js'
import { CertificateServer, snsEvent } from '../__tests__/sns-events.js'

const TOKEN = 'github_pat_bundlecheck0000000000000000000000'
const TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged'
const OTHER_TOPIC = 'arn:aws:sns:us-east-1:111122223333:Other'

function unsigned(topicArn: string) {
  const signed = snsEvent(undefined, { TopicArn: topicArn })
  const sns: Record<string, unknown> = { ...signed.Records[0]?.Sns }
  delete sns.Signature
  delete sns.SignatureVersion
  delete sns.SigningCertUrl
  return { Records: [{ ...signed.Records[0], Sns: sns }] }
}

const github = await GitHubEmulator.start({ repos: ['octo-org/infra'], tokens: { [TOKEN]: {} } })
const secrets = await SecretsManagerEmulator.start({ secrets: { 'forwarder/token': TOKEN } })
const certificates = new CertificateServer()
await certificates.start()
const watchdogAws = await WatchdogAwsEmulator.start({ queues: ['watchdog'], topics: ['alarms'] })
let failed = false
try {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABUNDLECHECK00000',
    AWS_SECRET_ACCESS_KEY: 'bundle-check',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    GITHUB_API_URL: github.url,
    TARGET_REPOSITORIES: 'octo-org/infra',
    GITHUB_TOKEN_SECRET_ID: 'forwarder/token',
    ...watchdogAws.env,
    WATCHDOG_QUEUE_URL: watchdogAws.queueUrl('watchdog'),
    ALARM_TOPIC_ARN: watchdogAws.topicArn('alarms')
  })
  const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url))
  const t0 = performance.now()
  type Handler = (event: unknown, context: unknown) => Promise<unknown>
  const mod = (await import(pathToFileURL(bundle).href)) as {
    handler?: Handler
    createHandler?: (options: { certificateFetch: typeof fetch }) => Handler
    watchdogHandler?: Handler
  }
  const loadMs = Math.round(performance.now() - t0)
  if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler function')
  if (typeof mod.createHandler !== 'function')
    throw new Error('the bundle exports no createHandler')
  if (typeof mod.watchdogHandler !== 'function')
    throw new Error('the bundle exports no watchdogHandler')
  const context = { awsRequestId: 'bundle-check', getRemainingTimeInMillis: () => 30_000 }
  const unsignedResult = await mod.handler(unsigned(TOPIC), context)
  const tested = mod.createHandler({ certificateFetch: certificates.fetch })
  const ok = await tested(snsEvent(), context)
  const foreign = await tested(snsEvent(undefined, { TopicArn: OTHER_TOPIC }), context)
  const scheduled = watchdogAws.sent.length
  // The watchdog's lines, read back as CloudWatch Logs would extract metrics from them.
  const lines: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n'))
    return write(chunk)
  }) as typeof process.stdout.write
  const watchdog = await mod.watchdogHandler(watchdogAws.drainAsLambdaEvent(), context)
  process.stdout.write = write
  const metrics = extractAll(lines).map(m => `${m.name}=${String(m.value)}`)
  const summary = {
    node: process.version,
    loadMs,
    unsigned: unsignedResult,
    ok,
    foreign,
    dispatches: github.dispatches.length,
    certificateRequests: certificates.requests.length,
    scheduled,
    watchdog,
    alarms: watchdogAws.published.length,
    metrics
  }
  process.stderr.write(`bundle check: ${JSON.stringify(summary)}\n`)
  if (certificates.requests.length !== 1) failed = true
  if (github.dispatches.length !== 1 || secrets.count() !== 1) failed = true
  if (scheduled !== 1 || watchdogAws.published.length !== 1) failed = true
  if (metrics.join(' ') !== 'SyncOverdue=1 SyncOverdue=1') failed = true
} catch (err) {
  process.stderr.write(`bundle check failed: ${String(err)}\n`)
  failed = true
} finally {
  await github.close()
  await secrets.close()
  await certificates.close()
  await watchdogAws.close()
}
process.exit(failed ? 1 : 0)
