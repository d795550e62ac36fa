// `npx tsx dev/serve-emulators.ts`: the loopback EC2 emulator and an ip-ranges.json server, kept
// running until interrupted, for runs of the action that are not driven by a test: the `uses: ./`
// job in CI and `npm run local-action`. It seeds tagged security groups, then publishes where
// everything listens:
//
//   --write-env PATH    dotenv file written once both servers listen (default .tmp/emulators.env):
//                       AWS_ENDPOINT_URL_EC2, IP_RANGES_URL, EMULATOR_SYNC_TOKEN, EMULATOR_STATE_FILE
//   $GITHUB_ENV         the same lines are appended when the variable is set (a workflow step)
//   --write-state PATH  JSON {mutatingCalls, groups} rewritten after every mutation
//                       (default .tmp/emulators-state.json), so a step can prove a dry run
//                       changed nothing
//   --ec2-port N, --ranges-port N   fixed ports (default: any free port)
//
// Everything listens on 127.0.0.1 only. The env file is written last and atomically, so its
// existence means "ready".
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { GroupSnapshot } from './emulators/ec2.js'
import type { AwsEmulators } from './emulators/aws.js'
import { startAwsEmulators } from './emulators/aws.js'
import { DEFAULT_SYNC_TOKEN, generateIpRanges, serializeIpRanges } from './ip-ranges-fixture.js'
import { RangesServer } from './ranges-server.js'
import { seedDemoGroups } from './demo-scenario.js'

/** A start-up failure as a sentence; a port already taken is the usual one (a second copy). */
function explainStartFailure(error: unknown): string | unknown {
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown }
  if (code !== 'EADDRINUSE') return error
  return (
    `Port ${typeof port === 'number' ? port : '(unknown)'} on 127.0.0.1 is already in use, ` +
    'probably by another `npm run emulators` (its endpoints are in .tmp/emulators.env: reuse ' +
    'it, or stop it). To run a second copy, pass other ports: npm run emulators -- --ec2-port ' +
    'N --ranges-port N --sts-port N --quotas-port N (0 = any free port).'
  )
}

const { values } = parseArgs({
  options: {
    'write-env': { type: 'string', default: '.tmp/emulators.env' },
    'write-state': { type: 'string', default: '.tmp/emulators-state.json' },
    'ec2-port': { type: 'string', default: '0' },
    'sts-port': { type: 'string', default: '0' },
    'quotas-port': { type: 'string', default: '0' },
    'ranges-port': { type: 'string', default: '0' }
  }
})

function port(name: string, value: string): number {
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new Error(`--${name} must be a TCP port (0-65535, 0 = any free port), got '${value}'`)
  }
  return parsed
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, path)
}

const envFile = resolve(values['write-env'])
const stateFile = resolve(values['write-state'])
let aws: AwsEmulators | undefined
const ranges = new RangesServer()

function writeState(groups: GroupSnapshot[]): void {
  const state = { mutatingCalls: aws?.ec2.mutatingCalls().length ?? 0, groups }
  writeAtomically(stateFile, `${JSON.stringify(state, null, 2)}\n`)
}

async function main(): Promise<void> {
  aws = await startAwsEmulators({
    ports: {
      ec2: port('ec2-port', values['ec2-port']),
      sts: port('sts-port', values['sts-port']),
      quotas: port('quotas-port', values['quotas-port'])
    }
  })
  aws.ec2.onStateChange = writeState
  seedDemoGroups(aws.ec2)
  writeState(aws.ec2.listGroups())
  const url = await ranges.start(port('ranges-port', values['ranges-port']))
  ranges.serve(serializeIpRanges(generateIpRanges({ seed: 1, syncToken: DEFAULT_SYNC_TOKEN })))

  // The AWS endpoints and the default chain's keys; the OIDC variables stay out, so a workflow
  // step keeps the runner's own token endpoint.
  const awsEnv = Object.entries(aws.env).filter(([name]) => !name.startsWith('ACTIONS_'))
  const lines = [
    ...awsEnv.map(([name, value]) => `${name}=${value}`),
    `IP_RANGES_URL=${url}`,
    `EMULATOR_SYNC_TOKEN=${DEFAULT_SYNC_TOKEN}`,
    `EMULATOR_STATE_FILE=${stateFile}`
  ]
  if (process.env.GITHUB_ENV) appendFileSync(process.env.GITHUB_ENV, `${lines.join('\n')}\n`)
  writeAtomically(envFile, `${lines.join('\n')}\n`)
  console.log(
    `AWS emulators  EC2 ${aws.env.AWS_ENDPOINT_URL_EC2}, STS ${aws.env.AWS_ENDPOINT_URL_STS}, ` +
      `Service Quotas ${aws.env.AWS_ENDPOINT_URL_SERVICE_QUOTAS}`
  )
  console.log(`ip-ranges.json ${url} (syncToken ${DEFAULT_SYNC_TOKEN})`)
  console.log(`Wrote ${envFile}; state in ${stateFile}. Ctrl-C stops both.`)
}

async function shutdown(): Promise<void> {
  await Promise.allSettled([aws?.stop(), ranges.stop()])
  process.exit(0)
}

process.once('SIGINT', () => void shutdown())
process.once('SIGTERM', () => void shutdown())

main().catch(async (error: unknown) => {
  console.error(explainStartFailure(error))
  await Promise.allSettled([aws?.stop(), ranges.stop()])
  process.exit(1)
})
