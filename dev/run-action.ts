// Runs the bundled action (dist/index.js) the way a GitHub runner does: inputs as INPUT_* variables,
// GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, an event payload file, on the Node 24 runtime the action
// declares. Used by the end-to-end tests, the demo and the benchmark.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const ACTION_ENTRY = join(PROJECT_ROOT, 'dist', 'index.js')

/** The Node 24 binary from the `node` dev dependency (the runtime action.yml declares). */
export function node24(): string {
  const binary = join(PROJECT_ROOT, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(binary)) throw new Error(`Node 24 not installed at ${binary}: run npm ci`)
  return binary
}

export interface RunActionOptions {
  inputs: Record<string, string>
  /** Extra environment (endpoints, credentials, regions); nothing is inherited but PATH. */
  env?: Record<string, string>
  /** The event file holds `payload` as JSON, or `raw` verbatim (a broken event file). */
  event?: { name: string; payload: unknown; raw?: string }
  entry?: string
  timeoutMs?: number
  /** Handed the child process as soon as it is spawned (fault tests kill it mid-run). */
  onSpawn?: (child: ChildProcess) => void
}

export interface ActionRun {
  exitCode: number | null
  /** The signal that ended the process (SIGKILL from a fault test or the timeout), else null. */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** Lines the runner would show as annotations (::error::, ::warning::, ::notice::). */
  annotations: string[]
  /** The plan file the run wrote (read before the run's temporary directory is removed). */
  planFile: unknown
}

export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const workspace = mkdtempSync(join(tmpdir(), 'cf-sg-sync-run-'))
  const outputFile = join(workspace, 'output')
  const summaryFile = join(workspace, 'summary.md')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: workspace,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: workspace,
    GITHUB_ACTION: 'sync',
    GITHUB_REPOSITORY: 'octo-org/edge',
    GITHUB_RUN_ID: '1',
    // Never reach a real metadata service or shared config while testing.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(workspace, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(workspace, 'aws-credentials'),
    ...options.env
  }
  for (const [name, value] of Object.entries(options.inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  if (options.event) {
    const eventFile = join(workspace, 'event.json')
    writeFileSync(eventFile, options.event.raw ?? JSON.stringify(options.event.payload))
    env.GITHUB_EVENT_NAME = options.event.name
    env.GITHUB_EVENT_PATH = eventFile
  }

  try {
    const { exitCode, signal, stdout, stderr } = await spawnNode(
      options.entry ?? ACTION_ENTRY,
      env,
      options.timeoutMs ?? 60_000,
      options.onSpawn
    )
    const outputs = parseOutputFile(readFileSync(outputFile, 'utf8'))
    const planPath = outputs['plan-file']
    return {
      exitCode,
      signal,
      stdout,
      stderr,
      outputs,
      planFile:
        planPath && existsSync(planPath) ? JSON.parse(readFileSync(planPath, 'utf8')) : undefined,
      summary: readFileSync(summaryFile, 'utf8'),
      annotations: stdout.split('\n').filter(line => /^::(error|warning|notice)/.test(line))
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true })
  }
}

function spawnNode(
  entry: string,
  env: Record<string, string>,
  timeoutMs: number,
  onSpawn?: (child: ChildProcess) => void
): Promise<{
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node24(), [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      resolvePromise({ exitCode, signal, stdout, stderr })
    })
  })
}

/** Parses the runner's GITHUB_OUTPUT file format (`name<<DELIMITER\nvalue\nDELIMITER`). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i += 1) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i] ?? '')
    if (heredoc?.[1] && heredoc[2]) {
      const value: string[] = []
      for (i += 1; i < lines.length && lines[i] !== heredoc[2]; i += 1) value.push(lines[i] ?? '')
      outputs[heredoc[1]] = value.join('\n')
      continue
    }
    const simple = /^([^=]+)=(.*)$/.exec(lines[i] ?? '')
    if (simple?.[1]) outputs[simple[1]] = simple[2] ?? ''
  }
  return outputs
}

/** The text of a run's ::error:: annotations, with the runner's command escaping undone. */
export function errorText(run: ActionRun): string {
  return run.annotations
    .filter(line => line.startsWith('::error::'))
    .map(line =>
      line
        .slice('::error::'.length)
        .replace(/%0D/g, '\r')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%')
    )
    .join('\n')
}
